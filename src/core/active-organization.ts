// The organization a session acts in (POST /auth/org), as its access tokens
// carry it: the `org` claim (`{id, slug, roles, permissions}`) and the private
// claim `ov` (the organization's version when the membership was read). The
// statement that issues a token reads the membership, the definitions of its
// custom roles and the organization's slug and version in one snapshot with
// the user's other grants; the claim's permissions are computed from them
// here, at issue time, with the deployment's catalog. Framework-free.
import { orgPermissionsOf } from "./permissions";

/**
 * A membership of the session's active organization as one statement read it: the organization's id, slug and
 * version, the member's roles there, and the permissions of the custom roles among them (name -> permissions).
 */
export type ActiveMembership = {
  orgId: string;
  slug: string;
  version: number;
  roles: string[];
  customRoles: Readonly<Record<string, readonly string[]>>;
};

/** The `org` claim of an access token: the active organization and what the member holds in it. */
export type OrgClaim = { id: string; slug: string; roles: string[]; permissions: string[] };

/** The claim for this membership: its roles sorted, its permissions as orgPermissionsOf grants them. */
export function orgClaimOf(membership: ActiveMembership, catalog: readonly string[]): OrgClaim {
  const roles = [...new Set(membership.roles)].sort();
  const custom = new Map(Object.entries(membership.customRoles));
  return {
    id: membership.orgId,
    slug: membership.slug,
    roles,
    permissions: orgPermissionsOf(roles, catalog, custom),
  };
}
