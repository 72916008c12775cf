// The rule for replacing a user's roles, the same for the admin API and the
// operator CLI (docs/api.md, "Administration rules"):
// - every name must be a role (unknown ones are a validation error naming them);
// - asking for the roles the user already has changes nothing;
// - an administrator may only add roles whose permissions they hold
//   themselves (docs/api.md: role assignment grants and removes only
//   what the caller holds), so roles:assign is no way to acquire more than
//   one has; the operator is bound by no such limit (it is how the first
//   administrator is made).
// Removing is covered before this runs: the service's one rule for every
// action on an account (admin-service.ts lockForChange) refuses a target
// holding any permission the caller lacks, so a removed role, being one of
// the target's, never carries one.
// Pure: the caller reads the inputs under its locks and applies the outcome.
import { InsufficientPermission, ValidationFailed } from "../../core/errors";
import type { AdminActor } from "./actor";

export type RoleChange = { changed: false } | { changed: true; roles: string[] };

export async function decideRoleChange(input: {
  requested: readonly string[];
  current: readonly string[];
  known: ReadonlySet<string>;
  actor: AdminActor;
  /** The actor's permissions as of now; ignored for the operator. */
  actorPermissions: readonly string[];
  /** The permissions the given roles grant together, read by the caller: asked for the added roles. */
  permissionsOfAdded: (roles: readonly string[]) => Promise<readonly string[]>;
}): Promise<RoleChange> {
  const { requested, current, known, actor } = input;
  const unknown = [...new Set(requested)].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ValidationFailed(
      unknown.map((name) => ({ path: `roles.${requested.indexOf(name)}`, message: `Unknown role "${name}"` })),
      `Unknown roles: ${unknown.join(", ")}`,
    );
  }
  const wanted = [...new Set(requested)].sort();
  if (sameRoles(current, wanted)) return { changed: false };
  if (actor.kind === "administrator") {
    const added = wanted.filter((role) => !current.includes(role));
    const granted = added.length === 0 ? [] : await input.permissionsOfAdded(added);
    const beyond = granted.filter((p) => !input.actorPermissions.includes(p));
    if (beyond.length > 0)
      throw new InsufficientPermission({
        detail: `You cannot grant permissions you do not hold: ${beyond.join(", ")}`,
      });
  }
  return { changed: true, roles: wanted };
}

function sameRoles(current: readonly string[], wanted: readonly string[]): boolean {
  return current.length === wanted.length && [...current].sort().every((role, i) => role === wanted[i]);
}
