// The operator's view of users: a keyset-paged, searchable listing, and the
// row lock and status change behind disabling and enabling an account.
//
// Pages are ordered by (created_at, id), the users_created_at_id_idx index.
// The cursor carries created_at as Postgres renders it, to the microsecond:
// a JavaScript Date would round it to the millisecond, and rows inserted with
// now() in the same millisecond would then be skipped or repeated.
import { sql } from "drizzle-orm";
import type { Executor } from "./database";
import { rows } from "./rows";
import { toUserRecord, USER_WITH_GRANTS, type UserRecord, type UserStatus } from "./users";

export type UserCursor = { createdAt: string; id: string };

export type UserPage = { items: UserRecord[]; nextCursor: UserCursor | null };

type UserRow = Parameters<typeof toUserRecord>[0];

export class AdminUserRepository {
  constructor(private readonly db: Executor) {}

  /** Oldest first. `search` matches email or name as a case-insensitive substring, taken literally. */
  async page(filter: { search?: string; cursor?: UserCursor; limit: number }): Promise<UserPage> {
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
          to_char(u.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
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

  /**
   * Locks the user's row until the transaction ends and returns its status.
   * FOR UPDATE (not NO KEY UPDATE) also holds back inserts that reference
   * the user, such as a session opened by a concurrent login.
   */
  async lock(id: string): Promise<{ id: string; status: UserStatus } | undefined> {
    const [row] = await rows<{ id: string; status: UserStatus }>(this.db, sql`select id, status from users where id = ${id} for update`);
    return row;
  }

  async setStatus(id: string, status: UserStatus, at: Date): Promise<void> {
    await this.db.execute(sql`update users set status = ${status}, updated_at = ${at} where id = ${id}`);
  }

  async exists(id: string): Promise<boolean> {
    const found = await rows<{ id: string }>(this.db, sql`select id from users where id = ${id}`);
    return found.length > 0;
  }
}

/** LIKE's wildcards and its escape character, matched literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeUserCursor(cursor: UserCursor): string {
  return btoa(JSON.stringify([cursor.createdAt, cursor.id])).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** undefined for anything that is not a cursor this repository issued. */
export function decodeUserCursor(raw: string): UserCursor | undefined {
  try {
    const decoded = JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))) as unknown;
    if (!Array.isArray(decoded) || decoded.length !== 2) return undefined;
    const [createdAt, id] = decoded as unknown[];
    if (typeof createdAt !== "string" || !CURSOR_AT.test(createdAt) || !isRealInstant(createdAt)) return undefined;
    if (typeof id !== "string" || !UUID.test(id)) return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}

/** Refuses what the pattern lets through but Postgres would reject (a 30th of February, year 0). */
function isRealInstant(text: string): boolean {
  const ms = Date.parse(text);
  return ms >= 0 && new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19);
}
