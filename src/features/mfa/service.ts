// Second factors: TOTP enrolment and removal, recovery codes, the second step
// of a password sign-in, and re-authentication. The second step counts in the
// bucket the password counted in, before any code is checked, so a stolen
// password gives no more guesses at the code than at the password. A factor
// is enrolled only on a proven address, so whoever registers someone else's
// address cannot plant one that outlives its owner's recovery.
import type { Clock } from "../../core/clock";
import {
  ConfigError,
  EmailNotVerified,
  InvalidMfaCode,
  InvalidMfaToken,
  MfaRequired,
  NotFound,
  ReauthenticationRequired,
  ValidationFailed,
  type MfaMethod,
} from "../../core/errors";
import { proveCurrentPassword } from "../accounts/credentials";
import { requireActiveUser } from "../sign-in/active-user";
import {
  admit,
  admitInSession,
  admitPendingSignIn,
  pendingDepsOf,
  completePendingSignIn,
  recordFailedFactor,
  recordFailedReproof,
  resumePendingSignIn,
  type FactorVerifier,
} from "../sign-in/attempt";
import { provenHolder } from "../accounts/proven-holder";
import type { PasswordHasher } from "../accounts/passwords";
import {
  type AuthMethod,
  type DeviceInfo,
  type FirstFactor,
  hasPassword,
  type RequestOrigin,
  type UserRecord,
} from "../../core/domain";
import type { FactorAudit } from "./store";
import type { Stores } from "../../stores";
import type { LoggedIn, SignInDeps } from "../sign-in/service";
import type { AccessTokens } from "../tokens";
import { mintMfaToken } from "../sign-in/challenges";
import {
  hasSecondFactor,
  reauthMethodsOf,
  renewSessionProof,
  strongEnough,
  type Reauthenticated,
} from "../reauthentication/service";
import { hashRecoveryCode, newRecoveryCodes } from "./recovery-codes";
import type { SecretBox } from "./secret-box";
import { matchingStep, newTotpSecret, otpauthUri } from "./totp";

export type SecondFactorDeps = SignInDeps & {
  stores: Pick<Stores, "users" | "secondFactors" | "challenges" | "throttles" | "audit" | "sessions">;
  settings: SignInDeps["settings"] & { loginMaxFailures: number; requireVerifiedEmail: boolean; issuerName: string };
  clock: Clock;
  hasher: PasswordHasher;
  /** Undefined when MFA_ENCRYPTION_KEY is not set: TOTP cannot be enrolled or checked. */
  secretBox: SecretBox | undefined;
  tokens: AccessTokens;
  /**
   * The email code an account without a password re-authenticates with (email-sign-in/reauthentication.ts);
   * undefined: that path is not wired, and such an account re-authenticates with a passkey only.
   */
  emailCodes?: { prove(user: UserRecord, code: string, caller: FactorActor): Promise<string> };
};

/** Who is changing their own factors, from where. */
export type FactorActor = { userId: string; sessionId: string; origin: RequestOrigin };

/** What completes a password sign-in: a TOTP code or a recovery code. */
export type SecondStep = { code: string } | { recoveryCode: string };

/**
 * What re-authenticates here: the current password (for an account without
 * one, an email code from POST /auth/reauthenticate/email), alone (an
 * account without a second factor) or with a TOTP code or a recovery code.
 * A passkey assertion is PasskeyService.reauthenticate's.
 */
export type ReauthProof = ({ currentPassword: string } | { emailCode: string }) & {
  code?: string;
  recoveryCode?: string;
};

export type { Reauthenticated };

/** Wrong codes that end a pending TOTP enrolment. */
export const MAX_CONFIRMATION_FAILURES = 5;

/** The detail of email_not_verified when an unverified account tries to add a factor. */
export const ENROLMENT_NEEDS_VERIFIED_EMAIL = "Verify your email address before adding a second factor or a passkey.";

export class SecondFactorService {
  constructor(private readonly deps: SecondFactorDeps) {}

  /** A new pending TOTP secret, replacing a pending one; refused while a confirmed factor exists. */
  async startTotp(actor: FactorActor): Promise<{ secret: string; otpauthUri: string }> {
    const { stores, clock } = this.deps;
    const user = await this.provenHolder(actor);
    const box = this.secretBox();
    const secret = newTotpSecret();
    const stored = await stores.secondFactors.putPendingTotp(user.id, await box.seal(secret.key, user.id), clock());
    if (!stored)
      throw new ValidationFailed(
        [
          {
            path: "(body)",
            message: "TOTP is already enrolled; remove it (DELETE /me/mfa/totp) before enrolling again",
          },
        ],
        "TOTP is already enrolled",
      );
    return { secret: secret.base32, otpauthUri: otpauthUri(this.deps.settings.issuerName, user.email, secret.key) };
  }

  /**
   * The pending secret's otpauth URI again, for showing it as a QR code; not
   * found once the factor is confirmed (an enrolled secret is never shown
   * again) or when no enrolment is pending.
   */
  async pendingTotpUri(actor: FactorActor): Promise<string> {
    const user = await this.activeUser(actor.userId);
    const factor = await this.deps.stores.secondFactors.totp(user.id);
    if (!factor || factor.confirmed) throw new NotFound("No TOTP enrolment is pending");
    return otpauthUri(
      this.deps.settings.issuerName,
      user.email,
      await this.secretBox().open(factor.secretCiphertext, user.id),
    );
  }

  /**
   * The pending factor's first code confirms it: TOTP is required at sign-in
   * from now on; the recovery codes, shown once. Each attempt counts in the
   * caller's session's bucket first, and the MAX_CONFIRMATION_FAILURES-th
   * wrong code ends the pending enrolment, so its secret cannot be guessed
   * into place.
   */
  async confirmTotp(actor: FactorActor, code: string): Promise<{ recoveryCodes: string[] }> {
    const { stores, clock, settings } = this.deps;
    // A pending enrolment started while the address was proven (or before v3) still needs it proven.
    await this.provenHolder(actor);
    const throttleKey = await admitInSession(
      { throttles: stores.throttles, clock, loginMaxFailures: settings.loginMaxFailures },
      actor.userId,
      actor.sessionId,
      actor.origin,
    );
    const factor = await stores.secondFactors.totp(actor.userId);
    if (!factor || factor.confirmed)
      throw new ValidationFailed(
        [{ path: "code", message: "No TOTP enrolment is pending: start one with POST /me/mfa/totp" }],
        "No TOTP enrolment is pending",
      );
    const at = clock();
    const step = matchingStep(await this.secretBox().open(factor.secretCiphertext, actor.userId), code.trim(), at);
    if (step === undefined) {
      const ended = await stores.secondFactors.failPendingTotp({
        userId: actor.userId,
        maxFailures: MAX_CONFIRMATION_FAILURES,
        audit: this.audit(actor),
      });
      throw new InvalidMfaCode(
        ended ? "wrong code at confirmation; the enrolment ended" : "wrong code at confirmation",
      );
    }
    const recovery = newRecoveryCodes();
    const accepted = await stores.secondFactors.acceptTotpStep({
      userId: actor.userId,
      step,
      at,
      confirm: { recoveryCodeHashes: recovery.hashes, audit: this.audit(actor) },
    });
    if (!accepted) throw new InvalidMfaCode("code already used, or the enrolment changed meanwhile");
    await stores.throttles.clear(throttleKey);
    return { recoveryCodes: recovery.codes };
  }

  async removeTotp(actor: FactorActor): Promise<void> {
    if (!(await this.deps.stores.secondFactors.removeTotp(actor.userId, this.audit(actor))))
      throw new NotFound("No TOTP factor is enrolled");
  }

  async regenerateRecoveryCodes(actor: FactorActor): Promise<{ recoveryCodes: string[] }> {
    const recovery = newRecoveryCodes();
    if (
      !(await this.deps.stores.secondFactors.replaceRecoveryCodes(actor.userId, recovery.hashes, this.audit(actor)))
    ) {
      throw new NotFound("Recovery codes come with TOTP: enrol TOTP first");
    }
    return { recoveryCodes: recovery.codes };
  }

  /** The methods that can complete a sign-in of this user; empty when the account has no second factor. */
  static methodsOf(user: UserRecord): MfaMethod[] {
    const methods: MfaMethod[] = [];
    if (user.mfa.totp) methods.push("totp", "recovery_code");
    if (user.mfa.passkeys > 0) methods.push("passkey");
    return methods;
  }

  /**
   * After a right first step (a password, or an email code: `firstFactor`): stores the mfaToken (with the sign-in's
   * rehash, if one is owed) and answers mfa_required.
   */
  async requireSecondFactor(
    user: UserRecord,
    attempt: {
      throttleKey: string;
      device: DeviceInfo;
      rehashedPassword?: string;
      firstFactor?: FirstFactor;
      /** After a provider: its id, which the session the second step opens carries. */
      idp?: string;
    },
  ): Promise<never> {
    const at = this.deps.clock();
    const token = mintMfaToken(at);
    await this.deps.stores.challenges.create(
      {
        keyHash: token.keyHash,
        kind: "mfa_sign_in",
        userId: user.id,
        throttleKey: attempt.throttleKey,
        firstFactor: attempt.firstFactor ?? "pwd",
        ...(attempt.idp ? { idp: attempt.idp } : {}),
        device: attempt.device,
        expiresAt: token.expiresAt,
      },
      at,
      attempt.rehashedPassword,
    );
    throw new MfaRequired(token.secret, SecondFactorService.methodsOf(user));
  }

  /** POST /auth/mfa: the second step of a password sign-in, by TOTP code or recovery code. */
  async completeSignIn(
    mfaToken: string,
    step: SecondStep,
    device: { name?: string },
    origin: RequestOrigin,
  ): Promise<LoggedIn> {
    const { stores, settings } = this.deps;
    const attempt = pendingDepsOf(this.deps);
    const pending = await resumePendingSignIn(attempt, mfaToken);
    const user = await requireActiveUser(stores.users, pending.userId, (reason) => new InvalidMfaToken(reason));
    // Counted before any code is checked, in the bucket the password counted in.
    await admitPendingSignIn(attempt, pending, origin);
    const verifier = this.verifierFor(
      "code" in step ? { code: step.code } : { recoveryCode: step.recoveryCode },
      origin,
    );
    if (!(await verifier.verify(user.id))) {
      await recordFailedFactor(attempt, pending, verifier.method, origin);
      throw new InvalidMfaCode(`wrong ${verifier.method}`);
    }
    if (settings.requireVerifiedEmail && !user.emailVerified) throw new EmailNotVerified();
    return completePendingSignIn(
      { ...this.deps, challenges: stores.challenges },
      pending,
      user,
      "otp",
      device.name,
      origin,
    );
  }

  /**
   * recent(): passes a proof that is fresh and, for an account with a second
   * factor, made of two; otherwise reauthentication_required with what would
   * be enough. The claims decide alone when they can (a fresh two-factor
   * proof); else one read of the account, and a gone or disabled one is refused.
   */
  async requireRecentProof(userId: string, proof: { fresh: boolean; amr: readonly string[] }): Promise<void> {
    if (proof.fresh && proof.amr.includes("mfa")) return;
    const user = await this.activeUser(userId);
    if (!proof.fresh || !strongEnough(user, proof.amr)) throw new ReauthenticationRequired(reauthMethodsOf(user));
  }

  /**
   * POST /auth/reauthenticate with the password: a new proof for the
   * caller's session. The password is checked first and counted, whatever
   * comes with it; with a second factor enrolled, a right one alone answers
   * reauthentication_required with the methods, and a code counts in the
   * same bucket before it is checked, as at sign-in. A right proof clears it.
   */
  async reauthenticate(actor: FactorActor, proof: ReauthProof): Promise<Reauthenticated> {
    const { stores, clock } = this.deps;
    const user = await this.activeUser(actor.userId);
    const factor = proof.code !== undefined ? "totp" : proof.recoveryCode !== undefined ? "recovery_code" : undefined;
    if (factor && !user.mfa.totp) {
      throw new ValidationFailed([
        {
          path: factor === "totp" ? "code" : "recoveryCode",
          message: "TOTP is not enrolled: re-authenticate with currentPassword (or emailCode) alone, or a passkey",
        },
      ]);
    }
    const throttleKey = await this.proveFirst(user, proof, actor);
    const first: AuthMethod = "emailCode" in proof ? "email" : "pwd";
    let amr: AuthMethod[] = [first];
    if (factor === undefined) {
      if (hasSecondFactor(user)) throw new ReauthenticationRequired(reauthMethodsOf(user));
    } else {
      await admit(pendingDepsOf(this.deps), throttleKey, { scope: "session", userId: user.id, origin: actor.origin });
      const verifier = this.verifierFor(
        proof.code !== undefined ? { code: proof.code } : { recoveryCode: proof.recoveryCode! },
        actor.origin,
      );
      if (!(await verifier.verify(user.id))) {
        await recordFailedReproof({ audit: stores.audit, clock }, actor, verifier.method);
        throw new InvalidMfaCode(`wrong ${factor} at re-authentication`);
      }
      amr = [first, "otp", "mfa"];
    }
    const renewed = await renewSessionProof(this.deps, user, actor, amr);
    await stores.throttles.clear(throttleKey);
    return renewed;
  }

  /**
   * The first proof of a re-authentication, counted in the caller's session: the password, or for an account without
   * one the email code (a password account is refused the email path, and vice versa, with validation_failed).
   */
  private proveFirst(user: UserRecord, proof: ReauthProof, actor: FactorActor): Promise<string> {
    if ("currentPassword" in proof) {
      if (!hasPassword(user))
        throw new ValidationFailed(
          [{ path: "currentPassword", message: "This account has no password: send emailCode instead" }],
          "This account has no password",
        );
      return proveCurrentPassword(this.deps, user, proof.currentPassword, actor);
    }
    if (!this.deps.emailCodes) throw new ConfigError("emailCodes", "re-authentication by email code is not wired");
    return this.deps.emailCodes.prove(user, proof.emailCode, actor);
  }

  /** The verifier of a TOTP code or a recovery code (spent when right, from `origin`). */
  private verifierFor(step: SecondStep, origin: RequestOrigin): FactorVerifier {
    const { stores, clock } = this.deps;
    if ("code" in step) return { method: "totp", verify: (userId) => this.acceptTotpCode(userId, step.code) };
    return {
      method: "recovery_code",
      verify: (userId) =>
        stores.secondFactors.spendRecoveryCode({
          userId,
          codeHash: hashRecoveryCode(step.recoveryCode),
          origin,
          at: clock(),
        }),
    };
  }

  /**
   * A code of the user's confirmed factor, accepted once: a replay within its step, or a code older than the last
   * accepted one, is refused.
   */
  private async acceptTotpCode(userId: string, code: string): Promise<boolean> {
    const { stores, clock } = this.deps;
    const factor = await stores.secondFactors.totp(userId);
    if (!factor?.confirmed) return false;
    const at = clock();
    const step = matchingStep(await this.secretBox().open(factor.secretCiphertext, userId), code.trim(), at);
    if (step === undefined) return false;
    return stores.secondFactors.acceptTotpStep({ userId, step, at });
  }

  private secretBox(): SecretBox {
    if (!this.deps.secretBox) throw new ConfigError("MFA_ENCRYPTION_KEY", "is not set: TOTP needs it");
    return this.deps.secretBox;
  }

  private activeUser(userId: string): Promise<UserRecord> {
    return requireActiveUser(this.deps.stores.users, userId);
  }

  /** The caller, if they may enrol a factor (accounts/proven-holder.ts). */
  private provenHolder(actor: FactorActor): Promise<UserRecord> {
    return provenHolder(this.deps, actor, ENROLMENT_NEEDS_VERIFIED_EMAIL);
  }

  private audit(actor: FactorActor): FactorAudit {
    return { actorId: actor.userId, sessionId: actor.sessionId, origin: actor.origin, at: this.deps.clock() };
  }
}
