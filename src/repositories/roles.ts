// Roles as data: which role names exist, and which roles a user holds.
// Assigning replaces a user's set of roles; the caller runs it inside a
// transaction together with the audit row that records the change.
import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import { rolePermissions, roles, userRoles } from "../db/schema";
import type { RoleStore } from "../services/ports";
import type { Executor } from "./database";
import { rows, toStringArray } from "./rows";

export class RoleRepository implements RoleStore {
  constructor(private readonly db: Executor) {}

  /**
   * The names among `names` that exist as roles. Inside a transaction the
   * found rows are share-locked, so a role cannot be deleted between this
   * check and its assignment.
   */
  async existing(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const found = await this.db
      .select({ name: roles.name })
      .from(roles)
      .where(inArray(roles.name, [...names]))
      .for("share");
    return found.map((r) => r.name);
  }

  /** The permissions the given roles grant, together. */
  async permissionsOf(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const found = await this.db
      .selectDistinct({ permission: rolePermissions.permissionName })
      .from(rolePermissions)
      .where(inArray(rolePermissions.roleName, [...names]));
    return found.map((r) => r.permission).sort();
  }

  /** Makes the user's roles exactly `names` (already validated and deduplicated). */
  async replaceForUser(userId: string, names: readonly string[], at: Date): Promise<void> {
    const keep = [...names];
    await this.db
      .delete(userRoles)
      .where(keep.length ? and(eq(userRoles.userId, userId), notInArray(userRoles.roleName, keep)) : eq(userRoles.userId, userId));
    if (keep.length === 0) return;
    await this.db
      .insert(userRoles)
      .values(keep.map((roleName) => ({ userId, roleName, createdAt: at })))
      .onConflictDoNothing();
  }

  /** Every role with its permissions, by name. */
  async all(): Promise<{ name: string; description: string; permissions: string[] }[]> {
    const found = await rows<{ name: string; description: string; permissions: unknown }>(
      this.db,
      sql`select r.name, r.description,
          coalesce(array_agg(rp.permission_name order by rp.permission_name) filter (where rp.permission_name is not null), '{}') as permissions
        from roles r left join role_permissions rp on rp.role_name = r.name
        group by r.name, r.description order by r.name`,
    );
    return found.map((r) => ({ name: r.name, description: r.description, permissions: toStringArray(r.permissions) }));
  }
}
