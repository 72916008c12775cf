// Typed configuration, read from the Worker `env` through this one function
// and validated once per env object. A missing or malformed variable throws a
// ConfigError naming it, so the service refuses every request rather than
// half-working.
import { ConfigError } from "./core/errors";
import { ARGON2_LIMITS } from "./features/accounts/passwords/phc";
import type { MailJob } from "./features/mail/store";

export type Env = {
  DATABASE_URL: string;
  /** Set locally and in tests only: the WebSocket-to-TCP proxy for a plain Postgres. */
  PG_WS_PROXY?: string;
  /**
   * JSON array of Ed25519 JWKs, newest first: the first is private and signs;
   * the others verify, as private JWKs or, for retired keys, public ones.
   */
  JWT_SIGNING_KEYS: string;
  REFRESH_TOKEN_SECRET: string;
  /** The secret before the last change of REFRESH_TOKEN_SECRET: tokens it tagged are still accepted. */
  REFRESH_TOKEN_PREVIOUS_SECRET?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  ACCESS_TOKEN_TTL?: string;
  REFRESH_IDLE_TTL?: string;
  REFRESH_ABSOLUTE_TTL?: string;
  REFRESH_REUSE_GRACE?: string;
  ALLOWED_ORIGINS?: string;
  ARGON2_MEMORY_KIB?: string;
  ARGON2_ITERATIONS?: string;
  ARGON2_PARALLELISM?: string;
  /** "true" lets argon2 run below the OWASP minimum. For test suites only, never in a deployment. */
  ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY?: string;
  LOGIN_MAX_FAILURES?: string;
  MAX_SESSIONS_PER_USER?: string;
  PWNED_PASSWORDS_URL?: string;
  /** "true": register opens no session, and login and refresh refuse an account until its email is verified. */
  REQUIRE_VERIFIED_EMAIL?: string;
  /** The base of every link the service mails (`APP_URL/verify-email?token=...`): the app's pages post the token back. */
  APP_URL?: string;
  /** The sender of every mail, `Name <address>` or a bare address. */
  MAIL_FROM?: string;
  /** `smtp://` or `smtps://user:pass@host:port`: send over SMTP (STARTTLS when the server offers it). */
  SMTP_URL?: string;
  /** Send through Resend's HTTP API instead of SMTP. */
  RESEND_API_KEY?: string;
  /** The base URL of a Resend-shaped email API (default https://api.resend.com). */
  RESEND_API_URL?: string;
  /** base64 of 32 random bytes: the AES-GCM key TOTP secrets are encrypted with at rest. Without it, TOTP cannot be enrolled or checked. */
  MFA_ENCRYPTION_KEY?: string;
  /** Seconds a session's last proof of a credential counts as recent for the operations that need one (default 600). */
  REAUTH_MAX_AGE?: string;
  /** The WebAuthn relying party id: the registrable domain passkeys are bound to (default: APP_URL's host). */
  WEBAUTHN_RP_ID?: string;
  /** The relying party name authenticators show (default "SecureAuth"). */
  WEBAUTHN_RP_NAME?: string;
  /** Comma-separated origins WebAuthn ceremonies may come from (default: APP_URL's origin). */
  WEBAUTHN_ORIGINS?: string;
  REVOKED_SESSIONS: KVNamespace;
  /** Account lifecycle mail: the request enqueues, the queue consumer sends. */
  MAIL_QUEUE?: Queue<MailJob>;
  /** Per client network (IPv4 address, IPv6 /64) on the credential endpoints. */
  AUTH_IP_RATE_LIMITER?: RateLimit;
  /** Per normalised email on register. */
  AUTH_EMAIL_RATE_LIMITER?: RateLimit;
  /** Per session on refresh. */
  AUTH_REFRESH_RATE_LIMITER?: RateLimit;
};

/** A key that may sign: a private Ed25519 JWK. */
export type SigningJwk = JsonWebKey & { kid: string; crv: "Ed25519"; kty: "OKP"; d: string; x: string };
/** A retired key that only verifies: a public Ed25519 JWK (an operator cannot read a secret back, so this is what rotation keeps). */
export type VerifyingJwk = JsonWebKey & { kid: string; crv: "Ed25519"; kty: "OKP"; x: string; d?: undefined };

export type Config = {
  databaseUrl: string;
  pgWsProxy: string | undefined;
  /** The first signs; all verify and are published. */
  signingKeys: [SigningJwk, ...(SigningJwk | VerifyingJwk)[]];
  refreshTokenSecret: string;
  refreshTokenPreviousSecret: string | undefined;
  issuer: string;
  audience: string;
  /** Seconds. */
  accessTokenTtl: number;
  refreshIdleTtl: number;
  refreshAbsoluteTtl: number;
  refreshReuseGrace: number;
  allowedOrigins: string[];
  argon2: { memoryKib: number; iterations: number; parallelism: number };
  /** Failed logins on one account before exponential back-off starts. */
  loginMaxFailures: number;
  /** Live sessions a user may hold; a sign-in beyond it ends the least recently used one. */
  maxSessionsPerUser: number;
  /** k-anonymity range API for breached passwords; off when unset. */
  pwnedPasswordsUrl: string | undefined;
  requireVerifiedEmail: boolean;
  mail: MailSettings;
  mfa: MfaSettings;
};

export type MfaSettings = {
  /** The 32-byte AES-GCM key for TOTP secrets; undefined: TOTP is unavailable. */
  encryptionKey: Uint8Array | undefined;
  /** Seconds. */
  reauthMaxAge: number;
  webauthn: { rpId: string; rpName: string; origins: string[] };
};

/** How mail leaves the service: at most one transport; none configured means mail is not sent (and says so in the log). */
export type MailTransportSettings = { kind: "smtp"; url: URL } | { kind: "resend"; apiKey: string; apiUrl: string };

export type MailSettings = {
  appUrl: string;
  from: string;
  transport: MailTransportSettings | undefined;
};

export const DEFAULTS = {
  JWT_ISSUER: "https://auth.secureauth.dev",
  JWT_AUDIENCE: "secureauth",
  ACCESS_TOKEN_TTL: 600,
  REFRESH_IDLE_TTL: 7 * 24 * 3600,
  REFRESH_ABSOLUTE_TTL: 30 * 24 * 3600,
  REFRESH_REUSE_GRACE: 10,
  ARGON2_MEMORY_KIB: 19456,
  ARGON2_ITERATIONS: 2,
  ARGON2_PARALLELISM: 1,
  LOGIN_MAX_FAILURES: 5,
  MAX_SESSIONS_PER_USER: 50,
  APP_URL: "http://localhost:8787",
  MAIL_FROM: "SecureAuth <no-reply@localhost>",
  RESEND_API_URL: "https://api.resend.com",
  REAUTH_MAX_AGE: 600,
  WEBAUTHN_RP_NAME: "SecureAuth",
} as const;

/**
 * OWASP's argon2id parameter sets (Password Storage Cheat Sheet), each of
 * equal strength: the least memory, in KiB, for a number of passes (p=1).
 * More passes than the table lists need no more memory than its last row.
 */
const OWASP_ARGON2_MIN_MEMORY_KIB: readonly (readonly [iterations: number, memoryKib: number])[] = [
  [1, 47104],
  [2, 19456],
  [3, 12288],
  [4, 9216],
  [5, 7168],
];

const cache = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const config = parseConfig(env);
  cache.set(env, config);
  return config;
}

export function parseConfig(env: Env): Config {
  const databaseUrl = required(env, "DATABASE_URL");
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError("DATABASE_URL", "must be a postgres:// URL");
  if (!env.REVOKED_SESSIONS) throw new ConfigError("REVOKED_SESSIONS", "KV namespace binding is missing");

  const refreshTokenSecret = required(env, "REFRESH_TOKEN_SECRET");
  if (refreshTokenSecret.length < 32) throw new ConfigError("REFRESH_TOKEN_SECRET", "must be at least 32 characters");
  const refreshTokenPreviousSecret = optional(env.REFRESH_TOKEN_PREVIOUS_SECRET);
  if (refreshTokenPreviousSecret !== undefined && refreshTokenPreviousSecret.length < 32) {
    throw new ConfigError("REFRESH_TOKEN_PREVIOUS_SECRET", "must be at least 32 characters when set");
  }

  const idle = seconds(env, "REFRESH_IDLE_TTL", DEFAULTS.REFRESH_IDLE_TTL);
  const absolute = seconds(env, "REFRESH_ABSOLUTE_TTL", DEFAULTS.REFRESH_ABSOLUTE_TTL);
  if (idle > absolute) throw new ConfigError("REFRESH_IDLE_TTL", "must not exceed REFRESH_ABSOLUTE_TTL");

  const mail = parseMail(env);
  return {
    databaseUrl,
    pgWsProxy: optional(env.PG_WS_PROXY),
    signingKeys: parseSigningKeys(required(env, "JWT_SIGNING_KEYS")),
    refreshTokenSecret,
    refreshTokenPreviousSecret,
    issuer: optional(env.JWT_ISSUER) ?? DEFAULTS.JWT_ISSUER,
    audience: optional(env.JWT_AUDIENCE) ?? DEFAULTS.JWT_AUDIENCE,
    accessTokenTtl: seconds(env, "ACCESS_TOKEN_TTL", DEFAULTS.ACCESS_TOKEN_TTL),
    refreshIdleTtl: idle,
    refreshAbsoluteTtl: absolute,
    refreshReuseGrace: seconds(env, "REFRESH_REUSE_GRACE", DEFAULTS.REFRESH_REUSE_GRACE, 0),
    allowedOrigins: parseOrigins(env.ALLOWED_ORIGINS ?? ""),
    argon2: parseArgon2(env),
    loginMaxFailures: integer(env, "LOGIN_MAX_FAILURES", DEFAULTS.LOGIN_MAX_FAILURES, 1, 1000),
    maxSessionsPerUser: integer(env, "MAX_SESSIONS_PER_USER", DEFAULTS.MAX_SESSIONS_PER_USER, 1, 1000),
    pwnedPasswordsUrl: httpUrl(env, "PWNED_PASSWORDS_URL"),
    requireVerifiedEmail: flag(env, "REQUIRE_VERIFIED_EMAIL"),
    mail,
    mfa: parseMfa(env, mail.appUrl),
  };
}

function parseMfa(env: Env, appUrl: string): MfaSettings {
  const rawKey = optional(env.MFA_ENCRYPTION_KEY);
  let encryptionKey: Uint8Array | undefined;
  if (rawKey !== undefined) {
    try {
      encryptionKey = Uint8Array.from(atob(rawKey.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    } catch {
      throw new ConfigError("MFA_ENCRYPTION_KEY", "must be base64 of 32 random bytes");
    }
    if (encryptionKey.length !== 32) throw new ConfigError("MFA_ENCRYPTION_KEY", "must be base64 of 32 random bytes");
  }
  const app = new URL(appUrl);
  const rpId = optional(env.WEBAUTHN_RP_ID)?.toLowerCase() ?? app.hostname;
  if (!/^[a-z0-9.-]+$/.test(rpId)) throw new ConfigError("WEBAUTHN_RP_ID", "must be a domain name like example.com");
  const origins =
    env.WEBAUTHN_ORIGINS !== undefined && optional(env.WEBAUTHN_ORIGINS)
      ? parseOrigins(env.WEBAUTHN_ORIGINS, "WEBAUTHN_ORIGINS")
      : [app.origin];
  for (const origin of origins) {
    const host = new URL(origin).hostname;
    if (host !== rpId && !host.endsWith(`.${rpId}`))
      throw new ConfigError("WEBAUTHN_ORIGINS", `${origin} is not on WEBAUTHN_RP_ID ${rpId} or a subdomain of it`);
  }
  return {
    encryptionKey,
    reauthMaxAge: seconds(env, "REAUTH_MAX_AGE", DEFAULTS.REAUTH_MAX_AGE),
    webauthn: { rpId, rpName: optional(env.WEBAUTHN_RP_NAME) ?? DEFAULTS.WEBAUTHN_RP_NAME, origins },
  };
}

function flag(env: Env, name: "REQUIRE_VERIFIED_EMAIL" | "ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY"): boolean {
  const raw = optional(env[name]);
  if (raw !== undefined && raw !== "true" && raw !== "false") throw new ConfigError(name, 'must be "true" or "false"');
  return raw === "true";
}

function parseMail(env: Env): MailSettings {
  const appUrl = (httpUrl(env, "APP_URL") ?? DEFAULTS.APP_URL).replace(/\/+$/, "");
  const from = optional(env.MAIL_FROM) ?? DEFAULTS.MAIL_FROM;
  if (!/^([^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/.test(from)) {
    throw new ConfigError("MAIL_FROM", "must be an address or `Name <address>`");
  }
  const smtp = optional(env.SMTP_URL);
  const resendKey = optional(env.RESEND_API_KEY);
  if (smtp !== undefined && resendKey !== undefined)
    throw new ConfigError("SMTP_URL", "and RESEND_API_KEY are both set: choose one transport");
  let transport: MailTransportSettings | undefined;
  if (smtp !== undefined) {
    let url: URL;
    try {
      url = new URL(smtp);
    } catch {
      throw new ConfigError("SMTP_URL", "must be an smtp:// or smtps:// URL");
    }
    if ((url.protocol !== "smtp:" && url.protocol !== "smtps:") || !url.hostname)
      throw new ConfigError("SMTP_URL", "must be an smtp:// or smtps:// URL");
    transport = { kind: "smtp", url };
  } else if (resendKey !== undefined) {
    transport = {
      kind: "resend",
      apiKey: resendKey,
      apiUrl: (httpUrl(env, "RESEND_API_URL") ?? DEFAULTS.RESEND_API_URL).replace(/\/+$/, ""),
    };
  }
  return { appUrl, from, transport };
}

/** argon2id within what a stored hash may ask for, and at least OWASP's minimum unless a test suite says otherwise. */
function parseArgon2(env: Env): Config["argon2"] {
  const params = {
    memoryKib: integer(
      env,
      "ARGON2_MEMORY_KIB",
      DEFAULTS.ARGON2_MEMORY_KIB,
      ARGON2_LIMITS.memoryKib.min,
      ARGON2_LIMITS.memoryKib.max,
    ),
    iterations: integer(
      env,
      "ARGON2_ITERATIONS",
      DEFAULTS.ARGON2_ITERATIONS,
      ARGON2_LIMITS.iterations.min,
      ARGON2_LIMITS.iterations.max,
    ),
    parallelism: integer(
      env,
      "ARGON2_PARALLELISM",
      DEFAULTS.ARGON2_PARALLELISM,
      ARGON2_LIMITS.parallelism.min,
      ARGON2_LIMITS.parallelism.max,
    ),
  };
  const weakAllowed = flag(env, "ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY");
  const [, minimum] = OWASP_ARGON2_MIN_MEMORY_KIB.find(([passes]) => passes === Math.min(params.iterations, 5))!;
  if (!weakAllowed && params.memoryKib < minimum) {
    throw new ConfigError(
      "ARGON2_MEMORY_KIB",
      `must be at least ${minimum} with ARGON2_ITERATIONS=${params.iterations} (the OWASP minimum for argon2id)`,
    );
  }
  return params;
}

/** An optional http(s) URL: a typo must not silently turn a check off. */
function httpUrl(env: Env, name: "PWNED_PASSWORDS_URL" | "APP_URL" | "RESEND_API_URL"): string | undefined {
  const raw = optional(env[name]);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, "must be an http(s) URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(name, "must be an http(s) URL");
  return raw;
}

function optional(value: string | undefined): string | undefined {
  // wrangler.toml [vars] may hold a bare number (ACCESS_TOKEN_TTL = 600): accept
  // it as its text rather than failing on .trim().
  const text: unknown = typeof value === "number" ? String(value) : value;
  const trimmed = typeof text === "string" ? text.trim() : undefined;
  return trimmed ? trimmed : undefined;
}

function required(env: Env, name: "DATABASE_URL" | "JWT_SIGNING_KEYS" | "REFRESH_TOKEN_SECRET"): string {
  const value = optional(env[name]);
  if (value === undefined) throw new ConfigError(name, "is not set");
  return value;
}

type NumericVar =
  | "ACCESS_TOKEN_TTL"
  | "REFRESH_IDLE_TTL"
  | "REFRESH_ABSOLUTE_TTL"
  | "REFRESH_REUSE_GRACE"
  | "ARGON2_MEMORY_KIB"
  | "ARGON2_ITERATIONS"
  | "ARGON2_PARALLELISM"
  | "LOGIN_MAX_FAILURES"
  | "MAX_SESSIONS_PER_USER"
  | "REAUTH_MAX_AGE";

function integer(env: Env, name: NumericVar, fallback: number, min: number, max: number): number {
  const raw = optional(env[name]);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, "must be a whole number");
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}`);
  return value;
}

function seconds(env: Env, name: NumericVar, fallback: number, min = 1): number {
  return integer(env, name, fallback, min, 366 * 24 * 3600);
}

function parseOrigins(raw: string, name: "ALLOWED_ORIGINS" | "WEBAUTHN_ORIGINS" = "ALLOWED_ORIGINS"): string[] {
  return raw
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean)
    .map((origin) => {
      if (origin === "*") throw new ConfigError(name, "must list exact origins, not *");
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(name, `has an entry that is not an origin: ${origin}`);
      }
      if (url.origin !== origin.replace(/\/$/, "")) {
        throw new ConfigError(name, `entries must be bare origins like https://app.example.com: ${origin}`);
      }
      return url.origin;
    });
}

function parseSigningKeys(raw: string): Config["signingKeys"] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError("JWT_SIGNING_KEYS", "is not valid JSON (expected an array of JWKs, the first private)");
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError("JWT_SIGNING_KEYS", "must be a non-empty JSON array of JWKs, newest first");
  }
  const kids = new Set<string>();
  const keys = parsed.map((key: unknown, index) => {
    const jwk = key as Partial<SigningJwk> | null;
    if (
      !jwk ||
      typeof jwk !== "object" ||
      jwk.kty !== "OKP" ||
      jwk.crv !== "Ed25519" ||
      (jwk.d !== undefined && typeof jwk.d !== "string") ||
      typeof jwk.x !== "string" ||
      typeof jwk.kid !== "string" ||
      jwk.kid.length === 0
    ) {
      throw new ConfigError(
        "JWT_SIGNING_KEYS",
        `entry ${index} must be an Ed25519 JWK with kty, crv, x and kid (and d for a key that signs)`,
      );
    }
    if (kids.has(jwk.kid)) throw new ConfigError("JWT_SIGNING_KEYS", `has a duplicate kid at entry ${index}`);
    kids.add(jwk.kid);
    return jwk as SigningJwk | VerifyingJwk;
  });
  const [first, ...rest] = keys;
  if (first?.d === undefined)
    throw new ConfigError(
      "JWT_SIGNING_KEYS",
      "entry 0 signs, so it must be a private JWK (with d); retired public keys go after it",
    );
  return [first as SigningJwk, ...rest];
}
