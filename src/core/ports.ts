// The seams between the business rules and the stores behind them (after
// OpenAuth's storage/storage.ts): the records services work with and one small
// interface per store. src/repositories implements them over Postgres; unit
// tests implement them in memory. Services see only these types, never
// Drizzle, the driver or a repository class.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.

export type UserStatus = "active" | "disabled";

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
  /** The generation device tokens are issued in; older ones no longer count (services/device-tokens.ts). */
  deviceGeneration: number;
};

/** RFC 8176 authentication method values: password, one-time code (TOTP or recovery code), hardware key (passkey), several factors. */
export type AuthMethod = "pwd" | "otp" | "hwk" | "mfa";

/** A session's last proof of a credential: the access tokens' auth_time and amr. */
export type SessionProof = { authTime: Date; amr: AuthMethod[] };

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

export type AuditEventName =
  | "user.registered"
  | "auth.login_succeeded"
  | "auth.login_failed"
  | "auth.refreshed"
  | "auth.refresh_reused"
  | "auth.logged_out"
  | "session.revoked"
  | "session.evicted"
  | "user.password_changed"
  | "user.roles_changed"
  | "user.disabled"
  | "user.enabled"
  | "auth.throttled"
  | "user.email_verification_sent"
  | "user.email_verified"
  | "user.password_reset_requested"
  | "user.password_reset"
  | "user.email_change_requested"
  | "user.email_changed"
  | "user.deleted"
  | "user.updated"
  | "mail.delivery_failed"
  | "mfa.totp_enrolled"
  | "mfa.totp_removed"
  | "mfa.recovery_codes_regenerated"
  | "mfa.recovery_code_used"
  | "mfa.challenge_failed"
  | "mfa.removed"
  | "passkey.registered"
  | "passkey.removed"
  | "auth.reauthenticated"
  | "role.defined"
  | "user.claimed_by_proof";

export type AuditEventInput = {
  event: AuditEventName;
  userId?: string | null;
  actorId?: string | null;
  sessionId?: string | null;
  origin: RequestOrigin;
  metadata?: Record<string, unknown>;
  at: Date;
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

export type SessionRecord = {
  id: string;
  userId: string;
  device: DeviceInfo;
  createdAt: Date;
  lastUsedAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
};

/** A session about to open with its first refresh token (stored as a hash only). */
export type NewSession = {
  id: string;
  device: DeviceInfo;
  refreshTokenHash: string;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  /** How this sign-in was proved; its auth_time is the instant the session opens. */
  amr: AuthMethod[];
};

/**
 * A session a store call ended, and when it was last used (signed in or
 * refreshed): none of its access tokens is newer than that, but for a
 * replay within REFRESH_REUSE_GRACE of it.
 */
export type EndedSession = { id: string; lastUsedAt: Date };

/** How and why sessions end; each ended session gets one audit row of `event`. */
export type SessionEnd = {
  reason: string;
  event: Extract<AuditEventName, "session.revoked" | "auth.logged_out">;
  /** null: the session's own user. */
  actorId: string | null;
  origin: RequestOrigin;
  at: Date;
};

/**
 * A rotated refresh token: its session and the user's grants, read in the
 * rotating statement; the session's idle expiry as the rotation slid it.
 */
export type Rotated = Grants &
  SessionProof & {
    sessionId: string;
    userId: string;
    emailVerified: boolean;
    idleExpiresAt: Date;
    absoluteExpiresAt: Date;
  };

/** What is known about a presented refresh token that could not be rotated. */
export type TokenLineage = {
  sessionId: string;
  userId: string;
  usedAt: Date | null;
  sessionLive: boolean;
  sessionIdleExpiresAt: Date;
  sessionAbsoluteExpiresAt: Date;
  userActive: boolean;
  userEmailVerified: boolean;
  /** The session's last proof, which a refresh keeps. */
  proof: SessionProof;
  /** The token minted from this one, if any. */
  child: { tokenHash: string; usedAt: Date | null } | null;
};

export type Admission = { admitted: true } | { admitted: false; lockedUntil: Date };

/**
 * The bucket an attempt counts in: the account's (keyed on its normalised
 * email, whether or not it exists), one device's of that account (a valid
 * device token presented), or, for a signed-in caller's re-proofs, the
 * calling session's own.
 */
export type ThrottleScope = "account" | "device" | "session";

/** What the one auth.throttled row of a lock says; never an email or a token. */
export type ThrottleAudit = { scope: ThrottleScope; userId: string | null; origin: RequestOrigin };

export type ThrottleAttempt = {
  /**
   * An account key, or a device key under it: `device:<account key>:<device
   * hash>`, the form clearAccount relies on to clear an account's every
   * bucket; or a session's key, `session:<hash>`.
   */
  key: string;
  maxAttempts: number;
  at: Date;
  /** Written, once per lock, with the first attempt the lock refuses. */
  audit: ThrottleAudit;
};

export interface UserStore {
  findById(id: string): Promise<UserRecord | undefined>;
  /** By normalised email. */
  findByEmail(email: string): Promise<UserRecord | undefined>;
  /**
   * A new password; in the same statement the user's live password-reset
   * tokens end (a reset link dies with the password it was for), and so do
   * the sign-ins waiting for a second factor and a pending email change
   * (whoever knew the old password may have asked for it).
   */
  setPasswordHash(id: string, passwordHash: string, at: Date): Promise<void>;
  /**
   * The first proof of the address by a route through which its owner takes
   * the account over (`proof`), as one statement: if the address was not
   * verified yet, marks it verified and ends everything its unproven holder
   * set up that could outlive the proof: every live session (session.revoked
   * rows, reason `proof`), every live one-time token (pending email changes
   * among them), the TOTP factor and recovery codes, the passkeys, the live
   * challenges (mfa sign-ins, passkey registrations), the device tokens (a
   * new device generation) and, with `endPassword`, the password; with one
   * user.claimed_by_proof row holding the counts. Undefined, nothing written,
   * when the address was verified already; else the sessions it ended, most
   * recently used first, for the edge.
   */
  claimByProof(input: {
    userId: string;
    proof: AddressProof;
    endPassword: boolean;
    origin: RequestOrigin;
    at: Date;
  }): Promise<EndedSession[] | undefined>;
  /** Marks the email verified (keeps an earlier verification time). */
  markEmailVerified(id: string, at: Date): Promise<void>;
  /**
   * Makes `newEmail` the user's address, verified, if no account holds it;
   * false (nothing written) when one does. Every live one-time token of the
   * user ends with the old address.
   */
  changeEmail(id: string, newEmail: string, at: Date): Promise<boolean>;
  /** The updated user, or undefined when there is none. */
  updateName(id: string, name: string | null, at: Date): Promise<UserRecord | undefined>;
  /** Deletes the account with its roles, sessions, refresh and one-time tokens; its audit rows stay. False when there was none. */
  delete(id: string): Promise<boolean>;
}

export type OneTimePurpose = "email_verification" | "password_reset" | "email_change";

/**
 * How an address was first proven by a route through which its owner takes
 * the account over (UserStore.claimByProof): a completed password reset.
 * Federated sign-in and email codes will add theirs.
 */
export type AddressProof = "password_reset";

/** What a one-time token is, bound to: its purpose, its user, the address it was mailed to, and (email change) the new address. */
export type NewOneTimeToken = {
  purpose: OneTimePurpose;
  userId: string;
  /** SHA-256 of the token: the token itself is never stored. */
  tokenHash: string;
  email: string;
  newEmail?: string;
  /**
   * A hash of the client network that asked for it (password reset): the
   * hourly limit then counts only the user's tokens of this purpose asked
   * for from that network.
   */
  requesterNetwork?: string;
  expiresAt: Date;
  /**
   * Stored already ended, with this reason: a request that counts toward the
   * hourly limit and ends the earlier tokens of its purpose like any other,
   * but whose link is never mailed (an email change to an address in use).
   */
  endedReason?: string;
};

export type OneTimeIssue = { issued: true } | { issued: false; retryAfterSeconds: number };

export type SpentOneTimeToken = { userId: string; email: string; newEmail: string | null };

export interface OneTimeTokenStore {
  /**
   * Stores a token, ending the user's earlier live tokens of its purpose,
   * with the audit row `audit.event`, all in one statement, if the user has
   * been sent fewer than `maxPerHour` of this purpose in the hour before
   * `at` (with `requesterNetwork`: from that network); otherwise writes
   * nothing and says when the next may be sent.
   */
  issue(input: {
    token: NewOneTimeToken;
    maxPerHour: number;
    audit: { event: AuditEventName; actorId: string | null; sessionId?: string | null; origin: RequestOrigin };
    at: Date;
  }): Promise<OneTimeIssue>;
  /**
   * Spends a live token of this purpose (unused, unexpired) whose user is
   * active and still has the address it was mailed to: marks it used and
   * answers what it was bound to. Undefined, with nothing written, for
   * any other token.
   */
  spend(input: { tokenHash: string; purpose: OneTimePurpose; at: Date }): Promise<SpentOneTimeToken | undefined>;
}

/** The first step of a sign-in: see LoginThrottleStore.admitAndFindUser. */
export type SignInAttempt = Omit<ThrottleAttempt, "audit"> & {
  email: string;
  device?: { key: string; userId: string; generation: number };
  audit: Omit<ThrottleAudit, "userId" | "scope">;
};

export interface LoginThrottleStore {
  /**
   * Counts one attempt before any password is checked; refuses it while the
   * key is locked. The first refusal of each lock writes the lock's one
   * auth.throttled row, in the same statement; later refusals write none.
   */
  admit(attempt: ThrottleAttempt): Promise<Admission>;
  /**
   * admit, and read the account with that email (if any) in the same round
   * trip; the audit row names that account. `key` is the account's key; with
   * `device` (a device token whose tag is ours), the attempt counts in
   * `device.key` instead if, and only if, the account with that email has
   * that id and that device generation. `counted` says which bucket it was.
   */
  admitAndFindUser(
    attempt: SignInAttempt,
  ): Promise<{ admission: Admission; user: UserRecord | undefined; counted: { key: string; scope: ThrottleScope } }>;
  /** Clears one key. */
  clear(key: string): Promise<void>;
  /** Clears an account key and every device key under it (`device:<accountKey>:...`), e.g. after a completed password reset. */
  clearAccount(accountKey: string): Promise<void>;
}

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

export type NewRegistration = {
  email: string;
  passwordHash: string;
  name: string | null;
  /** None when sign-in waits for a verified email (REQUIRE_VERIFIED_EMAIL). */
  session: NewSession | undefined;
  /** The verification token mailed with the welcome, stored with a user.email_verification_sent row. */
  verification: Omit<NewOneTimeToken, "userId" | "email" | "purpose">;
  origin: RequestOrigin;
  at: Date;
};

export interface RegistrationStore {
  /** The user, the default role, the first session and the audit row at once; undefined when the email is taken (nothing written). */
  register(input: NewRegistration): Promise<UserRecord | undefined>;
}

export interface SessionStore {
  /**
   * Opens a session for an active user with its first refresh token and an
   * auth.login_succeeded row; with it, clears the throttle key and stores a
   * rehashed password. `opened` false (nothing written) when the user is not
   * active. In the same statement, the user's least recently used live
   * sessions beyond `maxSessions` (counting the new one) end, each with a
   * session.evicted row: `evicted`, most recently used first.
   */
  openSignIn(input: {
    userId: string;
    session: NewSession;
    origin: RequestOrigin;
    at: Date;
    clearThrottleKey: string;
    rehashedPassword?: string;
    maxSessions: number;
  }): Promise<{ opened: boolean; evicted: string[] }>;
  /** The user's live sessions, most recently used first. */
  listLive(userId: string, now: Date): Promise<SessionRecord[]>;
  /** Ends one live session of the user; false when there was none. */
  end(sessionId: string, userId: string, end: SessionEnd): Promise<boolean>;
  /** Ends the session a refresh token belongs to, whoever's it is; its id, if one ended. */
  endByRefreshTokenHash(tokenHash: string, end: Omit<SessionEnd, "actorId">): Promise<string | undefined>;
  /**
   * Ends every live session of the user but `exceptSessionId`; the ended
   * sessions, most recently used first. In the same statement a new device
   * generation starts (every device token issued before stops counting) and
   * the user's pending email change ends, whether or not a session was live.
   */
  endAllForUser(userId: string, end: SessionEnd, exceptSessionId?: string): Promise<EndedSession[]>;
  /**
   * Records a new proof of a credential for a live session of the user
   * (re-authentication), with an auth.reauthenticated row: the session's
   * expiries, or undefined (nothing written) when it is not live.
   */
  reauthenticate(input: {
    sessionId: string;
    userId: string;
    amr: AuthMethod[];
    origin: RequestOrigin;
    at: Date;
  }): Promise<{ idleExpiresAt: Date; absoluteExpiresAt: Date } | undefined>;
}

export interface RefreshTokenStore {
  /**
   * rotation case 1, as one atomic statement: marks the presented
   * token used if it is its live session's current token, makes the
   * successor current, slides the idle expiry, audits auth.refreshed.
   */
  rotate(input: {
    tokenHash: string;
    successorHash: string;
    idleTtlSeconds: number;
    requireVerifiedEmail: boolean;
    origin: RequestOrigin;
    at: Date;
  }): Promise<Rotated | undefined>;
  lineage(tokenHash: string, at: Date): Promise<TokenLineage | undefined>;
  /** Reuse: ends the whole family with an auth.refresh_reused row. False if it had already ended. */
  revokeFamilyForReuse(sessionId: string, origin: RequestOrigin, at: Date): Promise<boolean>;
}

export interface AuditLog {
  record(event: AuditEventInput): Promise<void>;
  page(filter: { userId?: string; event?: string; cursor?: KeysetCursor; limit: number }): Promise<Page<AuditEvent>>;
}

export interface AdminUserStore {
  /** Oldest first; `search` matches email or name as a literal, case-insensitive substring. */
  page(filter: { search?: string; cursor?: KeysetCursor; limit: number }): Promise<Page<UserRecord>>;
  /**
   * Inside a transaction: locks the actor's and the target's rows in one
   * order, so administrators acting on each other queue; their statuses.
   */
  lockActorAndTarget(actorId: string | null, targetId: string): Promise<Map<string, UserStatus>>;
  setStatus(id: string, status: UserStatus, at: Date): Promise<void>;
  /** A new grants version: the user's earlier tokens stop working once it reaches the edge. */
  bumpGrantsVersion(id: string, at: Date): Promise<number>;
  exists(id: string): Promise<boolean>;
  findIdByEmail(email: string): Promise<string | undefined>;
}

export interface RoleStore {
  /** The names among `names` that are roles (share-locked inside a transaction). */
  existing(names: readonly string[]): Promise<string[]>;
  /** The permissions the given roles grant together, sorted. */
  permissionsOf(names: readonly string[]): Promise<string[]>;
  /** Makes the user's roles exactly `names`. */
  replaceForUser(userId: string, names: readonly string[], at: Date): Promise<void>;
  all(): Promise<{ name: string; description: string; permissions: string[] }[]>;
  /**
   * Inside a transaction: creates the role `name` or replaces its
   * permissions with exactly `permissions` (validated), and, when they
   * changed, bumps the grants version of every holder, as a role change
   * does. Locks the holders' rows (in id order, as the admin changes do)
   * before the role's, so it queues behind a concurrent role change instead
   * of deadlocking with it. Three statements. `before`: the permissions the
   * role had (sorted; [] for a new role).
   */
  define(name: string, permissions: readonly string[], at: Date): Promise<RoleDefined>;
}

/** What defining a role did: the holders' new grants versions are for the edge. */
export type RoleDefined = { created: boolean; before: string[]; holders: { userId: string; grantsVersion: number }[] };

export interface HealthProbe {
  ping(): Promise<void>;
}

export interface MaintenanceStore {
  deleteTokensOfEndedSessions(cutoff: Date, limit: number): Promise<number>;
  deleteEndedSessions(cutoff: Date, limit: number): Promise<number>;
  deleteStaleLoginThrottles(lastFailureBefore: Date, at: Date, limit: number): Promise<number>;
  /** One-time tokens that expired before `cutoff` (used or not). */
  deleteExpiredOneTimeTokens(cutoff: Date, limit: number): Promise<number>;
  /** mfaTokens and WebAuthn challenges that expired before `cutoff` (used or not). */
  deleteExpiredChallenges(cutoff: Date, limit: number): Promise<number>;
}

/** A TOTP factor as stored: the secret only encrypted (see services/mfa/secret-box.ts). */
export type TotpFactorRecord = { secretCiphertext: string; confirmed: boolean; lastUsedStep: number | null };

/** Audit context of a second-factor change: who did it, from where, in which session. */
export type FactorAudit = { actorId: string | null; sessionId: string | null; origin: RequestOrigin; at: Date };

/** Every method of SecondFactorStore and PasskeyStore that adds or removes a factor (or replaces recovery codes) also ends the user's pending email change, in its statement. */
export interface SecondFactorStore {
  totp(userId: string): Promise<TotpFactorRecord | undefined>;
  /** Stores a pending (unconfirmed) factor with no failed confirmations, replacing a pending one; false (nothing written) when a confirmed one exists. */
  putPendingTotp(userId: string, secretCiphertext: string, at: Date): Promise<boolean>;
  /**
   * Accepts the code of time step `step` if it is later than the last
   * accepted one (a code works once), as one conditional UPDATE: two
   * requests racing with one code resolve to one. `confirm` (the pending
   * factor's first code): also confirms it and stores the recovery codes,
   * with an mfa.totp_enrolled row. False, nothing written, otherwise.
   */
  acceptTotpStep(input: {
    userId: string;
    step: number;
    at: Date;
    confirm?: { recoveryCodeHashes: string[]; audit: FactorAudit };
  }): Promise<boolean>;
  /**
   * Counts a wrong code against the user's pending (unconfirmed) factor,
   * with an mfa.challenge_failed row; the `maxFailures`-th deletes the
   * pending factor (a new enrolment must start). True when it ended it.
   */
  failPendingTotp(input: { userId: string; maxFailures: number; audit: FactorAudit }): Promise<boolean>;
  /** Removes the TOTP factor and its recovery codes, with an mfa.totp_removed row; false when there was none. */
  removeTotp(userId: string, audit: FactorAudit): Promise<boolean>;
  /** Replaces the recovery codes of a user with a confirmed TOTP factor, with an mfa.recovery_codes_regenerated row; false (nothing written) without one. */
  replaceRecoveryCodes(userId: string, codeHashes: string[], audit: FactorAudit): Promise<boolean>;
  /** Spends an unused recovery code of the user, with an mfa.recovery_code_used row (never the code); false when it is not one. */
  spendRecoveryCode(input: { userId: string; codeHash: string; origin: RequestOrigin; at: Date }): Promise<boolean>;
  /** Removes every factor (TOTP, recovery codes, passkeys) with one mfa.removed row; false (and no row) when there were none. */
  removeAll(userId: string, audit: FactorAudit): Promise<boolean>;
}

export type ChallengeKind = "mfa_sign_in" | "passkey_registration" | "passkey_authentication";

export type NewChallenge = {
  /** SHA-256 of the mfaToken, or of the WebAuthn challenge. */
  keyHash: string;
  kind: ChallengeKind;
  userId: string | null;
  /** mfa_sign_in: the throttle bucket the sign-in counts in, and the device the session will be for. */
  throttleKey?: string;
  device?: DeviceInfo;
  expiresAt: Date;
};

export type Challenge = {
  kind: ChallengeKind;
  userId: string | null;
  throttleKey: string | null;
  device: DeviceInfo;
  failures: number;
  expiresAt: Date;
};

export interface ChallengeStore {
  /** Stores a challenge; with `rehashedPassword`, replaces the user's stored hash in the same statement (a sign-in's rehash, owed before the second factor). */
  create(challenge: NewChallenge, at: Date, rehashedPassword?: string): Promise<void>;
  /** A live (unused, unexpired) challenge of this kind, without spending it. */
  find(keyHash: string, kind: ChallengeKind, at: Date): Promise<Challenge | undefined>;
  /** Spends a live challenge of this kind: single use, so of two racing spends one wins. Undefined when it was not live. */
  spend(keyHash: string, kind: ChallengeKind, at: Date): Promise<Challenge | undefined>;
  /** Counts a wrong code against a live challenge; the `maxFailures`-th spends it. */
  recordFailure(keyHash: string, maxFailures: number, at: Date): Promise<void>;
}

export type PasskeyRecord = { id: string; name: string | null; createdAt: Date; lastUsedAt: Date | null };

/** What verifying an assertion needs. */
export type PasskeyCredential = PasskeyRecord & {
  userId: string;
  credentialId: string;
  /** base64url of the COSE public key. */
  publicKey: string;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
};

export interface PasskeyStore {
  /** Stores a new credential with a passkey.registered row; undefined (nothing written) when the credential id is already registered (to anyone). */
  add(
    input: Omit<PasskeyCredential, "id" | "createdAt" | "lastUsedAt">,
    audit: FactorAudit,
  ): Promise<PasskeyRecord | undefined>;
  /** The user's passkeys, oldest first. */
  list(userId: string): Promise<PasskeyRecord[]>;
  /** The user's credential ids and transports, for the registration options to exclude. */
  credentialsOf(userId: string): Promise<{ credentialId: string; transports: string[] }[]>;
  findByCredentialId(credentialId: string): Promise<PasskeyCredential | undefined>;
  /** After a verified assertion: the new counter and backup state, and when. */
  markUsed(id: string, update: { counter: number; backedUp: boolean; at: Date }): Promise<void>;
  /** Removes one of the user's passkeys with a passkey.removed row; false when it is absent or not theirs. */
  remove(id: string, userId: string, audit: FactorAudit): Promise<boolean>;
}

/** Every store, bound to one connection or one transaction. */
export type Stores = {
  users: UserStore;
  throttles: LoginThrottleStore;
  registrations: RegistrationStore;
  oneTimeTokens: OneTimeTokenStore;
  sessions: SessionStore;
  refreshTokens: RefreshTokenStore;
  audit: AuditLog;
  adminUsers: AdminUserStore;
  roles: RoleStore;
  health: HealthProbe;
  maintenance: MaintenanceStore;
  secondFactors: SecondFactorStore;
  challenges: ChallengeStore;
  passkeys: PasskeyStore;
};

/** Runs `work` in one transaction: every store it is handed commits together, or nothing does. */
export interface UnitOfWork {
  run<T>(work: (tx: Stores) => Promise<T>): Promise<T>;
}

/** What an access token tells the edge's revocation check: its session, user, grants version and issue time (epoch seconds). */
export type TokenToCheck = { sid: string; sub: string; grantsVersion: number; iat: number };

/**
 * "The sessions of this user that started before `before` have ended, but
 * `except`": what a bulk end (all other sessions, all sessions) tells the
 * edge, in one write however many sessions it ended. `before` is read from
 * the service's clock after the ending statement committed; `except`, if
 * given, must be a session that was still live then; `ended` are the
 * sessions the statement ended.
 */
export type SessionsEnded = { before: Date; except?: string; ended: readonly EndedSession[] };

/** The edge's list of ended sessions and changed grants (Workers KV). */
export interface RevocationList {
  /** Whether a token must be refused: its session ended, or its user's grants changed after it was issued. */
  refuses(token: TokenToCheck): Promise<boolean>;
  /** Ends these sessions at the edge, one entry each: for a few sessions at a time (logout, one session, reuse, eviction). */
  revoke(sessionIds: readonly string[]): Promise<void>;
  /** Ends a user's sessions at the edge with one entry for the user, however many there are. */
  endSessionsOf(userId: string, mark: SessionsEnded): Promise<void>;
  markGrantsChanged(changes: readonly { userId: string; grantsVersion: number }[]): Promise<void>;
}

/**
 * A message on the mail queue (DESIGN "Mail"). The only secret one may carry
 * is the one-time link its recipient must get. `password_reset_request` is
 * what forgot-password enqueues for every email alike: the queue consumer,
 * not the request, looks the address up and, for an active account, mints
 * the reset token and enqueues its `password_reset` mail. Its `network` is a
 * SHA-256 (hex) of the requesting client network, never the address itself
 * (absent in a job queued before it existed). Notices carry no link:
 * `email_change_notice` tells the old address a change was asked for,
 * `email_changed_notice` that it was made, and `email_in_use_notice` tells
 * an address already in use (`userId`: its holder) that someone tried to
 * make it their account's.
 */
export type MailJob =
  | {
      kind: "mail";
      template: "email_verification" | "password_reset" | "email_change_confirmation";
      to: string;
      userId: string;
      link: string;
    }
  | {
      kind: "mail";
      template: "email_change_notice" | "email_changed_notice";
      to: string;
      userId: string;
      newEmail: string;
    }
  | { kind: "mail"; template: "email_in_use_notice"; to: string; userId: string }
  | { kind: "password_reset_request"; email: string; network?: string };

export type MailTemplate = Extract<MailJob, { kind: "mail" }>["template"];

/** Rendered mail, ready for a transport: the text part holds the whole link. */
export type OutgoingMail = { to: string; subject: string; text: string; html: string };

/** Sends one message (SMTP, an HTTP email API); rejects when the provider refused it or could not be reached. */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
}

/** Puts a job on the mail queue; rejects (a ServiceUnavailable) when the queue cannot take it. */
export interface MailOutbox {
  enqueue(job: MailJob): Promise<void>;
}
