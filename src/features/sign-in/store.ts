// The sign-in attempt's ports: the login throttle's buckets and the sign-ins
// and ceremonies in progress (challenges).
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { DeviceInfo, FirstFactor, RequestOrigin, UserRecord } from "../../core/domain";

export type { FirstFactor };

/** The audit events this feature writes. */
export type SignInAuditEvent = "auth.login_succeeded" | "auth.login_failed" | "auth.throttled" | "auth.reauthenticated";

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
  /**
   * Clears an account key and every device key under it (`device:<accountKey>:...`), e.g. after a completed password
   * reset.
   */
  clearAccount(accountKey: string): Promise<void>;
}

export type ChallengeKind = "mfa_sign_in" | "passkey_registration" | "passkey_authentication";

export type NewChallenge = {
  /** SHA-256 of the mfaToken, or of the WebAuthn challenge. */
  keyHash: string;
  kind: ChallengeKind;
  userId: string | null;
  /** mfa_sign_in: the throttle bucket the sign-in counts in, and the device the session will be for. */
  throttleKey?: string;
  /** mfa_sign_in: the first step's method; the second step's amr begins with it. */
  firstFactor?: FirstFactor;
  /** mfa_sign_in after a provider: its id, for the idp of the session the second step opens. */
  idp?: string;
  device?: DeviceInfo;
  expiresAt: Date;
};

export type Challenge = {
  kind: ChallengeKind;
  userId: string | null;
  throttleKey: string | null;
  /** mfa_sign_in: the first step's method (`pwd` for a row written before it was recorded). */
  firstFactor: FirstFactor;
  /** mfa_sign_in after a provider: its id. */
  idp?: string;
  device: DeviceInfo;
  failures: number;
  expiresAt: Date;
};

export interface ChallengeStore {
  /**
   * Stores a challenge; with `rehashedPassword`, replaces the user's stored hash in the same statement (a sign-in's
   * rehash, owed before the second factor).
   */
  create(challenge: NewChallenge, at: Date, rehashedPassword?: string): Promise<void>;
  /** A live (unused, unexpired) challenge of this kind, without spending it. */
  find(keyHash: string, kind: ChallengeKind, at: Date): Promise<Challenge | undefined>;
  /**
   * Spends a live challenge of this kind: single use, so of two racing spends one wins. Undefined when it was not
   * live.
   */
  spend(keyHash: string, kind: ChallengeKind, at: Date): Promise<Challenge | undefined>;
  /** Counts a wrong code against a live challenge; the `maxFailures`-th spends it. */
  recordFailure(keyHash: string, maxFailures: number, at: Date): Promise<void>;
}
