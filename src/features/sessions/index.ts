// Sessions and refresh tokens: the token format and its successor, the token
// pair, rotation with theft detection, device sessions, and the edge
// revocation list that makes an ended session's access tokens stop at once.
export { newSession, type SessionLifetimes } from "./new-session";
export { RefreshTokenCodec } from "./refresh-token";
export { SessionRevocationList } from "../../adapters/revocation-list";
export { RefreshTokenRotation, type RotationDeps } from "./rotation";
export { SessionService, toSessionView, type SessionView } from "./service";
export { issueTokenPair, type TokenPair } from "./token-pair";
