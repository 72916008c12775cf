// The operator's view of users: a keyset-paged, searchable listing, and the
// row lock and status change behind disabling and enabling an account.
//
// Pages are ordered by (created_at, id), the users_created_at_id_idx index.
// The cursor carries created_at as Postgres renders it, to the microsecond:
// a JavaScript Date would round it to the millisecond, and rows inserted with
// now() in the same millisecond would then be skipped or repeated.
import { sql } from "drizzle-orm";
import type { AdminUserStore } from "./store";
import type { KeysetCursor, Page, UserRecord, UserStatus } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import { USER_WITH_GRANTS } from "../../adapters/postgres/fragments";
import { cursorTimestamp } from "../../adapters/postgres/keyset-cursor";
import { rows } from "../../adapters/postgres/rows";
import { toUserRecord, type UserRow } from "../../adapters/postgres/user-row";

export class AdminUserRepository implements AdminUserStore {
  constructor(private readonly db: Executor) {}

  /** Oldest first. `search` matches email or name as a case-insensitive substring, taken literally. */
  async page(filter: { search?: string; cursor?: KeysetCursor; limit: number }): Promise<Page<UserRecord>> {
    const conditions = [sql`true`];
    if (filter.search) {
      const pattern = `%${escapeLike(filter.search)}%`;
      conditions.push(sql`(u.email ilike ${pattern} escape '\\' or u.name ilike ${pattern} escape '\\')`);
    }
    if (filter.cursor) {
      conditions.push(sql`(u.created_at, u.id) > (${filter.cursor.createdAt}::timestamptz, ${filter.cursor.id}::uuid)`);
    }
    const found = await rows<UserRow & { cursor_at: string }>(
      this.db,
      sql`select ${USER_WITH_GRANTS},
          ${cursorTimestamp(sql`u.created_at`)} as cursor_at
        from users u
        where ${sql.join(conditions, sql` and `)}
        order by u.created_at, u.id
        limit ${filter.limit + 1}`,
    );
    const page = found.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map(toUserRecord),
      nextCursor: found.length > filter.limit && last ? { createdAt: last.cursor_at, id: last.id } : null,
    };
  }

  /** A new grants version for the user: their earlier tokens stop working once it reaches the edge. */
  async bumpGrantsVersion(id: string, at: Date): Promise<number> {
    const [row] = await rows<{ grants_version: number }>(
      this.db,
      sql`update users set grants_version = grants_version +
        1, updated_at = ${at} where id = ${id} returning grants_version`,
    );
    return Number(row?.grants_version ?? 0);
  }

  /**
   * Locks the acting administrator's row and the target's together, in id
   * order, so two administrators acting on each other at once queue instead
   * of deadlocking (each audit row also needs the actor's row, through its
   * foreign key). Returns the statuses of the rows found.
   *
   * FOR NO KEY UPDATE, not FOR UPDATE: the changes behind it touch no key
   * column, and it does not conflict with the FOR KEY SHARE lock that a
   * foreign-key check takes on the user row. A refresh holds its session's
   * row and then inserts its audit row (a foreign key to the user); under
   * FOR UPDATE it waited here while the disable waited for that session row:
   * a deadlock (40P01). A sign-in's FOR SHARE still waits for a disable.
   */
  async lockActorAndTarget(actorId: string | null, targetId: string): Promise<Map<string, UserStatus>> {
    const ids = actorId === null ? sql`${targetId}::uuid` : sql`${actorId}::uuid, ${targetId}::uuid`;
    const found = await rows<{ id: string; status: UserStatus }>(
      this.db,
      sql`select id, status from users where id in (${ids}) order by id for no key update`,
    );
    return new Map(found.map((row) => [row.id, row.status]));
  }

  async setStatus(id: string, status: UserStatus, at: Date): Promise<void> {
    await this.db.execute(sql`update users set status = ${status}, updated_at = ${at} where id = ${id}`);
  }

  async exists(id: string): Promise<boolean> {
    const found = await rows<{ id: string }>(this.db, sql`select id from users where id = ${id}`);
    return found.length > 0;
  }

  async findIdByEmail(email: string): Promise<string | undefined> {
    const [found] = await rows<{ id: string }>(this.db, sql`select id from users where email = ${email}`);
    return found?.id;
  }
}

/** LIKE's wildcards and its escape character, matched literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
