// What a role definition may say (docs/api.md, "Administration rules": the
// operator CLI's `define-role <name> <permission,...>` creates or replaces a
// role from the built-in permissions):
// - a name of 2 to 32 of a-z, 0-9, _ and -, starting with a letter;
// - permissions only from the built-in list (drizzle/0001_seed_roles.sql):
//   the service checks exactly these, so a permission no route asks for
//   would grant nothing and is more likely a typo;
// - the built-in roles keep their permissions: registration gives every
//   account `user`, and `admin` is what the operator grants to make an
//   administrator, whom the "only what you hold" rule lets act on everyone.
// Pure: the service validates with it before it opens a transaction.
import { ValidationFailed } from "../../core/errors";
import { GLOBAL_PERMISSIONS, ROLE_NAME } from "../../core/permissions";

/** The permissions the service checks, as drizzle/0001_seed_roles.sql seeds them. */
export const BUILT_IN_PERMISSIONS = GLOBAL_PERMISSIONS;

/** Roles whose permissions are fixed. */
export const BUILT_IN_ROLES: readonly string[] = ["user", "admin"];

/**
 * The definition as stored: the name, and the permissions deduplicated and sorted; else ValidationFailed naming each
 * fault.
 */
export function validateRoleDefinition(
  name: string,
  permissions: readonly string[],
): { name: string; permissions: string[] } {
  const errors: { path: string; message: string }[] = [];
  if (!ROLE_NAME.test(name))
    errors.push({ path: "name", message: "A role name is 2 to 32 of a-z, 0-9, _ and -, starting with a letter" });
  else if (BUILT_IN_ROLES.includes(name))
    errors.push({ path: "name", message: `"${name}" is a built-in role; its permissions are fixed` });
  if (permissions.length === 0) errors.push({ path: "permissions", message: "A role needs at least one permission" });
  const known: readonly string[] = BUILT_IN_PERMISSIONS;
  permissions.forEach((permission, i) => {
    if (!known.includes(permission))
      errors.push({ path: `permissions.${i}`, message: `Unknown permission "${permission}"` });
  });
  if (errors.length > 0) throw new ValidationFailed(errors, errors.map((e) => e.message).join("; "));
  return { name, permissions: [...new Set(permissions)].sort() };
}
