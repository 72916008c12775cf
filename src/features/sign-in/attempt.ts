// One sign-in attempt, whatever proves it. Every way in (a password, a TOTP
// code, a recovery code, a passkey; re-authentication's proofs too) shares
// these steps: the user must still be active; the attempt counts in its
// throttle bucket before the credential is checked (admit); the second step
// of a password sign-in resumes the pending sign-in its mfaToken names,
// records a failed factor against it, and completes it with the methods
// that proved it (amr). A credential is a small verifier that answers
// whether it is right; the attempt around it is written here once.
import type { Clock } from "../../core/clock";
import type { AuthMethod, DeviceInfo, RequestOrigin, UserRecord } from "../../core/domain";
import { InvalidMfaToken, RateLimited } from "../../core/errors";
import { sha256Hex } from "../../core/encoding";
import type { AuditLog } from "../activity/store";
import { challengeKeyHash, MAX_MFA_FAILURES } from "./challenges";
import { openSignedInSession, type LoggedIn, type SignInDeps } from "./service";
import type { Admission, ChallengeStore, LoginThrottleStore, ThrottleAudit } from "./store";

export type AdmitDeps = { throttles: Pick<LoginThrottleStore, "admit">; clock: Clock; loginMaxFailures: number };

/** Counts one attempt in bucket `key` before its credential is checked; 429 while the bucket is locked. */
export async function admit(deps: AdmitDeps, key: string, audit: ThrottleAudit): Promise<void> {
  const { clock } = deps;
  const admission = await deps.throttles.admit({ key, maxAttempts: deps.loginMaxFailures, at: clock(), audit });
  refuseIfThrottled(admission, clock());
}

/**
 * Counts one re-proof (a password, a code) in session `sessionId`'s own
 * bucket before it is checked; 429 while the bucket is locked. Answers the
 * bucket's key.
 */
export async function admitInSession(
  deps: AdmitDeps,
  userId: string,
  sessionId: string,
  origin: RequestOrigin,
): Promise<string> {
  const key = sessionThrottleKey(sessionId);
  await admit(deps, key, { scope: "session", userId, origin });
  return key;
}

/**
 * A locked bucket answers 429 with Retry-After. The store has already
 * written the lock's one auth.throttled row with its first refusal.
 */
export function refuseIfThrottled(admission: Admission, now: Date): void {
  if (!admission.admitted) throw new RateLimited((admission.lockedUntil.getTime() - now.getTime()) / 1000);
}

/**
 * An account's throttle key: a hash of the normalised email, so the table
 * holds no email addresses. Its devices' keys live under it
 * (deviceThrottleKey), and LoginThrottleStore.clearAccount clears them all.
 */
export function accountThrottleKey(normalizedEmail: string): string {
  return sha256Hex(`login:${normalizedEmail}`);
}

/**
 * A session's throttle key for its re-proofs: `session:` and a hash of the
 * session id, a prefix no account or device key has, so no account's bucket
 * is ever a session's, and the table holds no session id.
 */
export function sessionThrottleKey(sessionId: string): string {
  return `session:${sha256Hex(`reproof:${sessionId}`)}`;
}

/** A credential of the second step or of a re-authentication: its method's name and whether it is right for a user. */
export type FactorVerifier = { method: "totp" | "recovery_code" | "passkey"; verify(userId: string): Promise<boolean> };

/** A password sign-in waiting for its second factor, as its mfaToken names it. */
export type PendingSignIn = { keyHash: string; userId: string; throttleKey: string; device: DeviceInfo };

export type PendingDeps = AdmitDeps & {
  challenges: Pick<ChallengeStore, "find" | "recordFailure" | "spend">;
  audit: Pick<AuditLog, "record">;
};

/** The attempt's stores and settings, out of a service's dependencies. */
export function pendingDepsOf(deps: {
  stores: Pick<PendingDeps, "throttles" | "challenges" | "audit">;
  clock: Clock;
  settings: { loginMaxFailures: number };
}): PendingDeps {
  const { stores, clock, settings } = deps;
  return {
    throttles: stores.throttles,
    challenges: stores.challenges,
    audit: stores.audit,
    clock,
    loginMaxFailures: settings.loginMaxFailures,
  };
}

/** The pending sign-in an mfaToken names; invalid_mfa_token when it is unknown, expired or spent. */
export async function resumePendingSignIn(deps: PendingDeps, mfaToken: string): Promise<PendingSignIn> {
  const keyHash = challengeKeyHash(mfaToken);
  const challenge = await deps.challenges.find(keyHash, "mfa_sign_in", deps.clock());
  if (!challenge?.userId || !challenge.throttleKey) throw new InvalidMfaToken("unknown, expired or spent mfa token");
  return { keyHash, userId: challenge.userId, throttleKey: challenge.throttleKey, device: challenge.device };
}

/** The second step counts in the bucket the password counted in, before any factor is checked. */
export function admitPendingSignIn(deps: PendingDeps, pending: PendingSignIn, origin: RequestOrigin): Promise<void> {
  return admit(deps, pending.throttleKey, { scope: "account", userId: pending.userId, origin });
}

/** A wrong factor counts against the mfaToken (its MAX_MFA_FAILURES-th spends it) and writes mfa.challenge_failed. */
export async function recordFailedFactor(
  deps: PendingDeps,
  pending: PendingSignIn,
  method: FactorVerifier["method"],
  origin: RequestOrigin,
): Promise<void> {
  const { clock } = deps;
  await deps.challenges.recordFailure(pending.keyHash, MAX_MFA_FAILURES, clock());
  await deps.audit.record({
    event: "mfa.challenge_failed",
    userId: pending.userId,
    actorId: pending.userId,
    origin,
    metadata: { method },
    at: clock(),
  });
}

/** A wrong factor at re-authentication writes mfa.challenge_failed for the caller's session. */
export function recordFailedReproof(
  deps: { audit: Pick<AuditLog, "record">; clock: Clock },
  actor: { userId: string; sessionId: string; origin: RequestOrigin },
  method: FactorVerifier["method"],
): Promise<void> {
  return deps.audit.record({
    event: "mfa.challenge_failed",
    userId: actor.userId,
    actorId: actor.userId,
    sessionId: actor.sessionId,
    origin: actor.origin,
    metadata: { method, reauthentication: true },
    at: deps.clock(),
  });
}

/**
 * Spends the mfaToken (of two completions racing with one token, one wins)
 * and opens the session with how it was proved, on the pending sign-in's
 * device (renamed if the second step names it), clearing its bucket.
 */
export async function completePendingSignIn(
  deps: SignInDeps & { challenges: Pick<ChallengeStore, "spend"> },
  pending: PendingSignIn,
  user: UserRecord,
  amr: AuthMethod[],
  deviceName: string | undefined,
  origin: RequestOrigin,
): Promise<LoggedIn> {
  if (!(await deps.challenges.spend(pending.keyHash, "mfa_sign_in", deps.clock())))
    throw new InvalidMfaToken("mfa token spent meanwhile");
  return openSignedInSession(deps, user, {
    amr,
    device: deviceName ? { ...pending.device, name: deviceName } : pending.device,
    origin,
    clearThrottleKey: pending.throttleKey,
  });
}
