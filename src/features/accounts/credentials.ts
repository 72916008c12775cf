// What every operation that asks for a password shares: the new-password
// rule (the policy, then the breached-password check) and the proof of the
// current one. A signed-in caller's re-proofs (re-authentication, password
// and email change, deletion, TOTP confirmation) count in the calling
// session's own throttle bucket, never the account's: a stranger who fills
// the account's bucket with sign-in guesses never stops the signed-in owner,
// and a thief with a stolen session still gets only loginMaxFailures guesses
// in it (each wrong one audited).
import type { Clock } from "../../core/clock";
import { InvalidCredentials, ValidationFailed } from "../../core/errors";
import { checkPasswordPolicy, normalizePassword, type BreachedPasswordChecker, type PasswordHasher } from "./passwords";
import type { LoginThrottleStore } from "../sign-in/store";
import { admitInSession } from "../sign-in/attempt";
import type { AuditLog } from "../activity/store";
import type { RequestOrigin, UserRecord } from "../../core/domain";

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

/** What proving a password needs: the services' own deps fit. */
export type CurrentPasswordDeps = {
  stores: { throttles: Pick<LoginThrottleStore, "admit">; audit: Pick<AuditLog, "record"> };
  hasher: PasswordHasher;
  clock: Clock;
  settings: { loginMaxFailures: number };
};

/**
 * The signed-in user's current password, proved in the caller's session: the
 * attempt counts in that session's bucket first (429 while it is locked); a
 * wrong one writes an auth.login_failed row (`reason`) and answers
 * invalid_credentials. Answers the session's throttle key, for the caller to
 * clear once its change commits.
 */
export async function proveCurrentPassword(
  deps: CurrentPasswordDeps,
  user: UserRecord,
  password: string,
  caller: { sessionId: string; origin: RequestOrigin },
): Promise<string> {
  const { stores, clock, hasher, settings } = deps;
  const { sessionId, origin } = caller;
  const throttleKey = await admitInSession(
    { ...stores, clock, loginMaxFailures: settings.loginMaxFailures },
    user.id,
    sessionId,
    origin,
  );
  if (!(await hasher.verify(user.passwordHash, normalizePassword(password)))) {
    await stores.audit.record({
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
