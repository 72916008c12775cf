// The permission names the service itself checks: the global ones (granted by
// global roles, drizzle/0001_seed_roles.sql seeds them) and the organization
// ones (granted by a member's roles in one organization). The two sets are
// disjoint, and an application's own organization permissions
// (`ORG_PERMISSIONS`) may not take a global name: an organization permission
// never satisfies a global check, so a name in both would be read two ways.
//
// Node runs this file as it is (the configuration schema imports it), so it
// uses only TypeScript that type stripping erases.

/** The global permissions the service checks. */
export const GLOBAL_PERMISSIONS = [
  "profile:read",
  "profile:write",
  "sessions:read",
  "sessions:revoke:own",
  "users:read",
  "users:write",
  "roles:assign",
  "sessions:revoke",
  "audit:read",
] as const;

/** The organization permissions the service checks; an application adds its own with `ORG_PERMISSIONS`. */
export const ORG_PERMISSIONS = [
  "org:read",
  "org:update",
  "org:delete",
  "members:read",
  "members:invite",
  "members:remove",
  "members:roles",
  "org:audit:read",
] as const;

/** Built-in organization roles; their permissions are fixed (`owner`: all, `admin`: all but `org:delete`). */
export const BUILT_IN_ORG_ROLES = ["owner", "admin", "member"] as const;
export type BuiltInOrgRole = (typeof BUILT_IN_ORG_ROLES)[number];

/** A custom role's name (and a global role's): it travels in tokens and headers, so plain characters only. */
export const ROLE_NAME = /^[a-z][a-z0-9_-]{1,31}$/;

/** An application permission name: plain enough for a header value and a query parameter. */
export const PERMISSION_NAME = /^[a-z][a-z0-9_-]*(:[a-z0-9_-]+){0,3}$/;

/**
 * Every organization permission of this deployment: the service's own, then the application's (`ORG_PERMISSIONS`
 * as configured), in that order, deduplicated.
 */
export function orgPermissionCatalog(appPermissions: readonly string[]): string[] {
  return [...new Set<string>([...ORG_PERMISSIONS, ...appPermissions])];
}

/** What a built-in organization role grants, given the deployment's catalog. */
export function builtInOrgRolePermissions(role: BuiltInOrgRole, catalog: readonly string[]): string[] {
  switch (role) {
    case "owner":
      return [...catalog];
    case "admin":
      return catalog.filter((permission) => permission !== "org:delete");
    case "member":
      return ["org:read", "members:read"];
  }
}

export function isBuiltInOrgRole(name: string): name is BuiltInOrgRole {
  return (BUILT_IN_ORG_ROLES as readonly string[]).includes(name);
}

/**
 * The organization permissions a member's roles grant: built-in roles from the catalog, custom ones from their
 * stored definitions (`custom`: name -> permissions); a role with no definition grants nothing. Sorted.
 */
export function orgPermissionsOf(
  roles: readonly string[],
  catalog: readonly string[],
  custom: ReadonlyMap<string, readonly string[]>,
): string[] {
  const granted = new Set<string>();
  for (const role of roles) {
    const permissions = isBuiltInOrgRole(role) ? builtInOrgRolePermissions(role, catalog) : (custom.get(role) ?? []);
    for (const permission of permissions) if (catalog.includes(permission)) granted.add(permission);
  }
  return [...granted].sort();
}
