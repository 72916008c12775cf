// The rules of acting in an organization (docs/organizations.md), pure: the
// service reads the inputs under the organization's lock and applies them.
// - A member's permissions come from their roles there: built-in roles from
//   the deployment's catalog, custom ones from the organization's own
//   definitions. They are never global permissions.
// - Only what you hold: acting on another member (roles, removal) needs
//   every organization permission that member holds; granting roles (a role
//   change, an invitation) needs every permission those roles grant; only an
//   owner grants `owner`.
// - Roles named in a change must exist: built-in, or defined in this
//   organization.
import { InsufficientPermission, ValidationFailed } from "../../core/errors";
import { isBuiltInOrgRole, orgPermissionsOf, ROLE_NAME } from "../../core/permissions";
import type { OrganizationAccess } from "./store";

/** What a member holds in one organization: their roles and the permissions those grant. */
export type Standing = { roles: readonly string[]; permissions: readonly string[] };

/** The member's standing, as their roles grant it under this organization's definitions. */
export function standingOf(
  roles: readonly string[],
  access: Pick<OrganizationAccess, "customRoles">,
  catalog: readonly string[],
): Standing {
  return { roles, permissions: orgPermissionsOf(roles, catalog, access.customRoles) };
}

/** 403 unless the member holds `permission` in the organization. */
export function requireOrgPermission(standing: Standing, permission: string): void {
  if (!standing.permissions.includes(permission)) throw new InsufficientPermission({ permission });
}

/** 403 unless the member holds the built-in `owner` role (defining and deleting roles). */
export function requireOwner(standing: Standing, action: string): void {
  if (!standing.roles.includes("owner")) throw new InsufficientPermission({ detail: `Only an owner can ${action}` });
}

/** 403 when the target member holds an organization permission the caller does not (acting on a stronger member). */
export function requireHoldsAllOf(caller: Standing, target: Standing): void {
  const beyond = target.permissions.filter((permission) => !caller.permissions.includes(permission));
  if (beyond.length > 0)
    throw new InsufficientPermission({ detail: `The member holds permissions you do not: ${beyond.join(", ")}` });
}

/**
 * The requested roles, deduplicated and sorted, when each is built-in or defined in the organization; else
 * ValidationFailed naming the unknown ones (at least one role is required).
 */
export function knownRoles(
  requested: readonly string[],
  access: Pick<OrganizationAccess, "customRoles">,
  path = "roles",
): string[] {
  const errors = requested.flatMap((name, i) =>
    isBuiltInOrgRole(name) || access.customRoles.has(name)
      ? []
      : [{ path: `${path}.${i}`, message: `Unknown role "${name}"` }],
  );
  if (requested.length === 0) errors.push({ path, message: "At least one role is required" });
  if (errors.length > 0) throw new ValidationFailed(errors, errors.map((e) => e.message).join("; "));
  return [...new Set(requested)].sort();
}

/**
 * 403 unless the caller may grant `roles`: `owner` only by an owner, and every permission the roles grant held by the
 * caller in this organization.
 */
export function requireMayGrant(
  caller: Standing,
  roles: readonly string[],
  access: Pick<OrganizationAccess, "customRoles">,
  catalog: readonly string[],
): void {
  if (roles.includes("owner") && !caller.roles.includes("owner"))
    throw new InsufficientPermission({ detail: "Only an owner can grant owner" });
  const granted = orgPermissionsOf(roles, catalog, access.customRoles);
  const beyond = granted.filter((permission) => !caller.permissions.includes(permission));
  if (beyond.length > 0)
    throw new InsufficientPermission({ detail: `You cannot grant permissions you do not hold: ${beyond.join(", ")}` });
}

/**
 * A custom role's definition as stored: the name (a plain name, never a built-in one: 403 for those, whose
 * permissions are fixed) and its permissions from the catalog, deduplicated and sorted; else ValidationFailed.
 */
export function validateCustomRole(
  name: string,
  permissions: readonly string[],
  catalog: readonly string[],
): { name: string; permissions: string[] } {
  requireCustomRoleName(name);
  const errors: { path: string; message: string }[] = [];
  if (permissions.length === 0) errors.push({ path: "permissions", message: "A role needs at least one permission" });
  permissions.forEach((permission, i) => {
    if (!catalog.includes(permission))
      errors.push({ path: `permissions.${i}`, message: `Unknown organization permission "${permission}"` });
  });
  if (errors.length > 0) throw new ValidationFailed(errors, errors.map((e) => e.message).join("; "));
  return { name, permissions: [...new Set(permissions)].sort() };
}

/** 403 for a built-in role's name (its permissions are fixed), 400 for a name that is not plain. */
export function requireCustomRoleName(name: string): void {
  if (isBuiltInOrgRole(name))
    throw new InsufficientPermission({ detail: `"${name}" is a built-in role; its permissions are fixed` });
  if (!ROLE_NAME.test(name))
    throw new ValidationFailed(
      [{ path: "name", message: "A role name is 2 to 32 of a-z, 0-9, _ and -, starting with a letter" }],
      "A role name is 2 to 32 of a-z, 0-9, _ and -, starting with a letter",
    );
}

/** A slug: 3 to 40 of a-z, 0-9 and -, not starting or ending with - (the organizations_slug_check constraint). */
export const SLUG = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;

/** The slug a name makes: ASCII letters and digits, runs of anything else one "-", cut to leave room for a suffix. */
export function slugFromName(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 34)
    .replace(/^-+|-+$/g, "");
  return base.length >= 3 ? base : `org-${base || "team"}`.replace(/-+$/, "");
}

/** A short random suffix for a slug that is taken: 5 of a-z and 0-9. */
export function slugSuffix(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(5)), (byte) => alphabet[byte % alphabet.length]).join("");
}
