// Accounts: registration, login and password change (docs/api.md, "Passwords
// and accounts"). Login answers an unknown email, a wrong password and a
// disabled account identically, and in the same time: every path runs one
// argon2id verification at the configured cost and writes one failure row.
//
// Sign-in attempts are throttled per account, keyed on the normalised email
// whether or not it exists. A sign-in presenting a device token that still
// names the account (sign-in/device-tokens.ts: its id and current device
// generation) counts in that device's own bucket instead,
// so guesses from anywhere else never lock that device out; a success
// clears only the bucket it was counted in, so an owner's sign-in never
// resets the account bucket an attacker is filling.
import type { Clock } from "../../core/clock";
import { describeError, EmailNotVerified, EmailTaken, RateLimited } from "../../core/errors";
import { acceptableNewPassword, proveCurrentPassword } from "./credentials";
import { requireActiveUser } from "../sign-in/active-user";
import { accountThrottleKey, admitSignIn, verifyFirstFactor, type FirstFactorVerifier } from "../sign-in/attempt";
import { normalizeEmail, normalizePassword, type BreachedPasswordChecker, type PasswordHasher } from "./passwords";
import type { DeviceTokenCodec } from "../sign-in/device-tokens";
import { linkFor, mintOneTimeToken } from "../lifecycle/one-time-tokens";
import {
  hasPassword,
  type DeviceInfo,
  type KeyedRateLimit,
  type RequestOrigin,
  type UserRecord,
} from "../../core/domain";
import type { MailOutbox } from "../mail/store";
import { endedSessions, type RevocationList } from "../sessions/store";
import type { Stores, UnitOfWork } from "../../stores";
import { SecondFactorService } from "../mfa/service";
import { issueTokenPair, newSession, type RefreshTokenCodec, type SessionLifetimes, type TokenPair } from "../sessions";
import { openSignedInSession, subjectOf, type LoggedIn, type SignedIn } from "../sign-in/service";
import type { AccessTokens } from "../tokens";

export type AccountDeps = {
  stores: Pick<Stores, "users" | "throttles" | "registrations" | "sessions" | "audit">;
  unitOfWork: UnitOfWork;
  settings: SessionLifetimes & {
    loginMaxFailures: number;
    maxSessionsPerUser: number;
    requireVerifiedEmail: boolean;
    mail: { appUrl: string };
  };
  clock: Clock;
  hasher: PasswordHasher;
  breached: Pick<BreachedPasswordChecker, "isBreached">;
  codec: RefreshTokenCodec;
  deviceTokens: DeviceTokenCodec;
  /** Per normalised email on register (AUTH_EMAIL_RATE_LIMITER), before any hashing. */
  registrationLimit: KeyedRateLimit;
  tokens: AccessTokens;
  revocations: Pick<RevocationList, "publish">;
  outbox: MailOutbox;
  /** For an account with a second factor, a right password stores an mfaToken and answers mfa_required. */
  secondFactor: Pick<SecondFactorService, "requireSecondFactor">;
};

export { accountThrottleKey };
export type { LoggedIn, SignedIn };

/**
 * With REQUIRE_VERIFIED_EMAIL, registration opens no session: there are no tokens until the email is verified and the
 * user signs in.
 */
export type Registered = { user: UserRecord; tokens: TokenPair | undefined };

export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  /** Creates the account, mails it a verification link, and (unless sign-in waits for verification) signs in. */
  async register(
    input: { email: string; password: string; name?: string | null },
    device: DeviceInfo,
    origin: RequestOrigin,
  ): Promise<Registered> {
    const { stores, clock, hasher, settings } = this.deps;
    const email = normalizeEmail(input.email);
    // Before anything else, so a refused attempt costs no hash and no breached-password lookup.
    const limit = await this.deps.registrationLimit.take(accountThrottleKey(email));
    if (!limit.allowed) throw new RateLimited(limit.retryAfterSeconds);
    const password = await acceptableNewPassword(this.deps.breached, input.password, "password");
    const passwordHash = await hasher.hash(password);
    const at = clock();
    const signIn = settings.requireVerifiedEmail
      ? undefined
      : newSession(this.deps.codec, settings, device, at, ["pwd"]);
    const verification = mintOneTimeToken("email_verification", at);
    const user = await stores.registrations.register({
      email,
      passwordHash,
      name: input.name?.trim() || null,
      session: signIn?.session,
      verification: { tokenHash: verification.tokenHash, expiresAt: verification.expiresAt },
      origin,
      at,
    });
    if (!user) throw new EmailTaken();
    // The account exists whether or not the queue takes the mail: the user
    // can ask for another link (POST /auth/email/verification).
    await this.deps.outbox
      .enqueue({
        kind: "mail",
        template: "email_verification",
        to: user.email,
        userId: user.id,
        link: linkFor(settings.mail.appUrl, "email_verification", verification.token),
      })
      .catch((error: unknown) =>
        console.error(
          JSON.stringify({ level: "error", msg: "verification mail not queued", error: describeError(error) }),
        ),
      );
    return { user, tokens: signIn && (await this.tokenPair(user, signIn.session, signIn.refreshToken, at)) };
  }

  /**
   * A presented device token that names this account in its current device
   * generation picks that device's bucket and is answered back; an absent,
   * forged, foreign or older one counts in the account's bucket, and a new
   * device token is answered.
   */
  async login(
    input: { email: string; password: string; deviceToken?: string | null },
    device: DeviceInfo,
    origin: RequestOrigin,
  ): Promise<LoggedIn> {
    const { stores, settings, clock, hasher, deviceTokens } = this.deps;
    const email = normalizeEmail(input.email);
    const password = normalizePassword(input.password);
    // Pure computation: a token whose tag is not ours is dropped before any I/O.
    const presented = input.deviceToken ? deviceTokens.check(input.deviceToken) : undefined;
    const attempt = { throttles: stores.throttles, clock, loginMaxFailures: settings.loginMaxFailures };
    const { user: found, throttleKey, knownDevice } = await admitSignIn(attempt, email, presented, origin);
    const byPassword: FirstFactorVerifier = {
      // An unknown email, and an account without a password (a provider's, or one whose address a proof
      // claimed: its hash is no PHC string, which would answer at once), cost one argon2id verification too:
      // a dummy hash. Each answers like a wrong password, in the same time.
      verify: (account) =>
        account && hasPassword(account) ? hasher.verify(account.passwordHash, password) : hasher.verifyDummy(password),
    };
    const user = await verifyFirstFactor({ audit: stores.audit, clock }, found, byPassword, origin);
    // Only a caller who knows the password learns that the address is unverified.
    if (settings.requireVerifiedEmail && !user.emailVerified) {
      await stores.audit.record({
        event: "auth.login_failed",
        userId: user.id,
        actorId: user.id,
        origin,
        metadata: { reason: "email_not_verified" },
        at: clock(),
      });
      throw new EmailNotVerified();
    }

    const rehashedPassword = hasher.needsRehash(user.passwordHash) ? await hasher.hash(password) : undefined;
    // The session waits for the second factor, in the same bucket (SecondFactorService).
    if (SecondFactorService.methodsOf(user).length > 0)
      return this.deps.secondFactor.requireSecondFactor(user, { throttleKey, device, rehashedPassword });
    return openSignedInSession({ ...this.deps, sessions: stores.sessions }, user, {
      amr: ["pwd"],
      device,
      origin,
      clearThrottleKey: throttleKey,
      rehashedPassword,
      deviceToken: knownDevice?.token,
    });
  }

  /** Needs the current password; ends every other session of the user, keeps this one. */
  async changePassword(
    input: { userId: string; sessionId: string; currentPassword: string; newPassword: string },
    origin: RequestOrigin,
  ): Promise<void> {
    const { stores, clock, hasher } = this.deps;
    // The new password is judged first: a rejected one is a validation
    // error, not a guess at the current password, and must not count as one.
    const newPassword = await acceptableNewPassword(this.deps.breached, input.newPassword, "newPassword");
    const user = await requireActiveUser(stores.users, input.userId);
    const throttleKey = await proveCurrentPassword(this.deps, user, input.currentPassword, {
      sessionId: input.sessionId,
      origin,
    });
    const passwordHash = await hasher.hash(newPassword);
    const at = clock();
    const ended = await this.deps.unitOfWork.run(async (tx) => {
      await tx.users.setPasswordHash(user.id, passwordHash, at);
      await tx.throttles.clear(throttleKey);
      const endedIds = await tx.sessions.endAllForUser(
        user.id,
        { reason: "password_changed", event: "session.revoked", actorId: user.id, origin, at },
        input.sessionId,
      );
      await tx.audit.record({
        event: "user.password_changed",
        userId: user.id,
        actorId: user.id,
        sessionId: input.sessionId,
        origin,
        metadata: { endedSessions: endedIds.length },
        at,
      });
      return endedIds;
    });
    await this.deps.revocations.publish(endedSessions(ended.map((session) => session.id)));
  }

  private tokenPair(
    user: UserRecord,
    session: { id: string; idleExpiresAt: Date; absoluteExpiresAt: Date },
    refreshToken: string,
    at: Date,
  ): Promise<TokenPair> {
    return issueTokenPair(this.deps.tokens, at, subjectOf(user, session.id, { authTime: at, amr: ["pwd"] }), {
      token: refreshToken,
      idleExpiresAt: session.idleExpiresAt,
      absoluteExpiresAt: session.absoluteExpiresAt,
    });
  }
}
