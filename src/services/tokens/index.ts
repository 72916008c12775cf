// Access tokens: the key set, issuing, verifying, and the full check
// (verification plus edge revocation) that protected requests pass.
export { authenticateAccessToken, type AccessTokenCheck } from "./authenticate";
export { AccessTokenIssuer, DEFAULT_CLIENT_ID, type IssuedAccessToken } from "./issue";
export { ACCESS_TOKEN_ALGORITHM, loadKeySet, type KeySet, type PublicJwk } from "./keys";
export type { AccessTokenClaims, AccessTokenSubject } from "./types";
export { ACCESS_TOKEN_TYPE, CLOCK_TOLERANCE_SECONDS, MAX_ACCESS_TOKEN_LENGTH, verifyAccessToken } from "./verify";
