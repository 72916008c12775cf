// Users and their effective roles and permissions. Roles and permissions are
// rows (roles, role_permissions, user_roles), so they resolve here in SQL.
import { sql } from "drizzle-orm";
import type { UserRecord, UserStatus, UserStore } from "../services/ports";
import type { Executor } from "./database";
import { setPasswordHash, USER_WITH_GRANTS } from "./fragments";
import { rows, toDate, toStringArray } from "./rows";

/** A row selected with USER_WITH_GRANTS. */
export type UserRow = {
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

export class UserRepository implements UserStore {
  constructor(private readonly db: Executor) {}

  async findById(id: string): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(this.db, sql`select ${USER_WITH_GRANTS} from users u where u.id = ${id}`);
    return row && toUserRecord(row);
  }

  async setPasswordHash(id: string, passwordHash: string, at: Date): Promise<void> {
    await this.db.execute(setPasswordHash(id, passwordHash, at));
  }
}
