// Sessions and refresh tokens: the token format and its successor, the token
// pair, rotation with theft detection and device sessions. The edge
// revocation list behind the RevocationList port is an adapter
// (src/adapters/revocation-feed/).
export { newSession, type SessionLifetimes } from "./new-session";
export { RefreshTokenCodec } from "./refresh-token";
export { RefreshTokenRotation, type RotationDeps } from "./rotation";
export { SessionService, toSessionView, type SessionView } from "./service";
export { issueTokenPair, type TokenPair } from "./token-pair";
