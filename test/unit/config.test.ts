// parseConfig: the documented defaults, and a ConfigError naming the variable
// for every missing or malformed one, so a misconfigured deployment refuses
// to run instead of half-working.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULTS, loadConfig, parseConfig, type Env } from "../../src/config";
import { ConfigError } from "../../src/core/errors";
import { TEST_SIGNING_KEYS } from "../setup/secrets";

const SECRET = "RH9FpPbeAujTDyllt7Jg4K7BqJLORa798d3W26uTLg8";
const PREVIOUS_SECRET = "the refresh secret before the last change, 32+ characters";

/** Only what has no default: secrets, the database and the revocation feed binding. */
function minimalEnv(overrides: Partial<Record<keyof Env, unknown>> = {}): Env {
  return {
    DATABASE_URL: "postgres://user:pw@127.0.0.1:5432/secureauth",
    JWT_SIGNING_KEYS: JSON.stringify(TEST_SIGNING_KEYS),
    REFRESH_TOKEN_SECRET: SECRET,
    REVOCATION_FEED: {} as DurableObjectNamespace,
    ...overrides,
  } as Env;
}

function configErrorOf(overrides: Partial<Record<keyof Env, unknown>>): ConfigError {
  try {
    parseConfig(minimalEnv(overrides));
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  }
  throw new Error("expected parseConfig to throw");
}

const [KEY] = TEST_SIGNING_KEYS;

describe("defaults", () => {
  it("gives the documented defaults when only the secrets are set", () => {
    const config = parseConfig(minimalEnv());
    expect(config).toEqual({
      databaseUrl: "postgres://user:pw@127.0.0.1:5432/secureauth",
      pgWsProxy: undefined,
      signingKeys: TEST_SIGNING_KEYS,
      refreshTokenSecret: SECRET,
      refreshTokenPreviousSecret: undefined,
      issuer: "https://auth.secureauth.dev",
      audience: "secureauth",
      accessTokenTtl: 600,
      refreshIdleTtl: 7 * 24 * 3600,
      refreshAbsoluteTtl: 30 * 24 * 3600,
      refreshReuseGrace: 10,
      revocationFreshness: 5,
      allowedOrigins: [],
      argon2: { memoryKib: 19456, iterations: 2, parallelism: 1 },
      loginMaxFailures: 5,
      maxSessionsPerUser: 50,
      organizations: {
        permissions: [
          "org:read",
          "org:update",
          "org:delete",
          "members:read",
          "members:invite",
          "members:remove",
          "members:roles",
          "org:audit:read",
        ],
        maxPerUser: 50,
        maxPendingInvitations: 100,
      },
      pwnedPasswordsUrl: undefined,
      requireVerifiedEmail: false,
      redirectUrls: [],
      emailSignIn: { enabled: true, signUp: true },
      mail: { appUrl: DEFAULTS.APP_URL, from: DEFAULTS.MAIL_FROM, transport: undefined },
      brand: { name: "SecureAuth", logoUrl: undefined, color: "#2f5bd3" },
      mfa: {
        encryptionKey: undefined,
        reauthMaxAge: 600,
        webauthn: { rpId: "localhost", rpName: "SecureAuth", origins: ["http://localhost:8787"] },
      },
      federation: { publicUrl: undefined, redirectUrls: [], providers: [] },
    });
    expect(DEFAULTS).toMatchObject({ APP_URL: "http://localhost:8787", MAIL_FROM: "SecureAuth <no-reply@localhost>" });
  });

  it(
    "accepts retired keys as public JWKs after the private signing key " + "(rotation needs no private key read back)",
    () => {
      const retired = { ...TEST_SIGNING_KEYS[1]!, d: undefined };
      const config = parseConfig(minimalEnv({ JWT_SIGNING_KEYS: JSON.stringify([KEY, retired]) }));
      expect(config.signingKeys.map((key) => [key.kid, typeof key.d])).toEqual([
        [KEY!.kid, "string"],
        [retired.kid, "undefined"],
      ]);
    },
  );

  it("accepts each OWASP argon2id parameter set, and cheaper ones only with the test-only flag", () => {
    for (const [iterations, memoryKib] of [
      [1, 47104],
      [2, 19456],
      [3, 12288],
      [4, 9216],
      [5, 7168],
      [10, 7168],
    ] as const) {
      expect(
        parseConfig(minimalEnv({ ARGON2_MEMORY_KIB: String(memoryKib), ARGON2_ITERATIONS: String(iterations) })).argon2,
      ).toEqual({ memoryKib, iterations, parallelism: 1 });
    }
    const weak = { ARGON2_MEMORY_KIB: "64", ARGON2_ITERATIONS: "1" };
    expect(() => parseConfig(minimalEnv(weak))).toThrow(/OWASP minimum/);
    expect(parseConfig(minimalEnv({ ...weak, ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: "true" })).argon2).toEqual({
      memoryKib: 64,
      iterations: 1,
      parallelism: 1,
    });
  });

  it("treats empty and blank variables as unset", () => {
    const config = parseConfig(
      minimalEnv({
        JWT_ISSUER: "",
        ACCESS_TOKEN_TTL: "  ",
        ALLOWED_ORIGINS: "",
        PG_WS_PROXY: "",
        REFRESH_TOKEN_PREVIOUS_SECRET: " ",
      }),
    );
    expect(config.issuer).toBe(DEFAULTS.JWT_ISSUER);
    expect(config.refreshTokenPreviousSecret).toBeUndefined();
    expect(config.accessTokenTtl).toBe(DEFAULTS.ACCESS_TOKEN_TTL);
    expect(config.allowedOrigins).toEqual([]);
    expect(config.pgWsProxy).toBeUndefined();
  });

  it("wrangler.toml [vars] agree with the defaults in code", () => {
    // The test env is wrangler.toml plus test overrides; these are not overridden.
    const vars = env as unknown as Record<string, string>;
    expect(Number(vars.ACCESS_TOKEN_TTL)).toBe(DEFAULTS.ACCESS_TOKEN_TTL);
    expect(Number(vars.REFRESH_IDLE_TTL)).toBe(DEFAULTS.REFRESH_IDLE_TTL);
    expect(Number(vars.REFRESH_ABSOLUTE_TTL)).toBe(DEFAULTS.REFRESH_ABSOLUTE_TTL);
    expect(Number(vars.REFRESH_REUSE_GRACE)).toBe(DEFAULTS.REFRESH_REUSE_GRACE);
  });

  it("reads every variable that is set", () => {
    const config = parseConfig(
      minimalEnv({
        PG_WS_PROXY: "ws://127.0.0.1:9000",
        REFRESH_TOKEN_PREVIOUS_SECRET: PREVIOUS_SECRET,
        JWT_ISSUER: "https://id.example.com",
        JWT_AUDIENCE: "api",
        ACCESS_TOKEN_TTL: "300",
        REFRESH_IDLE_TTL: "3600",
        REFRESH_ABSOLUTE_TTL: "86400",
        REFRESH_REUSE_GRACE: "0",
        ALLOWED_ORIGINS: " https://app.example.com , http://127.0.0.1:5173/ ",
        ARGON2_MEMORY_KIB: "65536",
        ARGON2_ITERATIONS: "3",
        ARGON2_PARALLELISM: "2",
        LOGIN_MAX_FAILURES: "10",
        PWNED_PASSWORDS_URL: "https://api.pwnedpasswords.com",
        REQUIRE_VERIFIED_EMAIL: "true",
        APP_URL: "https://app.example.com/",
        REDIRECT_URLS: " https://app.example.com/auth/magic , http://127.0.0.1:5173/cb, http://localhost:3000/cb ",
        EMAIL_SIGN_IN: "true",
        EMAIL_SIGN_UP: "false",
        MAIL_FROM: "Example <auth@example.com>",
        SMTP_URL: "smtps://user:pass@smtp.example.com:465",
      }),
    );
    expect(config).toMatchObject({
      pgWsProxy: "ws://127.0.0.1:9000",
      refreshTokenPreviousSecret: PREVIOUS_SECRET,
      issuer: "https://id.example.com",
      audience: "api",
      accessTokenTtl: 300,
      refreshIdleTtl: 3600,
      refreshAbsoluteTtl: 86400,
      refreshReuseGrace: 0,
      redirectUrls: ["https://app.example.com/auth/magic", "http://127.0.0.1:5173/cb", "http://localhost:3000/cb"],
      emailSignIn: { enabled: true, signUp: false },
      allowedOrigins: ["https://app.example.com", "http://127.0.0.1:5173"],
      argon2: { memoryKib: 65536, iterations: 3, parallelism: 2 },
      loginMaxFailures: 10,
      pwnedPasswordsUrl: "https://api.pwnedpasswords.com",
      requireVerifiedEmail: true,
      mail: {
        appUrl: "https://app.example.com",
        from: "Example <auth@example.com>",
        transport: { kind: "smtp", url: new URL("smtps://user:pass@smtp.example.com:465") },
      },
    });
  });

  it("reads the second-factor settings: the TOTP key, REAUTH_MAX_AGE and the WebAuthn relying party", () => {
    const key = btoa(String.fromCharCode(...new Uint8Array(32).fill(9)));
    const config = parseConfig(
      minimalEnv({
        MFA_ENCRYPTION_KEY: key,
        REAUTH_MAX_AGE: "300",
        WEBAUTHN_RP_ID: "Example.com",
        WEBAUTHN_RP_NAME: "Example",
        WEBAUTHN_ORIGINS: "https://app.example.com, https://example.com",
      }),
    );
    expect(config.mfa).toEqual({
      encryptionKey: new Uint8Array(32).fill(9),
      reauthMaxAge: 300,
      webauthn: { rpId: "example.com", rpName: "Example", origins: ["https://app.example.com", "https://example.com"] },
    });
    // Without WEBAUTHN_*, the relying party is APP_URL's host and origin.
    expect(parseConfig(minimalEnv({ APP_URL: "https://app.example.com/" })).mfa.webauthn).toEqual({
      rpId: "app.example.com",
      rpName: "SecureAuth",
      origins: ["https://app.example.com"],
    });
  });

  it.each([
    ["MFA_ENCRYPTION_KEY", { MFA_ENCRYPTION_KEY: "c2hvcnQ=" }],
    ["MFA_ENCRYPTION_KEY", { MFA_ENCRYPTION_KEY: "not base64 at all!" }],
    ["REAUTH_MAX_AGE", { REAUTH_MAX_AGE: "ten minutes" }],
    ["WEBAUTHN_RP_ID", { WEBAUTHN_RP_ID: "https://example.com" }],
    ["WEBAUTHN_ORIGINS", { WEBAUTHN_ORIGINS: "*" }],
    // A passkey made for one site must never be asked for by another.
    ["WEBAUTHN_ORIGINS", { WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "https://evil.example.net" }],
  ])("refuses a malformed %s", (variable, vars) => {
    expect(() => parseConfig(minimalEnv(vars))).toThrow(expect.objectContaining({ variable }));
  });

  it("sends through Resend when RESEND_API_KEY is set instead of SMTP_URL", () => {
    expect(parseConfig(minimalEnv({ RESEND_API_KEY: "re_test" })).mail.transport).toEqual({
      kind: "resend",
      apiKey: "re_test",
      apiUrl: DEFAULTS.RESEND_API_URL,
    });
    expect(
      parseConfig(minimalEnv({ RESEND_API_KEY: "re_test", RESEND_API_URL: "http://127.0.0.1:9/" })).mail.transport,
    ).toMatchObject({ apiUrl: "http://127.0.0.1:9" });
  });

  it("accepts a number where wrangler.toml [vars] holds one unquoted", () => {
    expect(parseConfig(minimalEnv({ ACCESS_TOKEN_TTL: 300 })).accessTokenTtl).toBe(300);
  });

  it("loadConfig parses an env once and returns the same config for it", () => {
    const e = minimalEnv();
    expect(loadConfig(e)).toBe(loadConfig(e));
  });
});

describe("a missing or malformed variable throws a ConfigError naming it", () => {
  const cases: [string, Partial<Record<keyof Env, unknown>>, keyof Env][] = [
    ["DATABASE_URL missing", { DATABASE_URL: undefined }, "DATABASE_URL"],
    ["DATABASE_URL blank", { DATABASE_URL: "   " }, "DATABASE_URL"],
    ["DATABASE_URL not postgres", { DATABASE_URL: "mysql://127.0.0.1/db" }, "DATABASE_URL"],
    ["REVOCATION_FEED binding missing", { REVOCATION_FEED: undefined }, "REVOCATION_FEED"],
    ["REFRESH_TOKEN_SECRET missing", { REFRESH_TOKEN_SECRET: undefined }, "REFRESH_TOKEN_SECRET"],
    ["REFRESH_TOKEN_SECRET under 32 characters", { REFRESH_TOKEN_SECRET: "x".repeat(31) }, "REFRESH_TOKEN_SECRET"],
    [
      "REFRESH_TOKEN_PREVIOUS_SECRET under 32 characters",
      { REFRESH_TOKEN_PREVIOUS_SECRET: "x".repeat(31) },
      "REFRESH_TOKEN_PREVIOUS_SECRET",
    ],
    ["JWT_SIGNING_KEYS missing", { JWT_SIGNING_KEYS: undefined }, "JWT_SIGNING_KEYS"],
    ["JWT_SIGNING_KEYS not JSON", { JWT_SIGNING_KEYS: "[{kty:OKP}" }, "JWT_SIGNING_KEYS"],
    ["JWT_SIGNING_KEYS a single object, not an array", { JWT_SIGNING_KEYS: JSON.stringify(KEY) }, "JWT_SIGNING_KEYS"],
    ["JWT_SIGNING_KEYS an empty array", { JWT_SIGNING_KEYS: "[]" }, "JWT_SIGNING_KEYS"],
    [
      "JWT_SIGNING_KEYS a public key only",
      { JWT_SIGNING_KEYS: JSON.stringify([{ ...KEY, d: undefined }]) },
      "JWT_SIGNING_KEYS",
    ],
    [
      "JWT_SIGNING_KEYS a public key first (it would have to sign)",
      { JWT_SIGNING_KEYS: JSON.stringify([{ ...TEST_SIGNING_KEYS[1], d: undefined }, KEY]) },
      "JWT_SIGNING_KEYS",
    ],
    [
      "JWT_SIGNING_KEYS a d that is not a string",
      { JWT_SIGNING_KEYS: JSON.stringify([{ ...KEY, d: 42 }]) },
      "JWT_SIGNING_KEYS",
    ],
    [
      "JWT_SIGNING_KEYS a key without kid",
      { JWT_SIGNING_KEYS: JSON.stringify([{ ...KEY, kid: undefined }]) },
      "JWT_SIGNING_KEYS",
    ],
    [
      "JWT_SIGNING_KEYS a non-Ed25519 key",
      { JWT_SIGNING_KEYS: JSON.stringify([{ ...KEY, crv: "X25519" }]) },
      "JWT_SIGNING_KEYS",
    ],
    [
      "JWT_SIGNING_KEYS an RSA key",
      { JWT_SIGNING_KEYS: JSON.stringify([{ kty: "RSA", n: "x", e: "AQAB", d: "y", kid: "r" }]) },
      "JWT_SIGNING_KEYS",
    ],
    ["JWT_SIGNING_KEYS a null entry", { JWT_SIGNING_KEYS: "[null]" }, "JWT_SIGNING_KEYS"],
    ["JWT_SIGNING_KEYS a duplicate kid", { JWT_SIGNING_KEYS: JSON.stringify([KEY, KEY]) }, "JWT_SIGNING_KEYS"],
    ["ACCESS_TOKEN_TTL not a number", { ACCESS_TOKEN_TTL: "10m" }, "ACCESS_TOKEN_TTL"],
    ["ACCESS_TOKEN_TTL negative", { ACCESS_TOKEN_TTL: "-600" }, "ACCESS_TOKEN_TTL"],
    ["ACCESS_TOKEN_TTL fractional", { ACCESS_TOKEN_TTL: "600.5" }, "ACCESS_TOKEN_TTL"],
    ["ACCESS_TOKEN_TTL zero", { ACCESS_TOKEN_TTL: "0" }, "ACCESS_TOKEN_TTL"],
    ["ACCESS_TOKEN_TTL over a year", { ACCESS_TOKEN_TTL: String(367 * 24 * 3600) }, "ACCESS_TOKEN_TTL"],
    ["REFRESH_IDLE_TTL not a number", { REFRESH_IDLE_TTL: "a week" }, "REFRESH_IDLE_TTL"],
    [
      "REFRESH_IDLE_TTL longer than REFRESH_ABSOLUTE_TTL",
      { REFRESH_IDLE_TTL: "7200", REFRESH_ABSOLUTE_TTL: "3600" },
      "REFRESH_IDLE_TTL",
    ],
    ["REFRESH_ABSOLUTE_TTL zero", { REFRESH_ABSOLUTE_TTL: "0" }, "REFRESH_ABSOLUTE_TTL"],
    ["REFRESH_REUSE_GRACE not a number", { REFRESH_REUSE_GRACE: "ten" }, "REFRESH_REUSE_GRACE"],
    // Under two seconds every idle isolate would wait on the feed; over a minute, revocation would not be prompt.
    // The feed keeps each revocation for the longest access-token lifetime: a year of them would be unbounded.
    ["ACCESS_TOKEN_TTL over a day", { ACCESS_TOKEN_TTL: "86401" }, "ACCESS_TOKEN_TTL"],
    ["REVOCATION_FRESHNESS under 2", { REVOCATION_FRESHNESS: "1" }, "REVOCATION_FRESHNESS"],
    ["REVOCATION_FRESHNESS over 60", { REVOCATION_FRESHNESS: "61" }, "REVOCATION_FRESHNESS"],
    ["ALLOWED_ORIGINS a wildcard", { ALLOWED_ORIGINS: "*" }, "ALLOWED_ORIGINS"],
    ["ALLOWED_ORIGINS not a URL", { ALLOWED_ORIGINS: "app.example.com" }, "ALLOWED_ORIGINS"],
    ["ALLOWED_ORIGINS with a path", { ALLOWED_ORIGINS: "https://app.example.com/login" }, "ALLOWED_ORIGINS"],
    ["ARGON2_MEMORY_KIB below the minimum", { ARGON2_MEMORY_KIB: "7" }, "ARGON2_MEMORY_KIB"],
    ["ARGON2_MEMORY_KIB above the isolate budget", { ARGON2_MEMORY_KIB: "131072" }, "ARGON2_MEMORY_KIB"],
    [
      "ARGON2_MEMORY_KIB one KiB under the OWASP minimum for 2 passes",
      { ARGON2_MEMORY_KIB: "19455" },
      "ARGON2_MEMORY_KIB",
    ],
    [
      "ARGON2_MEMORY_KIB under the OWASP minimum for 1 pass",
      { ARGON2_MEMORY_KIB: "19456", ARGON2_ITERATIONS: "1" },
      "ARGON2_MEMORY_KIB",
    ],
    [
      "ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY neither true nor false",
      { ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: "yes" },
      "ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY",
    ],
    ["MAX_SESSIONS_PER_USER zero", { MAX_SESSIONS_PER_USER: "0" }, "MAX_SESSIONS_PER_USER"],
    ["ARGON2_ITERATIONS zero", { ARGON2_ITERATIONS: "0" }, "ARGON2_ITERATIONS"],
    ["ARGON2_ITERATIONS not a number", { ARGON2_ITERATIONS: "two" }, "ARGON2_ITERATIONS"],
    ["ARGON2_PARALLELISM too high", { ARGON2_PARALLELISM: "5" }, "ARGON2_PARALLELISM"],
    ["LOGIN_MAX_FAILURES zero", { LOGIN_MAX_FAILURES: "0" }, "LOGIN_MAX_FAILURES"],
    ["PWNED_PASSWORDS_URL not a URL", { PWNED_PASSWORDS_URL: "api.pwnedpasswords.com/range" }, "PWNED_PASSWORDS_URL"],
    ["PWNED_PASSWORDS_URL not http(s)", { PWNED_PASSWORDS_URL: "ftp://example.com/range/" }, "PWNED_PASSWORDS_URL"],
    ["REQUIRE_VERIFIED_EMAIL neither true nor false", { REQUIRE_VERIFIED_EMAIL: "yes" }, "REQUIRE_VERIFIED_EMAIL"],
    ["APP_URL not http(s): every mailed link would be broken", { APP_URL: "javascript:alert(1)" }, "APP_URL"],
    ["MAIL_FROM not an address", { MAIL_FROM: "SecureAuth" }, "MAIL_FROM"],
    ["REDIRECT_URLS not a URL", { REDIRECT_URLS: "app.example.com/callback" }, "REDIRECT_URLS"],
    [
      "REDIRECT_URLS with a query: the rule is exact URLs",
      { REDIRECT_URLS: "https://app.example.com/cb?next=1" },
      "REDIRECT_URLS",
    ],
    ["REDIRECT_URLS with a fragment", { REDIRECT_URLS: "https://app.example.com/cb#x" }, "REDIRECT_URLS"],
    ["REDIRECT_URLS plain http off a loopback host", { REDIRECT_URLS: "http://app.example.com/cb" }, "REDIRECT_URLS"],
    ["REDIRECT_URLS with credentials", { REDIRECT_URLS: "https://u:p@app.example.com/cb" }, "REDIRECT_URLS"],
    ["EMAIL_SIGN_IN neither true nor false", { EMAIL_SIGN_IN: "yes" }, "EMAIL_SIGN_IN"],
    ["EMAIL_SIGN_UP neither true nor false", { EMAIL_SIGN_UP: "no" }, "EMAIL_SIGN_UP"],
    ["MAIL_FROM with a header injected", { MAIL_FROM: "a@example.com\r\nBcc: victim@example.com" }, "MAIL_FROM"],
    ["SMTP_URL not smtp(s)", { SMTP_URL: "http://smtp.example.com" }, "SMTP_URL"],
    [
      "ORG_PERMISSIONS naming a global permission: an organization of one's own would grant it everywhere",
      { ORG_PERMISSIONS: "projects:write,users:write" },
      "ORG_PERMISSIONS",
    ],
    ["ORG_PERMISSIONS naming a service organization permission", { ORG_PERMISSIONS: "org:delete" }, "ORG_PERMISSIONS"],
    [
      "ORG_PERMISSIONS with a name that would corrupt a header",
      { ORG_PERMISSIONS: "projects:write\r\nX-Auth-User-Id: x" },
      "ORG_PERMISSIONS",
    ],
    ["MAX_ORGS_PER_USER zero", { MAX_ORGS_PER_USER: "0" }, "MAX_ORGS_PER_USER"],
    ["MAX_PENDING_INVITATIONS not a number", { MAX_PENDING_INVITATIONS: "many" }, "MAX_PENDING_INVITATIONS"],
    [
      "SMTP_URL and RESEND_API_KEY both set",
      { SMTP_URL: "smtp://smtp.example.com", RESEND_API_KEY: "re_test" },
      "SMTP_URL",
    ],
  ];

  it.each(cases)("%s", (_name, overrides, variable) => {
    const error = configErrorOf(overrides);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it("never puts a secret's value in the message", () => {
    const error = configErrorOf({ REFRESH_TOKEN_SECRET: "tooShortSecretValue" });
    expect(error.message).not.toContain("tooShortSecretValue");
    expect(configErrorOf({ REFRESH_TOKEN_PREVIOUS_SECRET: "tooShortPreviousValue" }).message).not.toContain(
      "tooShortPreviousValue",
    );
    const keys = configErrorOf({ JWT_SIGNING_KEYS: JSON.stringify([{ ...KEY, kid: undefined }]) });
    expect(keys.message).not.toContain(KEY!.d);
  });
});

describe("sign-in providers", () => {
  const google = { GOOGLE_CLIENT_ID: "id.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET: "secret" };
  const oidc = (entry: Record<string, unknown>) =>
    JSON.stringify([{ id: "acme", name: "Acme", issuer: "https://sso.acme.example", clientId: "c", ...entry }]);

  it("turns a built-in provider on when configured, trusted for email, its issuer the real one", () => {
    const config = parseConfig(minimalEnv({ ...google, PUBLIC_URL: "https://auth.example.com/" }));
    expect(config.federation.publicUrl).toBe("https://auth.example.com");
    expect(config.federation.providers).toEqual([
      expect.objectContaining({ id: "google", kind: "oidc", issuer: "https://accounts.google.com", trustEmail: true }),
    ]);
  });

  it("lists the operator's OpenID providers, not trusted for email unless they say so", () => {
    const config = parseConfig(minimalEnv({ OIDC_PROVIDERS: oidc({}) }));
    expect(config.federation.providers).toEqual([
      expect.objectContaining({
        id: "acme",
        quirks: "generic",
        trustEmail: false,
        scopes: ["openid", "email", "profile"],
      }),
    ]);
  });

  it.each([
    ["a half-configured built-in provider", { GOOGLE_CLIENT_ID: "id" }, "GOOGLE_CLIENT_SECRET"],
    ["a provider without PUBLIC_URL on a public host", { ...google, APP_URL: "https://app.example.com" }, "PUBLIC_URL"],
    ["an http: issuer off loopback", { OIDC_PROVIDERS: oidc({ issuer: "http://sso.acme.example" }) }, "OIDC_PROVIDERS"],
    ["an OpenID provider taking a built-in's id", { OIDC_PROVIDERS: oidc({ id: "google" }) }, "OIDC_PROVIDERS"],
    ["an OpenID provider named complete", { OIDC_PROVIDERS: oidc({ id: "complete" }) }, "OIDC_PROVIDERS"],
    ["a redirect URL with a query", { REDIRECT_URLS: "https://app.example.com/cb?x=1" }, "REDIRECT_URLS"],
    ["an http: redirect URL off loopback", { REDIRECT_URLS: "http://app.example.com/cb" }, "REDIRECT_URLS"],
    [
      "the test-only endpoint override pointing off loopback (a deployment)",
      { OAUTH_ENDPOINTS_FOR_TESTS_ONLY: JSON.stringify({ google: "https://evil.example" }) },
      "OAUTH_ENDPOINTS_FOR_TESTS_ONLY",
    ],
  ])("refuses %s", (_name, overrides, variable) => {
    expect(configErrorOf(overrides).variable).toBe(variable);
  });

  it("accepts the test-only endpoint override on loopback hosts only", () => {
    const config = parseConfig(
      minimalEnv({
        ...google,
        OAUTH_ENDPOINTS_FOR_TESTS_ONLY: JSON.stringify({ google: "http://127.0.0.1:9/google" }),
      }),
    );
    expect(config.federation.providers[0]!.issuer).toBe("http://127.0.0.1:9/google");
  });
});
