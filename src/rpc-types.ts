// The TypeScript type of the AuthService RPC entrypoint (docs/rpc.md
// "Worker-to-Worker RPC"), for the Workers that call it through a service
// binding: `import type { AuthServiceRpc } from "secureauth/rpc"` (the
// package.json `exports` entry), so a consumer types its binding without
// copying it. src/rpc.ts implements it.
//
// No imports at all, so a consumer's compiler reads this one file and
// nothing of the Worker behind it. test/http/rpc.test.ts checks that these
// claims stay those the service issues and that the real binding fits.

/** The claims of a valid access token (docs/sessions.md). */
export type AccessTokenClaims = {
  iss: string;
  aud: string;
  /** The user's id. */
  sub: string;
  /** The session's id. */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  client_id: string;
  roles: string[];
  permissions: string[];
  /**
   * When the session last proved a credential (sign-in, second factor, re-authentication), epoch seconds; a refresh
   * keeps it.
   */
  auth_time: number;
  /**
   * RFC 8176 method values of that proof: "pwd" password, "otp" TOTP or recovery code, "hwk" passkey, "mfa" two
   * factors (a passkey alone, with user verification, is ["hwk","mfa"]).
   */
  amr: string[];
  /** Whether the user had verified their email when the token was issued. */
  email_verified: boolean;
  /** The provider id ("google", or a listed OpenID provider's), present only when a federated sign-in opened the session. */
  idp?: string;
};

/**
 * `service_unavailable`: the service could not check the token (its
 * configuration is broken, or a store it reads failed). Verification fails
 * closed: treat it as "not verified", e.g. answer 503.
 */
export type VerifyResult =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; code: "invalid_token" | "service_unavailable" };

export type AuthorizeResult =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; code: "invalid_token" | "insufficient_permission" | "service_unavailable" };

/** Neither method ever throws or rejects, whatever the input: every outcome is a result. */
export interface AuthServiceRpc {
  /** The claims of a valid, unrevoked access token. */
  verify(token: string): Promise<VerifyResult>;
  /** verify, then whether the token's permissions include `permission` (a permission name, never a role's). */
  authorize(token: string, permission: string): Promise<AuthorizeResult>;
}
