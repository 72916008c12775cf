// Test-only secrets and cheap hashing parameters, bound into the Worker under
// test. These keys sign nothing outside this suite.

/** Newest first: the first signs, both verify (as after a key rotation). */
export const TEST_SIGNING_KEYS = [
  {
    crv: "Ed25519",
    d: "D5HwdIXT24h3dz1dmczS9KkG_BUjbU9wQ4KA6LVAb6s",
    x: "uyePyajLbEXYgMSyQMvu-MF5IUmWM0WXoH1vd5DbXGU",
    kty: "OKP",
    kid: "hbSzM0EfbmJBbZo6U_6aIUN0QrW1ZeMtvbGwU0kiWm0",
    alg: "EdDSA",
    use: "sig",
  },
  {
    crv: "Ed25519",
    d: "WD7-75H7B0hupVYwMFDf0BjOdi2YY00z-isPA90h9Zo",
    x: "1zO0oEWr4aX4TiJjjg7E9teeoSx4rzaTN4gmVRq_lO8",
    kty: "OKP",
    kid: "8LrpkzpFzW-sC2A6WfDILJCQGSt6Xt6EcA6j7qwRGRw",
    alg: "EdDSA",
    use: "sig",
  },
];

/**
 * Every variable src/config.ts reads, pinned to its test value and bound over
 * wrangler.toml [vars] and whatever a developer keeps in .dev.vars (which
 * wrangler loads for the suite too, announcing "Using secrets defined in
 * .dev.vars"): bindings given to the plugin win over both. An optional
 * feature that must be off is bound to "" (config reads empty as unset).
 * DATABASE_URL, PG_WS_PROXY and SMTP_URL come from the global setup (vitest.config.ts);
 * REVOCATION_FEED and the AUTH_*_RATE_LIMITER bindings are non-text bindings from
 * wrangler.toml that .dev.vars cannot replace. test/http/foundation.test.ts
 * checks at compile time that this list covers the Env type and at run time
 * that the Worker sees exactly these values.
 */
export const TEST_SECRETS = {
  JWT_SIGNING_KEYS: JSON.stringify(TEST_SIGNING_KEYS),
  REFRESH_TOKEN_SECRET: "RH9FpPbeAujTDyllt7Jg4K7BqJLORa798d3W26uTLg8",
  REFRESH_TOKEN_PREVIOUS_SECRET: "",
  JWT_ISSUER: "https://auth.test.secureauth.dev",
  JWT_AUDIENCE: "secureauth-test",
  // The production defaults: tests assert these lifetimes and windows.
  ACCESS_TOKEN_TTL: "600",
  REFRESH_IDLE_TTL: "604800",
  REFRESH_ABSOLUTE_TTL: "2592000",
  REFRESH_REUSE_GRACE: "10",
  REVOCATION_FRESHNESS: "5",
  ALLOWED_ORIGINS: "https://app.example.com,http://127.0.0.1:5173",
  // Production uses m=19456 KiB, t=2; tests use a cheap but real argon2id.
  ARGON2_MEMORY_KIB: "64",
  ARGON2_ITERATIONS: "1",
  ARGON2_PARALLELISM: "1",
  ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: "true",
  LOGIN_MAX_FAILURES: "5",
  MAX_SESSIONS_PER_USER: "50",
  MAX_ORGS_PER_USER: "50",
  MAX_PENDING_INVITATIONS: "100",
  ORG_PERMISSIONS: "projects:read,projects:write",
  // Off: no test may reach a real breached-password service.
  PWNED_PASSWORDS_URL: "",
  REQUIRE_VERIFIED_EMAIL: "false",
  APP_URL: "https://app.example.com",
  // Email sign-in is on, with sign-up, as by default; the magic link may return to this one app page.
  EMAIL_SIGN_IN: "true",
  EMAIL_SIGN_UP: "true",
  REDIRECT_URLS: "https://app.example.com/auth/magic,http://127.0.0.1:5173/magic",
  MAIL_FROM: "SecureAuth <no-reply@auth.test.secureauth.dev>",
  // Mail goes over SMTP to the suite's own server (SMTP_URL from the global setup).
  RESEND_API_KEY: "",
  RESEND_API_URL: "",
  // base64 of 32 bytes; a test key only.
  MFA_ENCRYPTION_KEY: "k2m4Vq9Xb7sT1yR8eW3nP6uL0aZ5cD2fG4hJ7kM9pQs=",
  REAUTH_MAX_AGE: "600",
  WEBAUTHN_RP_ID: "app.example.com",
  WEBAUTHN_RP_NAME: "SecureAuth test",
  WEBAUTHN_ORIGINS: "https://app.example.com",
  // Sign-in providers: off unless a test turns them on (test/support/federation.ts, against local stand-ins).
  PUBLIC_URL: "",
  GOOGLE_CLIENT_ID: "",
  GOOGLE_CLIENT_SECRET: "",
  GOOGLE_NATIVE_CLIENT_IDS: "",
  GITHUB_CLIENT_ID: "",
  GITHUB_CLIENT_SECRET: "",
  MICROSOFT_CLIENT_ID: "",
  MICROSOFT_CLIENT_SECRET: "",
  APPLE_CLIENT_ID: "",
  APPLE_TEAM_ID: "",
  APPLE_KEY_ID: "",
  APPLE_PRIVATE_KEY: "",
  APPLE_NATIVE_CLIENT_IDS: "",
  OIDC_PROVIDERS: "",
  OAUTH_ENDPOINTS_FOR_TESTS_ONLY: "",
  // A light brand colour: the pages must darken it for contrast. No logo: the name alone.
  BRAND_NAME: "Acme Test",
  BRAND_LOGO_URL: "",
  BRAND_COLOR: "#ffcc00",
};
