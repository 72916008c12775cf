// The domain types every feature shares: the user, how a session was proved,
// where a request came from, the audit row as read back, and keyset pages.
// Each feature's store port (features/<name>/store.ts, after OpenAuth's
// storage/storage.ts) speaks in these; its postgres.ts implements the port
// over Postgres and the unit tests' fakes in memory, so services never see
// Drizzle, the driver or a repository class.
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.

export type UserStatus = "active" | "disabled";

/** What an ended password is stored as: not a PHC string, so no password verifies against it. */
export const ENDED_PASSWORD_HASH = "!";

/** Whether the account can sign in with a password (false once a proof of the address ended it). */
export const hasPassword = (user: Pick<UserRecord, "passwordHash">): boolean =>
  user.passwordHash !== ENDED_PASSWORD_HASH;

export type UserRecord = {
  id: string;
  email: string;
  name: string | null;
  status: UserStatus;
  passwordHash: string;
  /** The owner proved they receive mail at `email`. */
  emailVerified: boolean;
  createdAt: Date;
  roles: string[];
  permissions: string[];
  /** Read in the same snapshot as roles and permissions. */
  grantsVersion: number;
  /** The second factors enrolled: a confirmed TOTP factor, and how many passkeys. */
  mfa: { totp: boolean; passkeys: number };
  /** The generation device tokens are issued in; older ones no longer count (features/sign-in/device-tokens.ts). */
  deviceGeneration: number;
};

/**
 * RFC 8176 authentication method values: password, one-time code (TOTP or recovery code), hardware key (passkey),
 * several factors; `email`, a code or magic link mailed to the account's address; and `fed`, a sign-in
 * through an identity provider.
 */
export type AuthMethod = "pwd" | "otp" | "hwk" | "mfa" | "email" | "fed";

const AUTH_METHODS: ReadonlySet<string> = new Set<AuthMethod>(["pwd", "otp", "hwk", "mfa", "email", "fed"]);

/** The values of `amr` this service issues, in their order, and nothing else. */
export const toAuthMethods = (values: readonly string[]): AuthMethod[] =>
  values.filter((v): v is AuthMethod => AUTH_METHODS.has(v));

/** What proved the first step of a sign-in that waits for its second factor. */
export type FirstFactor = Extract<AuthMethod, "pwd" | "email" | "fed">;

/**
 * A session's last proof of a credential: the access tokens' auth_time and amr; and `idp`, the provider id when a
 * federated sign-in opened the session (kept by refreshes and re-authentication, absent for any other sign-in).
 */
export type SessionProof = { authTime: Date; amr: AuthMethod[]; idp?: string };

/** What an access token is issued for: a user's grants as of one snapshot, in one session. */
export type Grants = Pick<UserRecord, "roles" | "permissions" | "grantsVersion">;

/** Where a request came from, for audit rows and device info. */
export type RequestOrigin = { ip: string | null; userAgent: string | null };

export type DeviceInfo = {
  name?: string;
  userAgent?: string;
  ip?: string;
  country?: string;
  city?: string;
};

export type AuditEvent = {
  id: string;
  event: string;
  userId?: string;
  actorId?: string;
  sessionId?: string;
  ip?: string;
  userAgent?: string;
  metadata: Record<string, unknown>;
  createdAt: string;
};

/** A position in a page ordered by (created_at, id); the timestamp to the microsecond, as Postgres renders it. */
export type KeysetCursor = { createdAt: string; id: string };

export type Page<T> = { items: T[]; nextCursor: KeysetCursor | null };

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A limit on requests per key and period at the edge (a Workers
 * rate-limiting binding), for services that must refuse before any I/O of
 * their own: per session on refresh, per normalised email on register.
 */
export interface KeyedRateLimit {
  /** Counts one request under `key`; refused once the key has used up its limit for the period. */
  take(key: string): Promise<RateLimitDecision>;
}
