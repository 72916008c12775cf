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
  /**
   * The session's active organization, present only while it has one (POST /auth/org): its id (apps key on it; a
   * slug can change), its slug, the member's roles there and the organization permissions they grant. Those
   * permissions never satisfy a global check: they count only where a check names this organization.
   */
  org?: OrgClaim;
};

/** The active organization in a token: `permissions` are organization permissions, never global ones. */
export type OrgClaim = { id: string; slug: string; roles: string[]; permissions: string[] };

/** Options of `authorize`. */
export type AuthorizeOptions = {
  /**
   * The organization the check is about: it must be the token's active organization (else insufficient_permission),
   * and then a permission held globally or in it counts. Without it only global permissions count.
   */
  org?: string;
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
  /**
   * verify, then whether the token holds `permission` (a permission name, never a role's): among its global
   * permissions, or, with `{ org }` naming the token's active organization, among that organization's too.
   */
  authorize(token: string, permission: string, options?: AuthorizeOptions): Promise<AuthorizeResult>;
}
