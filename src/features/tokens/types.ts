// The shape of an access token (docs/sessions.md, RFC 9068 profile) and
// the constants both issuing and verifying depend on.
import type { AccessTokenClaims } from "../../rpc-types";
import type { AuthMethod, Grants } from "../../core/domain";

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
};

/** The claims of the API contract, and the grants version the edge's revocation check compares. */
export type VerifiedAccessToken = { claims: AccessTokenClaims; grantsVersion: number };

/** Whether the token's claims grant `permission`; decided from the claims alone, no database read. */
export function holdsPermission(claims: { permissions: readonly string[] }, permission: unknown): boolean {
  return typeof permission === "string" && claims.permissions.includes(permission);
}
