// What GET /auth/verify decides and answers from a token's verified claims,
// framework-free so that any path serving forward auth applies the same rule:
// the permission check (`?permission=`, with `?org=` naming the token's active
// organization) and the identity headers a proxy copies upstream.
//
// An organization permission never satisfies a global check: without `org`
// only the token's global permissions count; with it, the organization must be
// the token's active one (else the check fails whatever the permission), and
// then a permission held globally or in it counts.
import { InsufficientPermission } from "../../core/errors";
import { holdsPermission, holdsPermissionIn, isActiveOrg, type AccessTokenClaims } from "./types";

/** The query of a forward-auth check. */
export type ForwardAuthQuery = { permission?: string; org?: string };

/** Throws InsufficientPermission unless the claims pass the check the query asks for. */
export function checkForwardAuth(claims: AccessTokenClaims, query: ForwardAuthQuery): void {
  const { permission, org } = query;
  if (org !== undefined && !isActiveOrg(claims, org))
    throw new InsufficientPermission({ detail: "The organization is not the token's active organization" });
  if (permission === undefined) return;
  const held = org === undefined ? holdsPermission(claims, permission) : holdsPermissionIn(claims, permission, org);
  if (!held) throw new InsufficientPermission({ permission });
}

/**
 * The identity headers of a verified token: comma-separated lists, no spaces. `X-Auth-Permissions` holds the
 * global permissions only; the `X-Auth-Org-*` headers are there only while the token has an active organization.
 */
export function identityHeaders(claims: AccessTokenClaims): [name: string, value: string][] {
  const headers: [string, string][] = [
    ["X-Auth-User-Id", claims.sub],
    ["X-Auth-Session-Id", claims.sid],
    ["X-Auth-Roles", claims.roles.join(",")],
    ["X-Auth-Permissions", claims.permissions.join(",")],
  ];
  if (claims.org !== undefined) {
    headers.push(
      ["X-Auth-Org-Id", claims.org.id],
      ["X-Auth-Org-Roles", claims.org.roles.join(",")],
      ["X-Auth-Org-Permissions", claims.org.permissions.join(",")],
    );
  }
  return headers;
}
