// Users and their effective roles and permissions. Roles and permissions are
// rows (roles, role_permissions, user_roles), so they resolve here in SQL.
import { sql } from "drizzle-orm";
import type { UserRecord, UserStatus, UserStore } from "../services/ports";
import type { Executor } from "./database";
import { endOneTimeTokens, setPasswordHash, USER_WITH_GRANTS } from "./fragments";
import { rows, toDate, toStringArray } from "./rows";

/** A row selected with USER_WITH_GRANTS. */
export type UserRow = {
  id: string;
  email: string;
  name: string | null;
  status: UserStatus;
  password_hash: string;
  email_verified_at: Date | string | null;
  created_at: Date | string;
  grants_version: number;
  device_generation: number | string | null;
  roles: unknown;
  permissions: unknown;
  totp_enabled: boolean | null;
  passkey_count: number | string | null;
};

export function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    passwordHash: row.password_hash,
    emailVerified: row.email_verified_at !== null && row.email_verified_at !== undefined,
    createdAt: toDate(row.created_at),
    roles: toStringArray(row.roles),
    permissions: toStringArray(row.permissions),
    grantsVersion: Number(row.grants_version ?? 0),
    mfa: { totp: row.totp_enabled === true, passkeys: Number(row.passkey_count ?? 0) },
    deviceGeneration: Number(row.device_generation ?? 0),
  };
}

export class UserRepository implements UserStore {
  constructor(private readonly db: Executor) {}

  async findById(id: string): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(this.db, sql`select ${USER_WITH_GRANTS} from users u where u.id = ${id}`);
    return row && toUserRecord(row);
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(this.db, sql`select ${USER_WITH_GRANTS} from users u where u.email = ${email}`);
    return row && toUserRecord(row);
  }

  async setPasswordHash(id: string, passwordHash: string, at: Date): Promise<void> {
    // Sign-ins waiting for their second step were proved with the old password: they end too.
    await this.db.execute(sql`with changed as (${setPasswordHash(id, passwordHash, at)} returning id),
      pending as (update auth_challenges set used_at = ${at} where user_id = (select id from changed) and kind = 'mfa_sign_in' and used_at is null)
      ${endOneTimeTokens(sql`(select id from changed)`, "password_changed", at, "password_reset")}`);
  }

  async markEmailVerified(id: string, at: Date): Promise<void> {
    await this.db.execute(sql`update users set email_verified_at = coalesce(email_verified_at, ${at}), updated_at = ${at} where id = ${id}`);
  }

  /**
   * The NOT EXISTS settles the common case in the statement; two changes to
   * one address racing each other meet the unique index, and the loser's
   * unique violation answers false as well.
   */
  async changeEmail(id: string, newEmail: string, at: Date): Promise<boolean> {
    try {
      const changed = await rows<{ id: string }>(
        this.db,
        sql`with changed as (
          update users set email = ${newEmail}, email_verified_at = ${at}, updated_at = ${at}
          where id = ${id} and not exists (select 1 from users taken where taken.email = ${newEmail} and taken.id <> ${id})
          returning id
        ), ended as (${endOneTimeTokens(sql`(select id from changed)`, "email_changed", at)})
        select id from changed`,
      );
      return changed.length > 0;
    } catch (error) {
      if ((error as { code?: unknown }).code === "23505") return false;
      throw error;
    }
  }

  async updateName(id: string, name: string | null, at: Date): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(
      this.db,
      sql`with updated as (update users set name = ${name}, updated_at = ${at} where id = ${id} returning *)
      select ${USER_WITH_GRANTS} from updated u`,
    );
    return row && toUserRecord(row);
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await rows<{ id: string }>(this.db, sql`delete from users where id = ${id} returning id`);
    return deleted.length > 0;
  }
}
