// The typed configuration the code reads (Config) and the Worker env it is
// read from (Env), whose text variables are the schema's declarations.
import type { SigningKeys, Variables } from "./schema.ts";
import type { ProviderSettings } from "./providers.ts";

export type { ProviderSettings } from "./providers.ts";

export type { SigningJwk, VerifyingJwk } from "./schema.ts";

type RequiredVariable = {
  [K in keyof Variables]: Variables[K] extends { required: true } ? K : never;
}[keyof Variables];

/** The Worker's env: each text variable of the schema (see docs/configuration.md), and the bindings. */
export type Env = { [K in RequiredVariable]: string } & {
  [K in Exclude<keyof Variables, RequiredVariable>]?: string;
} & {
  /** The revocation feed (the RevocationFeed Durable Object). */
  REVOCATION_FEED: DurableObjectNamespace;
  /** Account lifecycle mail: the request enqueues, the queue consumer sends. */
  /** The mail queue; its messages are the mail feature's MailJob. */
  MAIL_QUEUE?: Queue<unknown>;
  /** Per client network (IPv4 address, IPv6 /64) on the credential endpoints. */
  AUTH_IP_RATE_LIMITER?: RateLimit;
  /** Per normalised email on register. */
  AUTH_EMAIL_RATE_LIMITER?: RateLimit;
  /** Per session on refresh. */
  AUTH_REFRESH_RATE_LIMITER?: RateLimit;
};

export type Config = {
  databaseUrl: string;
  pgWsProxy: string | undefined;
  /** The first signs; all verify and are published. */
  signingKeys: SigningKeys;
  refreshTokenSecret: string;
  refreshTokenPreviousSecret: string | undefined;
  issuer: string;
  audience: string;
  /** Seconds. */
  accessTokenTtl: number;
  refreshIdleTtl: number;
  refreshAbsoluteTtl: number;
  refreshReuseGrace: number;
  /** Seconds: past it, a verify waits for a fresh copy of the revocation feed. */
  revocationFreshness: number;
  allowedOrigins: string[];
  argon2: { memoryKib: number; iterations: number; parallelism: number };
  /** Failed logins on one account before exponential back-off starts. */
  loginMaxFailures: number;
  /** Live sessions a user may hold; a sign-in beyond it ends the least recently used one. */
  maxSessionsPerUser: number;
  organizations: {
    /** Every organization permission: the service's own, then the application's (`ORG_PERMISSIONS`). */
    permissions: string[];
    /** Memberships a user may hold (`MAX_ORGS_PER_USER`). */
    maxPerUser: number;
    /** Pending invitations per organization (`MAX_PENDING_INVITATIONS`). */
    maxPendingInvitations: number;
  };
  /** k-anonymity range API for breached passwords; off when unset. */
  pwnedPasswordsUrl: string | undefined;
  requireVerifiedEmail: boolean;
  /** The exact URLs (as `URL.href`) a browser may be sent back to. */
  redirectUrls: string[];
  emailSignIn: { enabled: boolean; signUp: boolean };
  mail: MailSettings;
  mfa: MfaSettings;
  federation: FederationSettings;
  /** What the hosted pages and the mails show: BRAND_NAME, BRAND_LOGO_URL, BRAND_COLOR. */
  brand: Brand;
};

export type FederationSettings = {
  /** The service's public origin (callbacks); undefined: the request's own, on loopback hosts only. */
  publicUrl: string | undefined;
  /** Every URL a browser may be sent back to, exactly. */
  redirectUrls: string[];
  /** The configured providers, built-ins first. */
  providers: ProviderSettings[];
};

export type Brand = { name: string; logoUrl: string | undefined; color: string };

export type MfaSettings = {
  /** The 32-byte AES-GCM key for TOTP secrets; undefined: TOTP is unavailable. */
  encryptionKey: Uint8Array | undefined;
  /** Seconds. */
  reauthMaxAge: number;
  webauthn: { rpId: string; rpName: string; origins: string[] };
};

/** How mail leaves the service: at most one transport; none configured means mail is not sent (and says so). */
export type MailTransportSettings = { kind: "smtp"; url: URL } | { kind: "resend"; apiKey: string; apiUrl: string };

export type MailSettings = {
  appUrl: string;
  from: string;
  transport: MailTransportSettings | undefined;
};
