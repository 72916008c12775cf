// What every operation that asks for a password shares: the new-password
// rule (the policy, then the breached-password check) and the proof of the
// current one. A signed-in caller's re-proofs (re-authentication, password
// and email change, deletion, TOTP confirmation) count in the calling
// session's own throttle bucket, never the account's: a stranger who fills
// the account's bucket with sign-in guesses never stops the signed-in owner,
// and a thief with a stolen session still gets only loginMaxFailures guesses
// in it (each wrong one audited).
import type { Clock } from "../../core/clock";
import { InvalidCredentials, RateLimited, ValidationFailed } from "../../core/errors";
import { checkPasswordPolicy, normalizePassword, type BreachedPasswordChecker, type PasswordHasher } from "./passwords";
import type { Admission, LoginThrottleStore } from "../sign-in/store";
import type { AuditLog } from "../activity/store";
import type { RequestOrigin, UserRecord } from "../../core/domain";
import { sha256Hex } from "../../core/encoding";

/** The policy (NFC, length, common passwords), then the breached-password check; the normalised password. */
export async function acceptableNewPassword(
  breached: Pick<BreachedPasswordChecker, "isBreached">,
  password: string,
  field: string,
): Promise<string> {
  const normalized = checkPasswordPolicy(password, field);
  if (await breached.isBreached(normalized)) {
    throw new ValidationFailed([
      { path: field, message: "This password appears in known data breaches; choose another" },
    ]);
  }
  return normalized;
}

export type CurrentPasswordDeps = {
  throttles: Pick<LoginThrottleStore, "admit">;
  audit: Pick<AuditLog, "record">;
  hasher: PasswordHasher;
  clock: Clock;
  loginMaxFailures: number;
};

/**
 * The signed-in user's current password, proved in session `sessionId`: the
 * attempt counts in that session's bucket first (429 while it is locked); a
 * wrong one writes an auth.login_failed row (`reason`) and answers
 * invalid_credentials. Answers the session's throttle key, for the caller to
 * clear once its change commits.
 */
export async function proveCurrentPassword(
  deps: CurrentPasswordDeps,
  user: UserRecord,
  password: string,
  origin: RequestOrigin,
  sessionId: string,
): Promise<string> {
  const { clock } = deps;
  const throttleKey = await admitInSession(deps, user.id, sessionId, origin);
  if (!(await deps.hasher.verify(user.passwordHash, normalizePassword(password)))) {
    await deps.audit.record({
      event: "auth.login_failed",
      userId: user.id,
      actorId: user.id,
      sessionId,
      origin,
      metadata: { reason: "wrong_current_password" },
      at: clock(),
    });
    throw new InvalidCredentials("wrong current password");
  }
  return throttleKey;
}

/**
 * Counts one re-proof (a password, a code) in session `sessionId`'s own
 * bucket before it is checked; 429 while the bucket is locked. Answers the
 * bucket's key.
 */
export async function admitInSession(
  deps: { throttles: Pick<LoginThrottleStore, "admit">; clock: Clock; loginMaxFailures: number },
  userId: string,
  sessionId: string,
  origin: RequestOrigin,
): Promise<string> {
  const { clock } = deps;
  const key = sessionThrottleKey(sessionId);
  const admission = await deps.throttles.admit({
    key,
    maxAttempts: deps.loginMaxFailures,
    at: clock(),
    audit: { scope: "session", userId, origin },
  });
  refuseIfThrottled(admission, clock());
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
