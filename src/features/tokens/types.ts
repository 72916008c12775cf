// The shape of an access token (docs/sessions.md, RFC 9068 profile) and
// the constants both issuing and verifying depend on.
import type { AccessTokenClaims } from "../../rpc-types";
import type { AuthMethod, Grants } from "../../core/domain";
import type { ActiveMembership } from "../../core/active-organization";

export const ACCESS_TOKEN_ALGORITHM = "EdDSA";
export const ACCESS_TOKEN_TYPE = "at+jwt";
export { CLOCK_TOLERANCE_SECONDS } from "../../core/clock";
/** Longer tokens are refused before any decoding, and never issued; ours are well under 2 KiB. */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;
export const DEFAULT_CLIENT_ID = "secureauth";

/**
 * The private claim carrying the grants version. It is in the signed token
 * but not among the claims the API contract defines, so /auth/verify and the RPC do not
 * return it; only the edge's revocation check reads it.
 */
export const GRANTS_VERSION_CLAIM = "gv";

/**
 * The private claim carrying the version of the token's active organization (present with the `org` claim only),
 * as `gv` does the user's: reserved, not among the claims the contract defines; the edge refuses the token once the
 * organization's version passes it (a role redefined, the organization deleted).
 */
export const ORG_VERSION_CLAIM = "ov";

/** The claims consumers see: declared once, in the dependency-free RPC type module. */
export type { AccessTokenClaims };

/** What an access token is issued for: a user's grants, read in one snapshot, in one session. */
export type AccessTokenSubject = Grants & {
  userId: string;
  sessionId: string;
  emailVerified: boolean;
  authTime: Date;
  amr: AuthMethod[];
  /** The provider that signed the session in, if a federated sign-in opened it. */
  idp?: string;
  /** The session's active organization, read with the grants: the token's `org` claim is computed from it. */
  org?: ActiveMembership;
};

/**
 * The claims of the API contract, the grants version the edge's revocation check compares and, with an `org` claim,
 * the organization's version (`ov`) it compares too.
 */
export type VerifiedAccessToken = { claims: AccessTokenClaims; grantsVersion: number; orgVersion?: number };

/**
 * Whether the token's claims grant `permission` globally; decided from the claims alone, no database read. An
 * organization permission never counts here.
 */
export function holdsPermission(claims: { permissions: readonly string[] }, permission: unknown): boolean {
  return typeof permission === "string" && claims.permissions.includes(permission);
}

/**
 * Whether the token grants `permission` in the organization `orgId` names: only when that is the token's active
 * organization (ids compared case-insensitively), and then held globally or in it. Anything but a string for either
 * argument is held by no token.
 */
export function holdsPermissionIn(
  claims: { permissions: readonly string[]; org?: { id: string; permissions: readonly string[] } },
  permission: unknown,
  orgId: unknown,
): boolean {
  if (!isActiveOrg(claims, orgId) || typeof permission !== "string") return false;
  return claims.permissions.includes(permission) || claims.org!.permissions.includes(permission);
}

/** Whether `orgId` names the token's active organization (ids compared case-insensitively). */
export function isActiveOrg(claims: { org?: { id: string } }, orgId: unknown): boolean {
  return typeof orgId === "string" && claims.org !== undefined && orgId.toLowerCase() === claims.org.id.toLowerCase();
}
