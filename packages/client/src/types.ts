// The client's types. What the API sends and takes is generated from the
// service's OpenAPI document (api.ts): nothing here restates a shape the
// routes declare. The rest is the client's own (options, stores, errors).

import type { components, operations } from "./api.js";
import type { Coordination } from "./coordination.js";

type Schemas = components["schemas"];

/** The user as the API answers it. */
export type User = Schemas["User"];
/** The same as User: the name this client's first version used. */
export type AuthUser = User;
/** The token pair of the API; `refreshToken` is absent in cookie mode, where it lives in the __Host-sa_rt cookie. */
export type TokenPair = Schemas["TokenPair"];
/** RFC 9457 problem details, as the API answers every error. */
export type Problem = Schemas["Problem"];
/** The API's stable error codes (`problem.code`). */
export type ErrorCode = Problem["code"];
/** One of the caller's live sessions (GET /sessions). */
export type Session = Schemas["Session"];
/** One of the caller's passkeys (GET /me/passkeys). */
export type Passkey = Schemas["Passkey"];
/** One security event of the caller's own (GET /me/activity). */
export type AuditEvent = Schemas["AuditEvent"];

type ProblemMethod = NonNullable<Problem["methods"]>[number];
/** mfa_required: the second factors that complete a sign-in. */
export type MfaMethod = Extract<ProblemMethod, "totp" | "recovery_code" | "passkey">;
/**
 * reauthentication_required: what re-authenticates the account: the password
 * alone without a second factor, else a two-factor proof.
 */
export type ReauthMethod = Exclude<ProblemMethod, MfaMethod> | "passkey";

/** The API's operations by operationId, as the generated types name them. */
export type OperationId = keyof operations;

/** The JSON body an operation takes. */
export type RequestBody<Op extends OperationId> =
  NonNullable<operations[Op]["requestBody"]> extends { content: { "application/json": infer B } } ? B : never;

type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : never;
/** The JSON an operation answers when it succeeds (never for a 204). */
export type ResponseBody<Op extends OperationId> = {
  [S in keyof operations[Op]["responses"]]: S extends 200 | 201 | 202 ? JsonOf<operations[Op]["responses"][S]> : never;
}[keyof operations[Op]["responses"]];

/** A WebAuthn credential as JSON (PublicKeyCredential.toJSON(), or @simplewebauthn/browser's start* functions). */
export type PasskeyCredentialJson = RequestBody<"passkeySignIn">["response"];
/** WebAuthn options in their JSON form: for PublicKeyCredential.parse*OptionsFromJSON or @simplewebauthn/browser. */
export type PasskeyOptionsJson = ResponseBody<"passkeySignInOptions">;

type ReauthBody = RequestBody<"reauthenticate">;
/**
 * What POST /auth/reauthenticate takes, by the account's factors (the
 * `methods` of its reauthentication_required answer): the current password
 * alone ("password"), with a TOTP code ("password+totp") or a recovery code
 * ("password+recovery_code"), or a passkey assertion for the options of
 * POST /auth/reauthenticate/options ("passkey"); for an account without a
 * password, the code requestReauthenticationCode mailed in place of the
 * password ("email_code", "email_code+totp", "email_code+recovery_code").
 */
export type ReauthenticationProof =
  | Required<Pick<ReauthBody, "currentPassword">>
  | Required<Pick<ReauthBody, "currentPassword" | "code">>
  | Required<Pick<ReauthBody, "currentPassword" | "recoveryCode">>
  | Required<Pick<ReauthBody, "emailCode">>
  | Required<Pick<ReauthBody, "emailCode" | "code">>
  | Required<Pick<ReauthBody, "emailCode" | "recoveryCode">>
  | Required<Pick<ReauthBody, "response">>;

/**
 * A sign-in: the user, the tokens, and the device token to present at the
 * next sign-in from this device (bearer mode; a cookie in cookie mode).
 */
export type LoggedIn = ResponseBody<"login">;

/** A registration: no tokens when the service requires a verified email before the first sign-in. */
export type Registered = ResponseBody<"register">;

/**
 * Why a session ended here: the server refused its refresh token (reused
 * elsewhere, or ended), or the user ended it (a logout, ending this session
 * from the session list, deleting the account).
 */
export type SessionEndReason = "refresh_token_reused" | "invalid_refresh_token" | "logged_out";

/** The pair plus when the access token expires, in epoch ms by the client's clock. */
export type StoredTokens = TokenPair & { accessExpiresAt: number };

/** Where the tokens live between page loads; in memory by default. */
export type TokenStore = {
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  set(tokens: StoredTokens | null): void | Promise<void>;
};

export type AuthClientOptions = {
  /** The SecureAuth origin, e.g. https://auth.example.com */
  baseUrl: string;
  /**
   * "bearer" (the default): the token pair is kept in `store` and sent in
   * request bodies. "cookie" (browsers): the refresh token stays in the
   * service's HttpOnly cookie; the page must be same-site with the service
   * (app.example.com and auth.example.com; http://localhost in development).
   */
  mode?: "bearer" | "cookie";
  /**
   * Origins, besides baseUrl's, that `fetch` may send the access token to
   * (your APIs), e.g. ["https://api.example.com"]. Exact origins only.
   */
  trustedOrigins?: readonly string[];
  store?: TokenStore;
  fetch?: typeof fetch;
  /** Refresh this long before the access token expires, so a request does not leave with a token about to die. */
  refreshSkewSeconds?: number;
  /**
   * The service's REFRESH_REUSE_GRACE (default 10): a refresh that got no answer is retried, at once and then after
   * short pauses, only while this window since its first attempt is open (with a second to spare).
   */
  refreshGraceSeconds?: number;
  now?: () => number;
  /** Cross-tab coordination; by default the browser's Web Locks and BroadcastChannel, none outside a browser. */
  coordination?: Coordination | false;
  /**
   * Where provider sign-ins and links keep their verifier and state until
   * the return: this page's memory by default; in a browser pass
   * `sessionStorage`, which the redirect to the provider and back keeps.
   */
  flowStorage?: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
  /** Called once in every tab when the session ends: logged out (here or in another tab) or ended by the server. */
  onSessionEnded?: (reason: SessionEndReason) => void;
};

/** Every error the API answers, with its problem details. */
export class AuthApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.title);
    this.name = "AuthApiError";
  }
  get code(): ErrorCode {
    return this.problem.code;
  }
  /** For mfa_required: the token that completes the sign-in. */
  get mfaToken(): string | undefined {
    return this.problem.mfaToken;
  }
  /** mfa_required: the methods that can complete it; reauthentication_required: the proofs that would do. */
  get methods(): (MfaMethod | ReauthMethod)[] | undefined {
    return this.problem.methods;
  }
}
