// Access tokens: the key set, issuing, verifying, and the full check
// (verification plus edge revocation) that protected requests pass.
export { AccessTokens } from "./access-tokens";
export { loadKeySet, type KeySet, type PublicJwk } from "./keys";
export { holdsPermission, holdsPermissionIn, type AccessTokenClaims, type AccessTokenSubject } from "./types";
