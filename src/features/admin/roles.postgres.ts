// Roles as data: which role names exist, and which roles a user holds.
// Assigning replaces a user's set of roles, defining replaces a role's
// permissions; the caller runs each inside a transaction together with the
// audit row that records the change.
import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import { rolePermissions, roles, userRoles } from "../../db/schema";
import type { RoleDefined, RoleStore } from "./store";
import type { Executor } from "../../adapters/postgres/database";
import { textArray } from "../../adapters/postgres/fragments";
import { rows, toStringArray } from "../../adapters/postgres/rows";

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
      .where(
        keep.length
          ? and(eq(userRoles.userId, userId), notInArray(userRoles.roleName, keep))
          : eq(userRoles.userId, userId),
      );
    if (keep.length === 0) return;
    await this.db
      .insert(userRoles)
      .values(keep.map((roleName) => ({ userId, roleName, createdAt: at })))
      .onConflictDoNothing();
  }

  /**
   * Creates the role or replaces its permissions; when they change, every
   * holder's grants version goes up in the same statement. First the
   * holders' rows are locked (id order, the lock the admin changes take),
   * then the role's (the upsert), so a concurrent role change queues on one
   * or the other; the last statement runs after both locks, on what is
   * committed by then.
   */
  async define(name: string, permissions: readonly string[], at: Date): Promise<RoleDefined> {
    await this.db.execute(
      sql`select id from users where id in (select user_id from user_roles where role_name = ${name})
        order by id for no key update`,
    );
    const [role] = await rows<{ created: boolean }>(
      this.db,
      sql`insert into roles (name, description) values (${name}, '') on conflict (name) do update
        set description = roles.description
        returning (xmax = 0) as created`,
    );
    const [result] = await rows<{ before: unknown; holders: { userId: string; grantsVersion: number }[] | null }>(
      this.db,
      sql`with before as (
          select coalesce(array_agg(permission_name order by permission_name), '{}') as permissions
            from role_permissions where role_name = ${name}
        ),
        removed as (
          delete from role_permissions where role_name = ${name} and permission_name <> all (${textArray(permissions)})
          returning permission_name
        ),
        added as (
          insert into role_permissions (role_name, permission_name)
          select ${name}, p from unnest(${textArray(permissions)}) as p
          on conflict do nothing
          returning permission_name
        ),
        bumped as (
          update users set grants_version = grants_version + 1, updated_at = ${at}
          where id in (select user_id from user_roles where role_name = ${name})
            and (exists (select 1 from removed) or exists (select 1 from added))
          returning id, grants_version
        )
        select (select permissions from before) as before,
          (select json_agg(json_build_object('userId', id, 'grantsVersion', grants_version) order by id)
            from bumped) as holders`,
    );
    return {
      created: Boolean(role?.created),
      before: toStringArray(result?.before).sort(),
      holders: (result?.holders ?? []).map((h) => ({ userId: h.userId, grantsVersion: Number(h.grantsVersion) })),
    };
  }

  /** Every role with its permissions, by name. */
  async all(): Promise<{ name: string; description: string; permissions: string[] }[]> {
    const found = await rows<{ name: string; description: string; permissions: unknown }>(
      this.db,
      sql`select r.name, r.description,
          coalesce(array_agg(rp.permission_name order by
            rp.permission_name) filter (where rp.permission_name is not null), '{}') as permissions
        from roles r left join role_permissions rp on rp.role_name = r.name
        group by r.name, r.description order by r.name`,
    );
    return found.map((r) => ({ name: r.name, description: r.description, permissions: toStringArray(r.permissions) }));
  }
}
