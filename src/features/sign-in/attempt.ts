// One sign-in attempt, whatever proves it (a password, a TOTP code, a
// recovery code, a passkey; re-authentication's proofs too): the attempt
// counts in its throttle bucket before the credential is checked, the user
// must be active, and a failure answers alike whatever its reason. A password
// sign-in's second step resumes the pending sign-in its mfaToken names,
// records a failed factor against it, and completes it with the methods that
// proved it (amr). A credential is a small verifier; the rest is written here once.
import type { Clock } from "../../core/clock";
import type { AuthMethod, DeviceInfo, FirstFactor, RequestOrigin, UserRecord } from "../../core/domain";
import { InvalidCredentials, InvalidMfaToken, RateLimited } from "../../core/errors";
import { sha256Hex } from "../../core/encoding";
import type { AuditLog } from "../activity/store";
import { challengeKeyHash, MAX_MFA_FAILURES } from "./challenges";
import { isActive } from "./active-user";
import { deviceThrottleKey, type CheckedDeviceToken } from "./device-tokens";
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

/** The first step of a sign-in by email: the account with that email, if any, and the bucket it counted in. */
export type FirstStep = {
  user: UserRecord | undefined;
  throttleKey: string;
  /** The presented device token, when it still names the account and the attempt counted in its bucket. */
  knownDevice?: CheckedDeviceToken;
};

/**
 * Counts a sign-in by email before its credential is checked, and finds the
 * account, in one round trip: in the bucket of the presented device when its
 * token still names the account in its current generation, else in the
 * account's (keyed on the email whether or not it exists). 429 while locked.
 */
export async function admitSignIn(
  deps: AdmitDeps & { throttles: Pick<LoginThrottleStore, "admitAndFindUser"> },
  email: string,
  presented: CheckedDeviceToken | undefined,
  origin: RequestOrigin,
): Promise<FirstStep> {
  const { clock } = deps;
  const accountKey = accountThrottleKey(email);
  const { admission, user, counted } = await deps.throttles.admitAndFindUser({
    key: accountKey,
    device: presented && {
      key: deviceThrottleKey(accountKey, presented.nonce),
      userId: presented.userId,
      generation: presented.generation,
    },
    maxAttempts: deps.loginMaxFailures,
    at: clock(),
    email,
    audit: { origin },
  });
  refuseIfThrottled(admission, clock());
  return { user, throttleKey: counted.key, knownDevice: counted.scope === "device" ? presented : undefined };
}

/**
 * A first credential (a password, an email code; the coming provider): right
 * for the account an email named, which may not exist. It must cost the same
 * for an unknown account (a dummy check), so that answers like a wrong one.
 */
export type FirstFactorVerifier = {
  verify(user: UserRecord | undefined): Promise<boolean>;
  /** What every failure answers: invalid_credentials, unless the credential names its own (invalid_email_code). */
  refuse?: (reason: string) => Error;
  /** The audit reason of a wrong credential: `wrong_password` unless named. */
  wrong?: string;
};

/**
 * The account, if the verifier accepts the credential and the account is
 * active. Else one answer whatever the reason (an unknown email, a wrong
 * credential, a disabled account: invalid_credentials, after the verifier
 * ran), with one auth.login_failed row naming the reason.
 */
export async function verifyFirstFactor(
  deps: { audit: Pick<AuditLog, "record">; clock: Clock },
  user: UserRecord | undefined,
  verifier: FirstFactorVerifier,
  origin: RequestOrigin,
): Promise<UserRecord> {
  const ok = await verifier.verify(user);
  if (user && ok && isActive(user)) return user;
  return refuseFirstFactor(deps, user, ok, verifier, origin);
}

/**
 * A proof of the address itself (an email code, a magic link): the account
 * with that address if the verifier accepts the proof and the account is
 * active, or, when no account has the address and `signUp` allows one,
 * undefined (the caller creates it). Any other outcome is refused exactly as
 * verifyFirstFactor refuses.
 */
export async function verifyAddressProof(
  deps: { audit: Pick<AuditLog, "record">; clock: Clock },
  user: UserRecord | undefined,
  verifier: FirstFactorVerifier,
  origin: RequestOrigin,
  signUp: boolean,
): Promise<UserRecord | undefined> {
  const ok = await verifier.verify(user);
  if (ok && (user ? isActive(user) : signUp)) return user;
  return refuseFirstFactor(deps, user, ok, verifier, origin);
}

async function refuseFirstFactor(
  deps: { audit: Pick<AuditLog, "record">; clock: Clock },
  user: UserRecord | undefined,
  ok: boolean,
  verifier: FirstFactorVerifier,
  origin: RequestOrigin,
): Promise<never> {
  const reason = !user ? "unknown_email" : !ok ? (verifier.wrong ?? "wrong_password") : "account_disabled";
  await deps.audit.record({
    event: "auth.login_failed",
    userId: user?.id ?? null,
    actorId: user?.id ?? null,
    origin,
    metadata: { reason },
    at: deps.clock(),
  });
  throw verifier.refuse ? verifier.refuse(reason) : new InvalidCredentials(reason);
}

/** A credential of the second step or of a re-authentication: its method's name and whether it is right for a user. */
export type FactorVerifier = { method: "totp" | "recovery_code" | "passkey"; verify(userId: string): Promise<boolean> };

/** A sign-in (by password, email code or provider) waiting for its second factor, as its mfaToken names it. */
export type PendingSignIn = {
  keyHash: string;
  userId: string;
  throttleKey: string;
  /** How the first step was proved: the completed sign-in's amr begins with it. */
  firstFactor: FirstFactor;
  /** After a provider: its id, which the session carries as idp. */
  idp?: string;
  device: DeviceInfo;
};

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
  return {
    keyHash,
    userId: challenge.userId,
    throttleKey: challenge.throttleKey,
    firstFactor: challenge.firstFactor,
    ...(challenge.idp === undefined ? {} : { idp: challenge.idp }),
    device: challenge.device,
  };
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
 * and opens the session with how it was proved (the first step's method,
 * then `second`'s: `otp` or `hwk`, and `mfa`), on the pending sign-in's
 * device (renamed if the second step names it), clearing its bucket.
 */
export async function completePendingSignIn(
  deps: SignInDeps & { challenges: Pick<ChallengeStore, "spend"> },
  pending: PendingSignIn,
  user: UserRecord,
  second: Extract<AuthMethod, "otp" | "hwk">,
  deviceName: string | undefined,
  origin: RequestOrigin,
): Promise<LoggedIn> {
  if (!(await deps.challenges.spend(pending.keyHash, "mfa_sign_in", deps.clock())))
    throw new InvalidMfaToken("mfa token spent meanwhile");
  return openSignedInSession(deps, user, {
    amr: [pending.firstFactor, second, "mfa"],
    ...(pending.idp === undefined ? {} : { idp: pending.idp }),
    device: deviceName ? { ...pending.device, name: deviceName } : pending.device,
    origin,
    clearThrottleKey: pending.throttleKey,
  });
}
