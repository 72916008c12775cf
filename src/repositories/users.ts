// Users and their effective roles and permissions. Roles and permissions are
// rows (roles, role_permissions, user_roles), so they resolve here in SQL.
import { sql, type SQL } from "drizzle-orm";
import type { Executor } from "./database";
import { rows, toDate, toStringArray } from "./rows";

export type UserStatus = "active" | "disabled";

export type UserRecord = {
  id: string;
  email: string;
  name: string | null;
  status: UserStatus;
  passwordHash: string;
  createdAt: Date;
  roles: string[];
  permissions: string[];
  /** Read in the same snapshot as roles and permissions. */
  grantsVersion: number;
};

type UserRow = {
  id: string;
  email: string;
  name: string | null;
  status: UserStatus;
  password_hash: string;
  created_at: Date | string;
  grants_version: number;
  roles: unknown;
  permissions: unknown;
};

/** The select list shared by every query that returns a UserRecord (alias u). */
export const USER_WITH_GRANTS = sql`
  u.id, u.email, u.name, u.status, u.password_hash, u.created_at, u.grants_version,
  coalesce((select array_agg(ur.role_name order by ur.role_name) from user_roles ur where ur.user_id = u.id), '{}') as roles,
  coalesce((select array_agg(distinct rp.permission_name order by rp.permission_name)
            from user_roles ur join role_permissions rp on rp.role_name = ur.role_name
            where ur.user_id = u.id), '{}') as permissions`;

export function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    passwordHash: row.password_hash,
    createdAt: toDate(row.created_at),
    roles: toStringArray(row.roles),
    permissions: toStringArray(row.permissions),
    grantsVersion: Number(row.grants_version ?? 0),
  };
}

export class UserRepository {
  constructor(private readonly db: Executor) {}

  async findById(id: string): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(this.db, sql`select ${USER_WITH_GRANTS} from users u where u.id = ${id}`);
    return row && toUserRecord(row);
  }

  /** As a statement, to commit together with a session change. */
  static setPasswordHash(id: string, passwordHash: string, at: Date, onlyIf: SQL = sql`true`) {
    return sql`update users set password_hash = ${passwordHash}, updated_at = ${at} where id = ${id} and ${onlyIf}`;
  }
}
