// Re-authentication by email code (docs/email-sign-in.md, re-authentication):
// an account without a password proves itself again with a 6-digit code
// mailed to its verified address. The sign-in codes' machinery serves: the
// same keyed hash, table, hourly cap per address, lifetime, failure cap and
// mail queue; a re-authentication code is bound to the session that asked
// for it, so it re-proves that session only and never signs anyone in.
// Attempts count in the calling session's own throttle bucket, as every
// signed-in re-proof does.
import type { Clock } from "../../core/clock";
import { hasPassword, type RequestOrigin, type UserRecord } from "../../core/domain";
import { sha256Hex } from "../../core/encoding";
import { EmailNotVerified, InvalidEmailCode, RateLimited, ValidationFailed } from "../../core/errors";
import type { Stores } from "../../stores";
import type { MailOutbox } from "../mail/store";
import { admitInSession } from "../sign-in/attempt";
import { requireActiveUser } from "../sign-in/active-user";
import {
  EMAIL_CODE_TTL_SECONDS,
  type EmailCodeHasher,
  MAX_EMAIL_CODE_FAILURES,
  MAX_EMAIL_CODES_PER_HOUR,
} from "./codes";

export type EmailReauthDeps = {
  stores: Pick<Stores, "emailCodes" | "users" | "throttles" | "audit">;
  settings: { loginMaxFailures: number };
  clock: Clock;
  codes: EmailCodeHasher;
  outbox: MailOutbox;
};

/** The signed-in caller: whose session, from where. */
export type ReauthCaller = { userId: string; sessionId: string; origin: RequestOrigin };

/** The refusal of the email path for an account that has a password: it re-authenticates with it. */
export function passwordAccountRefused(path: string): ValidationFailed {
  return new ValidationFailed(
    [{ path, message: "This account has a password: re-authenticate with currentPassword" }],
    "Email codes re-authenticate accounts without a password only",
  );
}

/** The 404 of the sign-in feature never applies: re-authentication by code works whatever EMAIL_SIGN_IN says. */
export class EmailReauthCodes {
  constructor(private readonly deps: EmailReauthDeps) {}

  /**
   * POST /auth/reauthenticate/email: mails a code to the caller's verified address, bound to the caller's session;
   * a newer code ends the older one. 400 for an account with a password, 403 email_not_verified for an unverified
   * address, 429 past the address's hourly cap.
   */
  async send(caller: ReauthCaller): Promise<void> {
    const { stores, clock, codes } = this.deps;
    const user = await requireActiveUser(stores.users, caller.userId);
    if (hasPassword(user)) throw passwordAccountRefused("(body)");
    if (!user.emailVerified)
      throw new EmailNotVerified("Verify your email address first: codes are mailed to a verified address only.");
    const at = clock();
    const id = crypto.randomUUID();
    const minted = codes.mint(id);
    const stored = await stores.emailCodes.requestReauthentication({
      id,
      sessionId: caller.sessionId,
      userId: user.id,
      email: user.email,
      addressKey: sha256Hex(`email-code:${user.email}`),
      codeHash: minted.codeHash,
      maxPerHour: MAX_EMAIL_CODES_PER_HOUR,
      expiresAt: new Date(at.getTime() + EMAIL_CODE_TTL_SECONDS * 1000),
      origin: caller.origin,
      at,
    });
    // The caller's own address: saying it is capped reveals nothing, and an hour bounds the wait.
    if (!stored) throw new RateLimited(3600);
    await this.deps.outbox.enqueue({
      kind: "mail",
      template: "reauthentication_code",
      to: user.email,
      userId: user.id,
      code: minted.code,
    });
  }

  /**
   * The code mailed for the caller's session, spent: counted in the session's bucket before it is checked (429 while
   * locked); a wrong one counts against the code too (the fifth spends it) and writes auth.login_failed. Answers the
   * bucket's key, for the caller to clear once the proof is recorded; invalid_email_code for a wrong, expired,
   * replaced, spent or another session's code.
   */
  async prove(user: UserRecord, code: string, caller: ReauthCaller): Promise<string> {
    const { stores, clock, codes, settings } = this.deps;
    if (hasPassword(user)) throw passwordAccountRefused("emailCode");
    const throttleKey = await admitInSession(
      { throttles: stores.throttles, clock, loginMaxFailures: settings.loginMaxFailures },
      user.id,
      caller.sessionId,
      caller.origin,
    );
    const live = await stores.emailCodes.findLiveForSession(caller.sessionId, MAX_EMAIL_CODE_FAILURES, clock());
    const right = live !== undefined && live.email === user.email && codes.matches(live.id, code.trim(), live.codeHash);
    if (!right) {
      if (live) await stores.emailCodes.recordFailure(live.id, MAX_EMAIL_CODE_FAILURES, clock());
      await stores.audit.record({
        event: "auth.login_failed",
        userId: user.id,
        actorId: user.id,
        sessionId: caller.sessionId,
        origin: caller.origin,
        metadata: { reason: "wrong_email_code", reauthentication: true },
        at: clock(),
      });
      throw new InvalidEmailCode("wrong, expired or spent re-authentication code");
    }
    if (!(await stores.emailCodes.spend(live.id, MAX_EMAIL_CODE_FAILURES, clock())))
      throw new InvalidEmailCode("code spent meanwhile");
    return throttleKey;
  }
}
