// The one error hierarchy of the service (after jose's util/errors.ts). Each
// API error code has exactly one subclass, named after itself, that fixes
// its code; the base constructor is protected, so no code can raise an
// AuthError with an arbitrary code. src/http/errors maps them to
// problem+json in one place; anything that is not an AuthError becomes a 500
// with no details. The reason behind a generic answer (why a token failed,
// which variable is missing) goes in `cause`, which is logged and never sent.

export const ERROR_STATUS = {
  validation_failed: { status: 400, title: "Request validation failed" },
  invalid_json: { status: 400, title: "Request body is not valid JSON" },
  invalid_credentials: { status: 401, title: "Invalid email or password" },
  invalid_token: { status: 401, title: "Invalid access token" },
  invalid_refresh_token: { status: 401, title: "Invalid refresh token" },
  refresh_token_reused: { status: 401, title: "Refresh token reused" },
  insufficient_permission: { status: 403, title: "Insufficient permission" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  invalid_one_time_token: { status: 400, title: "Invalid or expired link" },
  mfa_required: { status: 403, title: "Second factor required" },
  invalid_mfa_code: { status: 401, title: "Invalid second-factor code" },
  invalid_mfa_token: { status: 401, title: "Invalid or expired sign-in attempt" },
  invalid_email_code: { status: 401, title: "Invalid or expired email code" },
  reauthentication_required: { status: 403, title: "Re-authentication required" },
  email_not_verified: { status: 403, title: "Email not verified" },
  csrf_rejected: { status: 403, title: "Cross-site request refused" },
  email_taken: { status: 409, title: "Email already registered" },
  invalid_oauth_state: { status: 400, title: "Invalid sign-in state" },
  identity_provider_error: { status: 502, title: "Identity provider error" },
  account_link_required: { status: 409, title: "Account link required" },
  last_credential: { status: 409, title: "Last way to sign in" },
  slug_taken: { status: 409, title: "Slug already in use" },
  last_owner: { status: 409, title: "Last owner" },
  limit_reached: { status: 409, title: "Limit reached" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal_error: { status: 500, title: "Internal server error" },
  service_unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type FieldError = { path: string; message: string };

type ErrorOptions = { detail?: string; cause?: unknown; headers?: Record<string, string> };

export abstract class AuthError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Safe, non-secret text for the client. */
  readonly detail: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  protected constructor(code: ErrorCode, options: ErrorOptions = {}) {
    super(ERROR_STATUS[code].title, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_STATUS[code].status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

export class ValidationFailed extends AuthError {
  readonly errors: FieldError[];
  constructor(errors: FieldError[], detail = "The request body does not match the schema") {
    super("validation_failed", { detail });
    this.errors = errors;
  }

  /** From schema issues (zod's shape): each becomes { path, message }. `part` names what failed: body, query, param. */
  static fromIssues(
    issues: readonly { path: readonly PropertyKey[]; message: string }[],
    part = "body",
  ): ValidationFailed {
    const noun = part === "json" ? "body" : part === "param" ? "path parameters" : part;
    return new ValidationFailed(
      issues.map((issue) => ({ path: issue.path.map(String).join(".") || `(${noun})`, message: issue.message })),
      `The request ${noun} does not match the schema`,
    );
  }
}

export class InvalidJson extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_json", { cause });
  }
}

export class InvalidCredentials extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_credentials", { cause });
  }
}

/**
 * RFC 6750: `invalid_request` when the Authorization header is absent or not
 * a Bearer credential, `invalid_token` for a token that fails verification.
 */
export class InvalidToken extends AuthError {
  constructor(options: { cause?: unknown; bearerError?: "invalid_token" | "invalid_request" } = {}) {
    const bearerError = options.bearerError ?? "invalid_token";
    super("invalid_token", {
      cause: options.cause,
      headers: { "WWW-Authenticate": `Bearer error="${bearerError}"` },
    });
  }
}

export class InvalidRefreshToken extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_refresh_token", { cause });
  }
}

export class RefreshTokenReused extends AuthError {
  constructor() {
    super("refresh_token_reused", { detail: "This session has been ended. Sign in again." });
  }
}

export class InsufficientPermission extends AuthError {
  /** `Requires the <permission> permission`, or a detail of its own (a rule beyond holding one permission). */
  constructor(requirement: { permission: string } | { detail: string }) {
    super("insufficient_permission", {
      detail: "permission" in requirement ? `Requires the ${requirement.permission} permission` : requirement.detail,
    });
  }
}

export class NotFound extends AuthError {
  constructor(detail?: string) {
    super("not_found", detail === undefined ? {} : { detail });
  }
}

export class MethodNotAllowed extends AuthError {
  constructor(allow: readonly string[]) {
    super("method_not_allowed", { headers: { Allow: allow.join(", ") } });
  }
}

/**
 * A verification, reset or email-change token that is unknown, expired, used, or made for another purpose: one answer
 * for all.
 */
export class InvalidOneTimeToken extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_one_time_token", { cause, detail: "This link is invalid or has expired. Ask for a new one." });
  }
}

export type MfaMethod = "totp" | "recovery_code" | "passkey";

/**
 * The first factor was right and the account has a second: the body carries the mfaToken that completes the sign-in,
 * and the methods that can.
 */
export class MfaRequired extends AuthError {
  constructor(
    readonly mfaToken: string,
    readonly methods: MfaMethod[],
  ) {
    // It carries a credential: never cached.
    super("mfa_required", {
      detail: "Complete the sign-in with a second factor.",
      headers: { "Cache-Control": "no-store", Pragma: "no-cache" },
    });
  }
}

/** A TOTP or recovery code that is wrong, already used, or replayed within its time step. */
export class InvalidMfaCode extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_mfa_code", { cause });
  }
}

/**
 * An email sign-in code or magic link that is wrong, expired, spent (used, replaced by a newer one, or ended by five
 * wrong codes), or for a disabled account: one answer whatever the reason.
 */
export class InvalidEmailCode extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_email_code", { cause, detail: "Ask for a new code." });
  }
}

/** An mfaToken that is unknown, expired, already used, or spent by too many wrong codes: sign in again. */
export class InvalidMfaToken extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_mfa_token", { cause, detail: "Sign in again." });
  }
}

/**
 * What re-authenticates an account (the `methods` of reauthentication_required):
 * the password alone for an account without a second factor; with one, the
 * password and a TOTP code or a recovery code, or a passkey.
 */
/**
 * What re-authenticates an account: its first proof (the password, or for an account without one an email code, POST
 * /auth/reauthenticate/email), alone or with a TOTP or recovery code; or a passkey.
 */
export type ReauthMethod =
  | "password"
  | "password+totp"
  | "password+recovery_code"
  | "email_code"
  | "email_code+totp"
  | "email_code+recovery_code"
  | "passkey";

/**
 * The operation needs a recent proof, as strong as the account's sign-in: POST /auth/reauthenticate with one of
 * `methods`, then retry.
 */
export class ReauthenticationRequired extends AuthError {
  constructor(readonly methods: ReauthMethod[]) {
    super("reauthentication_required", { detail: "Confirm it is you (POST /auth/reauthenticate), then try again." });
  }
}

/** A cookie-authenticated unsafe request without `X-Auth-Mode: cookie`, or from an origin outside the allowlist. */
export class CsrfRejected extends AuthError {
  constructor(cause?: unknown) {
    super("csrf_rejected", { cause, detail: "Send X-Auth-Mode: cookie from an allowed origin." });
  }
}

/**
 * REQUIRE_VERIFIED_EMAIL is on and the account's email is not verified yet, or (v3) an operation needs a verified
 * email.
 */
export class EmailNotVerified extends AuthError {
  constructor(detail = "Verify your email address with the link we sent, then sign in.") {
    super("email_not_verified", { detail });
  }
}

export class EmailTaken extends AuthError {
  constructor() {
    super("email_taken");
  }
}

/** A provider callback whose state is unknown, expired, used, or not bound to this browser (its cookie). */
export class InvalidOAuthState extends AuthError {
  constructor(cause?: unknown) {
    super("invalid_oauth_state", { cause, detail: "This sign-in attempt is unknown or expired: start again." });
  }
}

/** The provider refused, failed or answered something that does not verify; `detail` names the step, never a secret. */
export class IdentityProviderError extends AuthError {
  constructor(step: string, cause?: unknown) {
    super("identity_provider_error", { cause, detail: step });
  }
}

/** A provider identity whose email belongs to an account that automatic linking may not join. */
export class AccountLinkRequired extends AuthError {
  constructor(detail = "An account with this email exists: sign in to it another way, then link this provider.") {
    super("account_link_required", { detail });
  }
}

/** Removing this would leave the account with no way to sign in. */
export class LastCredential extends AuthError {
  constructor() {
    super("last_credential", { detail: "Add a password, a passkey or another provider first." });
  }
}

/** An organization slug in use by another organization. */
export class SlugTaken extends AuthError {
  constructor() {
    super("slug_taken", { detail: "Another organization uses this slug: choose another." });
  }
}

/** The change would leave an organization without an owner. */
export class LastOwner extends AuthError {
  constructor(detail = "Make another member an owner first, or delete the organization.") {
    super("last_owner", { detail });
  }
}

/** A configured cap is full; `detail` names the setting. */
export class LimitReached extends AuthError {
  constructor(setting: "MAX_ORGS_PER_USER" | "MAX_PENDING_INVITATIONS", limit: number) {
    super("limit_reached", { detail: `${setting} (${limit}) is reached` });
  }
}

export class PayloadTooLarge extends AuthError {
  constructor(limit?: number) {
    super("payload_too_large", limit === undefined ? {} : { detail: `Request bodies are limited to ${limit} bytes` });
  }
}

export class UnsupportedMediaType extends AuthError {
  constructor() {
    super("unsupported_media_type", { detail: "Send the body as application/json" });
  }
}

export class RateLimited extends AuthError {
  constructor(retryAfterSeconds: number) {
    super("rate_limited", { headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

/** Anything unexpected: answered 500 with no details; the original is the cause. */
export class InternalError extends AuthError {
  constructor(cause?: unknown) {
    super("internal_error", { cause });
  }
}

/** A store the request needs did not answer, or rolled back: nothing was written. */
export class ServiceUnavailable extends AuthError {
  constructor(cause?: unknown) {
    super("service_unavailable", { cause });
  }
}

/** A missing or malformed configuration variable: the service refuses to run. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`Invalid configuration: ${variable} ${reason}`);
    this.name = "ConfigError";
  }
}

/**
 * The error's class chain and a code (a SQLSTATE from a driver error wrapped
 * in the ORM's, say), never a message: messages may hold SQL and its parameters.
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: typeof error };
  const names: string[] = [];
  let code: string | undefined;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    names.push(e.name);
    const candidate = (e as { code?: unknown }).code;
    if (code === undefined && typeof candidate === "string") code = candidate;
  }
  return { name: names.join(" < "), ...(code === undefined ? {} : { code }) };
}
