// Every configuration variable the Worker reads, declared once: its parser
// (zod, from the text the Worker's env holds to the value the code uses, with
// the error message for each way it can be wrong), its default, its bounds,
// whether it is a secret, and the line of documentation the reference table
// in docs/configuration.md is generated from (`npm run docs:config`).
//
// Node runs this file as it is (`npm run dev` validates the Worker's env with
// it, the docs generator reads it), so it imports only packages and `.ts`
// paths, and uses only TypeScript that type stripping erases.
import { z } from "zod";
import { ARGON2_LIMITS } from "../argon2-limits.ts";
import { GLOBAL_PERMISSIONS, ORG_PERMISSIONS, PERMISSION_NAME } from "../permissions.ts";
import { checkedList, commaList, oidcProviders, redirectUrls, testEndpoints } from "./providers.ts";

/** What `npm run dev` writes into `.dev.vars` when the variable is missing there. */
export type DevValue = "signing-key" | "random-secret" | "encryption-key";

/** One variable: parsed from its trimmed, non-blank text; blank or absent means the default. */
export type Declaration<T> = {
  /** One line for the reference table. */
  doc: string;
  /** From the text to the value; each issue's message completes "NAME ...". */
  schema: z.ZodType<T, string>;
  /** Set with `wrangler secret put`, never in wrangler.toml; never echoed in an error. */
  secret?: true;
  /** No default: unset is an error ("is not set"). */
  required?: true;
  /** The value when unset. */
  default?: T;
  /** How the table shows the default when it is not a literal (derived, or off). */
  shownDefault?: string;
  /** What it accepts, for the table. */
  accepts: string;
  dev?: DevValue;
};

const YEAR_SECONDS = 366 * 24 * 3600;

function wholeNumber(min: number, max: number): Pick<Declaration<number>, "schema" | "accepts"> {
  const bounds = `must be between ${min} and ${max}`;
  return {
    schema: z
      .string()
      .regex(/^\d+$/, "must be a whole number")
      .transform(Number)
      .pipe(z.number().min(min, bounds).max(max, bounds)),
    accepts: `whole number, ${min} to ${max}`,
  };
}

function seconds(min = 1): Pick<Declaration<number>, "schema" | "accepts"> {
  return { ...wholeNumber(min, YEAR_SECONDS), accepts: `seconds, ${min} to ${YEAR_SECONDS} (366 days)` };
}

const flag = {
  schema: z.enum(["true", "false"], 'must be "true" or "false"').transform((value) => value === "true"),
  accepts: "`true` or `false`",
} satisfies Pick<Declaration<boolean>, "schema" | "accepts">;

/** An http(s) URL: a typo must not silently turn a check off. */
function httpUrl(trimSlashes: boolean): Pick<Declaration<string>, "schema" | "accepts"> {
  return {
    schema: z
      .string()
      .refine((raw) => {
        const url = URL.parse(raw);
        return url?.protocol === "https:" || url?.protocol === "http:";
      }, "must be an http(s) URL")
      .transform((raw) => (trimSlashes ? raw.replace(/\/+$/, "") : raw)),
    accepts: "http(s) URL",
  };
}

/** ORG_PERMISSIONS: plain names, none of them a global permission. */
const orgPermissions = checkedList((name) => {
  if (!PERMISSION_NAME.test(name))
    return { problem: `entries must be plain permission names like projects:write: ${name}` };
  if ((GLOBAL_PERMISSIONS as readonly string[]).includes(name))
    return { problem: `${name} is a global permission; an organization permission must have a name of its own` };
  if ((ORG_PERMISSIONS as readonly string[]).includes(name))
    return { problem: `${name} is one of the service's own organization permissions already` };
  return { value: name };
}, "comma-separated permission names");

const origins = checkedList((origin) => {
  if (origin === "*") return { problem: "must list exact origins, not *" };
  const url = URL.parse(origin);
  if (!url) return { problem: `has an entry that is not an origin: ${origin}` };
  if (url.origin !== origin.replace(/\/$/, ""))
    return { problem: `entries must be bare origins like https://app.example.com: ${origin}` };
  return { value: url.origin };
}, "comma-separated origins (`https://app.example.com`)") satisfies Pick<Declaration<string[]>, "schema" | "accepts">;

/** Loopback hosts, where `http:` redirect URLs are accepted (a developer's machine, a native app's listener). */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

function atLeast(length: number, message: string): z.ZodType<string, string> {
  return z.string().min(length, message);
}

/** A key that may sign: a private Ed25519 JWK. */
export type SigningJwk = JsonWebKey & { kid: string; crv: "Ed25519"; kty: "OKP"; d: string; x: string };
/** A retired key that only verifies: a public Ed25519 JWK (an operator cannot read a secret back). */
export type VerifyingJwk = JsonWebKey & { kid: string; crv: "Ed25519"; kty: "OKP"; x: string; d?: undefined };
export type SigningKeys = [SigningJwk, ...(SigningJwk | VerifyingJwk)[]];

const signingKeys = z.string().transform((raw, ctx): SigningKeys => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return fail("is not valid JSON (expected an array of JWKs, the first private)");
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return fail("must be a non-empty JSON array of JWKs, newest first");
  }
  const kids = new Set<string>();
  const keys: (SigningJwk | VerifyingJwk)[] = [];
  for (const [index, key] of parsed.entries()) {
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
      return fail(`entry ${index} must be an Ed25519 JWK with kty, crv, x and kid (and d for a key that signs)`);
    }
    if (kids.has(jwk.kid)) return fail(`has a duplicate kid at entry ${index}`);
    kids.add(jwk.kid);
    keys.push(jwk as SigningJwk | VerifyingJwk);
  }
  const [first, ...rest] = keys;
  if (first?.d === undefined) {
    return fail("entry 0 signs, so it must be a private JWK (with d); retired public keys go after it");
  }
  return [first as SigningJwk, ...rest];
});

const encryptionKey = z.string().transform((raw, ctx) => {
  let key: Uint8Array | undefined;
  try {
    key = Uint8Array.from(atob(raw.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  } catch {}
  if (key?.length !== 32) {
    ctx.addIssue({ code: "custom", message: "must be base64 of 32 random bytes" });
    return z.NEVER;
  }
  return key;
});

const smtpUrl = z.string().transform((raw, ctx) => {
  const url = URL.parse(raw);
  if (!url || (url.protocol !== "smtp:" && url.protocol !== "smtps:") || !url.hostname) {
    ctx.addIssue({ code: "custom", message: "must be an smtp:// or smtps:// URL" });
    return z.NEVER;
  }
  return url;
});

/**
 * The variables, in the order the reference table lists them (and the order
 * they are checked in: the first problem found is the one reported).
 */
export const VARIABLES = {
  DATABASE_URL: {
    doc: "The Postgres connection string (Neon in production); `npm run dev` sets it.",
    schema: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
    accepts: "`postgres://` URL",
    secret: true,
    required: true,
  },
  JWT_SIGNING_KEYS: {
    doc:
      "JSON array of Ed25519 JWKs, each with a unique `kid`, newest first: the first is private and signs; " +
      "all verify (retired keys as public JWKs) and are published at `/.well-known/jwks.json`.",
    schema: signingKeys,
    accepts: "JSON array of Ed25519 JWKs",
    secret: true,
    required: true,
    dev: "signing-key",
  },
  REFRESH_TOKEN_SECRET: {
    doc:
      "Keys the HMAC that derives each refresh token's successor and the tag that refuses a forged token " +
      "before any database query.",
    schema: atLeast(32, "must be at least 32 characters"),
    accepts: "at least 32 characters",
    secret: true,
    required: true,
    dev: "random-secret",
  },
  REFRESH_TOKEN_PREVIOUS_SECRET: {
    doc: "The secret before the last change of `REFRESH_TOKEN_SECRET`: refresh tokens it tagged keep working.",
    schema: atLeast(32, "must be at least 32 characters when set"),
    accepts: "at least 32 characters",
    secret: true,
    shownDefault: "unset",
  },
  MFA_ENCRYPTION_KEY: {
    doc:
      "The AES-256-GCM key TOTP secrets are encrypted with at rest (`openssl rand -base64 32`); without it TOTP " +
      "answers `500 internal_error`. Changing it makes every enrolled TOTP secret unreadable.",
    schema: encryptionKey,
    accepts: "base64 of 32 bytes",
    secret: true,
    shownDefault: "unset (TOTP unavailable)",
    dev: "encryption-key",
  },
  SMTP_URL: {
    doc:
      "Send mail over SMTP: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://...:465`, user and " +
      "password URL-encoded. At most one of this and `RESEND_API_KEY`; with neither, mail is not sent.",
    schema: smtpUrl,
    accepts: "`smtp://` or `smtps://` URL",
    secret: true,
    shownDefault: "unset",
  },
  RESEND_API_KEY: {
    doc: "Send mail through Resend's HTTP API (`POST /emails`) instead of SMTP.",
    schema: z.string(),
    accepts: "text",
    secret: true,
    shownDefault: "unset",
  },
  RESEND_API_URL: {
    doc: "The base URL of a Resend-shaped email API.",
    ...httpUrl(true),
    default: "https://api.resend.com",
  },
  JWT_ISSUER: {
    doc: "`iss` of access tokens, checked on verify.",
    schema: z.string(),
    accepts: "text",
    default: "https://auth.secureauth.dev",
  },
  JWT_AUDIENCE: {
    doc: "`aud` of access tokens, checked on verify.",
    schema: z.string(),
    accepts: "text",
    default: "secureauth",
  },
  ACCESS_TOKEN_TTL: {
    doc: "Access-token lifetime; at most a day, since the revocation feed keeps every revocation that long.",
    ...wholeNumber(1, 24 * 3600),
    accepts: "seconds, 1 to 86400 (a day)",
    default: 600,
  },
  REFRESH_IDLE_TTL: {
    doc: "A session ends after this long without a refresh; at most `REFRESH_ABSOLUTE_TTL`.",
    ...seconds(),
    default: 7 * 24 * 3600,
  },
  REFRESH_ABSOLUTE_TTL: {
    doc: "A session ends this long after sign-in, whatever happens.",
    ...seconds(),
    default: 30 * 24 * 3600,
  },
  REFRESH_REUSE_GRACE: {
    doc:
      "Seconds in which a just-rotated refresh token may be replayed (lost response, parallel tabs) and get the " +
      "same successor instead of counting as theft; `0` turns it off.",
    ...seconds(0),
    default: 10,
  },
  REVOCATION_FRESHNESS: {
    doc:
      "Seconds an isolate's copy of the revocation feed may answer before a verify waits for a fresh one (an " +
      "isolate that sat idle); copies in use are refreshed every second in the background.",
    ...wholeNumber(2, 60),
    accepts: "seconds, 2 to 60",
    default: 5,
  },
  ALLOWED_ORIGINS: {
    doc:
      "Exact origins allowed to call from a browser, with credentials (`*` is refused); " +
      "`/.well-known/jwks.json` alone is readable from any origin. The service's own origin (`PUBLIC_URL`'s, or " +
      "on a loopback host the request's), where its hosted pages run, needs no entry.",
    ...origins,
    default: [],
    shownDefault: "empty (no CORS)",
  },
  ARGON2_MEMORY_KIB: {
    doc: "argon2id memory in KiB; at least OWASP's minimum for the number of passes.",
    ...wholeNumber(ARGON2_LIMITS.memoryKib.min, ARGON2_LIMITS.memoryKib.max),
    default: 19456,
  },
  ARGON2_ITERATIONS: {
    doc: "argon2id passes.",
    ...wholeNumber(ARGON2_LIMITS.iterations.min, ARGON2_LIMITS.iterations.max),
    default: 2,
  },
  ARGON2_PARALLELISM: {
    doc: "argon2id lanes.",
    ...wholeNumber(ARGON2_LIMITS.parallelism.min, ARGON2_LIMITS.parallelism.max),
    default: 1,
  },
  ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: {
    doc: "`true` lets argon2id run below OWASP's minimum: for test suites only, never in a deployment.",
    ...flag,
    default: false,
  },
  LOGIN_MAX_FAILURES: {
    doc:
      "Sign-in attempts in one throttle bucket (an account's, a device's, a session's re-proofs) before it locks " +
      "for 15 s, doubling up to 15 min.",
    ...wholeNumber(1, 1000),
    default: 5,
  },
  MAX_SESSIONS_PER_USER: {
    doc: "Live sessions a user may hold: a sign-in beyond it ends the least recently used one.",
    ...wholeNumber(1, 1000),
    default: 50,
  },
  MAX_ORGS_PER_USER: {
    doc: "Organizations a user may belong to: creating or joining one more answers 409 `limit_reached`.",
    ...wholeNumber(1, 10000),
    default: 50,
  },
  MAX_PENDING_INVITATIONS: {
    doc: "Pending invitations an organization may have: one more answers 409 `limit_reached`.",
    ...wholeNumber(1, 10000),
    default: 100,
  },
  ORG_PERMISSIONS: {
    doc:
      "The application's own organization permissions (e.g. `projects:write`), added to the service's " +
      "(`org:read`, `members:invite`, ...): custom organization roles grant them, `owner` and `admin` hold them. A " +
      "name that is also a global permission is refused, so an organization's grant never satisfies a global check.",
    ...orgPermissions,
    default: [],
    shownDefault: "empty",
  },
  PWNED_PASSWORDS_URL: {
    doc:
      "Base URL of a breached-password range API in the HIBP format (`{url}/range/{prefix}`), e.g. " +
      "`https://api.pwnedpasswords.com`; fails open.",
    ...httpUrl(false),
    shownDefault: "unset (check off)",
  },
  REQUIRE_VERIFIED_EMAIL: {
    doc:
      "`true`: register opens no session, and sign-in and refresh of an account whose email is not verified " +
      "answer 403 `email_not_verified`.",
    ...flag,
    default: false,
  },
  APP_URL: {
    doc:
      "The base of every mailed link (`APP_URL/verify-email?token=...`); the service serves those pages itself " +
      "unless an app with its own pages sets its origin here.",
    ...httpUrl(true),
    default: "http://localhost:8787",
  },
  EMAIL_SIGN_IN: {
    doc:
      "`true`: sign-in by a mailed 6-digit code or magic link (`POST /auth/email/code`, `/auth/email/code/verify`, " +
      "the `/magic-link` page); `false`: those answer 404 as if absent.",
    ...flag,
    default: true,
  },
  EMAIL_SIGN_UP: {
    doc:
      "`true`: an email code to an address with no account creates the account when verified; `false`: such an " +
      "address is sent nothing (the request still answers 202).",
    ...flag,
    default: true,
  },
  BRAND_NAME: {
    doc: "The name the hosted pages and the mails show (their header, titles and signature).",
    schema: z.string().max(60, "must be at most 60 characters"),
    accepts: "text, at most 60 characters",
    default: "SecureAuth",
  },
  BRAND_LOGO_URL: {
    doc:
      "An image the hosted pages and the mails show beside the name; its origin is the only one the pages' CSP " +
      "allows images from.",
    ...httpUrl(false),
    shownDefault: "unset (the name alone)",
  },
  BRAND_COLOR: {
    doc:
      "The accent of the hosted pages and the mails' button, `#rrggbb`; the pages darken or lighten it until text " +
      "on it and it on the page meet WCAG AA in both themes.",
    schema: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "must be a colour like #2f5bd3")
      .transform((raw) => raw.toLowerCase()),
    accepts: "`#rrggbb`",
    default: "#2f5bd3",
  },
  MAIL_FROM: {
    doc: "The sender of every mail, `Name <address>` or an address your provider lets you send from.",
    schema: z
      .string()
      .regex(/^([^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/, "must be an address or `Name <address>`"),
    accepts: "`Name <address>` or an address",
    default: "SecureAuth <no-reply@localhost>",
  },
  REAUTH_MAX_AGE: {
    doc:
      "How long a session's last proof of a credential counts as recent for the operations that need one " +
      "(else 403 `reauthentication_required`).",
    ...seconds(),
    default: 600,
  },
  WEBAUTHN_RP_ID: {
    doc:
      "The WebAuthn relying party id: the domain passkeys are bound to (`example.com` serves its subdomains); " +
      "never an IP address.",
    schema: z
      .string()
      .transform((raw) => raw.toLowerCase())
      .pipe(z.string().regex(/^[a-z0-9.-]+$/, "must be a domain name like example.com")),
    accepts: "domain name",
    shownDefault: "`APP_URL`'s host",
  },
  WEBAUTHN_RP_NAME: {
    doc: "The name authenticators show, and the issuer in TOTP's `otpauth://` URI.",
    schema: z.string(),
    accepts: "text",
    default: "SecureAuth",
  },
  WEBAUTHN_ORIGINS: {
    doc: "Origins passkey ceremonies may come from, each on `WEBAUTHN_RP_ID` or a subdomain of it.",
    ...origins,
    shownDefault: "`APP_URL`'s origin",
  },
  PUBLIC_URL: {
    doc:
      "The service's public origin: provider callbacks are `PUBLIC_URL/auth/oauth/{id}/callback`, and the hosted " +
      "pages' cookie-mode calls from it pass the CSRF rule without it in `ALLOWED_ORIGINS`. Required once a " +
      "sign-in provider is configured, unless the service runs on a loopback host (then the request's origin).",
    ...httpUrl(true),
    shownDefault: "unset",
  },
  REDIRECT_URLS: {
    doc:
      "Every URL the service may send a browser back to (a provider sign-in's or link's `redirect_to` and " +
      "`redirectTo`, a magic link's `redirectTo`): each matched exactly (scheme, host, port, path); no query, no " +
      "fragment, https except loopback.",
    ...redirectUrls,
    default: [],
    shownDefault: "empty (provider sign-in off; magic links open `APP_URL/magic-link`)",
  },
  GOOGLE_CLIENT_ID: {
    doc: "Turns on Sign in with Google: the OAuth client id (Google Cloud console, a Web application client).",
    schema: z.string(),
    accepts: "text",
    shownDefault: "unset (off)",
  },
  GOOGLE_CLIENT_SECRET: {
    doc: "The Google OAuth client's secret; required with `GOOGLE_CLIENT_ID`.",
    schema: z.string(),
    accepts: "text",
    secret: true,
    shownDefault: "unset",
  },
  GOOGLE_NATIVE_CLIENT_IDS: {
    doc: "Client ids of your iOS and Android apps whose Google ID tokens `POST /auth/oauth/google/id-token` accepts.",
    ...commaList,
    shownDefault: "empty",
  },
  GITHUB_CLIENT_ID: {
    doc: "Turns on Sign in with GitHub: the OAuth app's client id.",
    schema: z.string(),
    accepts: "text",
    shownDefault: "unset (off)",
  },
  GITHUB_CLIENT_SECRET: {
    doc: "The GitHub OAuth app's client secret; required with `GITHUB_CLIENT_ID`.",
    schema: z.string(),
    accepts: "text",
    secret: true,
    shownDefault: "unset",
  },
  MICROSOFT_CLIENT_ID: {
    doc: "Turns on Sign in with Microsoft (any tenant and personal accounts): the app registration's client id.",
    schema: z.string(),
    accepts: "text",
    shownDefault: "unset (off)",
  },
  MICROSOFT_CLIENT_SECRET: {
    doc: "The Microsoft app registration's client secret; required with `MICROSOFT_CLIENT_ID`.",
    schema: z.string(),
    accepts: "text",
    secret: true,
    shownDefault: "unset",
  },
  APPLE_CLIENT_ID: {
    doc: "Turns on Sign in with Apple: the Services ID used on the web.",
    schema: z.string(),
    accepts: "text",
    shownDefault: "unset (off)",
  },
  APPLE_TEAM_ID: {
    doc: "Your Apple developer team id; the service mints Apple's client secret with it (required with Apple).",
    schema: z.string().regex(/^[A-Z0-9]{10}$/, "must be the 10-character team id"),
    accepts: "10 characters",
    shownDefault: "unset",
  },
  APPLE_KEY_ID: {
    doc: "The id of the Sign in with Apple key (required with Apple).",
    schema: z.string().regex(/^[A-Z0-9]{10}$/, "must be the 10-character key id"),
    accepts: "10 characters",
    shownDefault: "unset",
  },
  APPLE_PRIVATE_KEY: {
    doc:
      "The Sign in with Apple key's .p8 file (PKCS #8 PEM): the service signs and renews Apple's client secret " +
      "with it, so it never expires.",
    schema: z.string().refine((raw) => raw.includes("PRIVATE KEY"), "must be the .p8 file's PEM text"),
    accepts: "PEM",
    secret: true,
    shownDefault: "unset",
  },
  APPLE_NATIVE_CLIENT_IDS: {
    doc: "Bundle ids of your apps whose Apple ID tokens `POST /auth/oauth/apple/id-token` accepts.",
    ...commaList,
    shownDefault: "empty",
  },
  OIDC_PROVIDERS: {
    doc:
      "Any other OpenID Connect providers: a JSON array of `{id, name, issuer, clientId, clientSecret?, scopes?, " +
      "trustEmail?, nativeClientIds?}`; endpoints come from the issuer's discovery document.",
    ...oidcProviders,
    secret: true,
    shownDefault: "empty",
  },
  OAUTH_ENDPOINTS_FOR_TESTS_ONLY: {
    doc:
      "Test suites only, never in a deployment: a JSON object replacing a built-in provider's issuer or base URL " +
      "with a loopback one (a local stand-in); any other host is refused.",
    ...testEndpoints,
    shownDefault: "unset",
  },
  PG_WS_PROXY: {
    doc: "Local development and tests only: the WebSocket-to-TCP proxy for a plain Postgres; never in production.",
    schema: z.string(),
    accepts: "`ws://` URL",
    shownDefault: "unset",
  },
} as const satisfies Record<string, Declaration<unknown>>;

export type Variables = typeof VARIABLES;
export type VariableName = keyof Variables;

/** The bindings the configuration checks or documents (declared in wrangler.toml, not text). */
export const BINDINGS = {
  REVOCATION_FEED: {
    doc: "Durable Object namespace of the revocation feed (class `RevocationFeed`), checked by every verify; required.",
    required: true,
  },
  MAIL_QUEUE: { doc: "Queue of account mail: a request enqueues, this Worker's queue handler sends." },
  AUTH_IP_RATE_LIMITER: { doc: "Rate limit per client network (IPv4 address, IPv6 /64) on the credential routes." },
  AUTH_EMAIL_RATE_LIMITER: { doc: "Rate limit per normalised email on register and forgot-password." },
  AUTH_REFRESH_RATE_LIMITER: { doc: "Rate limit per session on refresh." },
} as const satisfies Record<string, { doc: string; required?: true }>;

export const VARIABLE_NAMES = Object.keys(VARIABLES) as VariableName[];

/** The text a variable holds, or undefined when it is absent or blank (wrangler.toml may hold a bare number). */
export function textOf(value: unknown): string | undefined {
  const text = typeof value === "number" ? String(value) : value;
  const trimmed = typeof text === "string" ? text.trim() : undefined;
  return trimmed ? trimmed : undefined;
}
