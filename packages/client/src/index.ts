// @secureauth/client: the SecureAuth client for browsers, Node 20+ and
// Workers (ESM and .d.ts, no dependencies). AuthClient (client.ts) holds a
// session and calls the API with types generated from the service's OpenAPI
// document (api.ts); the stores (stores.ts) keep its tokens; coordination.ts
// makes the tabs of a browser refresh once between them.

export { AuthClient, type KeyValueStorage } from "./client.js";
export { memoryStore, webStorageStore } from "./stores.js";
export type { ChannelLike, Coordination, LockManagerLike } from "./coordination.js";
export type { components, operations, paths } from "./api.js";
export type {
  CodeExchange,
  EmailCodeRequest,
  EmailCodeVerification,
  HandoffAnswer,
  HandoffRequest,
  Identity,
  Providers,
  SignedInNew,
} from "./handtyped.js";
export {
  AuthApiError,
  type AuditEvent,
  type AuthClientOptions,
  type AuthUser,
  type ErrorCode,
  type LoggedIn,
  type MfaMethod,
  type OperationId,
  type Passkey,
  type PasskeyCredentialJson,
  type PasskeyOptionsJson,
  type Problem,
  type ReauthenticationProof,
  type ReauthMethod,
  type Registered,
  type RequestBody,
  type ResponseBody,
  type Session,
  type SessionEndReason,
  type StoredTokens,
  type TokenPair,
  type TokenStore,
  type User,
} from "./types.js";
