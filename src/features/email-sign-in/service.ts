// Email sign-in (docs/email-sign-in.md): a 6-digit code and a magic link
// mailed to an address, which sign in to its account, or create it. The
// request does the same work for every address: one statement that records
// the request if the address is under its hourly cap (counted whoever asks,
// known or not), and one job on the mail queue naming that row. The queue
// consumer (mintCode) decides whether the address gets anything, so the
// answer is the same in status, body, headers and time for every address,
// as forgot-password's is.
//
// Verifying plugs into the one sign-in attempt (sign-in/attempt.ts): it counts
// in the account's throttle bucket (or the presented device's) before the
// code is checked, a wrong code also counts against the code (the fifth
// spends it), and every failure answers invalid_email_code alike (a wrong,
// expired, spent or replaced code, an unknown address, a disabled account).
// A right one is the first proof of the address: an account whose address
// was never verified is claimed (UserStore.claimByProof: its unproven holder's
// sessions, password, factors, pending changes and device tokens end).
import type { Clock } from "../../core/clock";
import type { DeviceInfo, RequestOrigin, UserRecord } from "../../core/domain";
import { sha256Hex } from "../../core/encoding";
import { InvalidEmailCode, NotFound, ValidationFailed } from "../../core/errors";
import type { Stores, UnitOfWork } from "../../stores";
import { normalizeEmail } from "../accounts/passwords";
import type { MailJob, MailOutbox } from "../mail/store";
import { SecondFactorService } from "../mfa/service";
import { type EndedSession, endedSessions, type RevocationList } from "../sessions/store";
import type { RefreshTokenCodec, SessionLifetimes } from "../sessions";
import { admitSignIn, verifyAddressProof, type FirstFactorVerifier } from "../sign-in/attempt";
import type { DeviceTokenCodec } from "../sign-in/device-tokens";
import { openSignedInSession, type LoggedIn } from "../sign-in/service";
import type { AccessTokens } from "../tokens";
import {
  EMAIL_CODE_TTL_SECONDS,
  hashEmailLinkToken,
  magicLinkFor,
  MAX_EMAIL_CODE_FAILURES,
  MAX_EMAIL_CODES_PER_HOUR,
  type EmailCodeHasher,
} from "./codes";
import type { LiveEmailCode } from "./store";

export type EmailSignInDeps = {
  stores: Pick<Stores, "emailCodes" | "users" | "throttles" | "audit" | "sessions">;
  unitOfWork: UnitOfWork;
  settings: SessionLifetimes & {
    loginMaxFailures: number;
    maxSessionsPerUser: number;
    redirectUrls: readonly string[];
    emailSignIn: { enabled: boolean; signUp: boolean };
    mail: { appUrl: string };
  };
  clock: Clock;
  codes: EmailCodeHasher;
  codec: RefreshTokenCodec;
  deviceTokens: DeviceTokenCodec;
  tokens: AccessTokens;
  revocations: Pick<RevocationList, "publish">;
  outbox: MailOutbox;
  /** For an account with a second factor, a right code stores an mfaToken and answers mfa_required. */
  secondFactor: Pick<SecondFactorService, "requireSecondFactor">;
};

/** What verifying a code proves: by code (with the address it was sent to) or by the magic link's token. */
export type EmailCodeProof = { email: string; code: string } | { token: string };

/** A sign-in by email code also says whether it created the account. */
export type EmailSignedIn = LoggedIn & { isNewUser: boolean };

/** What a code of no row is compared against, so an address with no live code costs the same. */
const DUMMY_ROW = { id: "00000000-0000-0000-0000-000000000000", codeHash: "0".repeat(64) };

/**
 * The exact REDIRECT_URLS entry `raw` names, or 400 validation_failed: scheme, host, port and path must be an entry's,
 * with no query and no fragment.
 */
export function exactRedirectUrl(allowed: readonly string[], raw: string): string {
  const url = raw.includes("?") || raw.includes("#") ? null : URL.parse(raw);
  if (url && allowed.includes(url.href)) return url.href;
  throw new ValidationFailed(
    [{ path: "redirectTo", message: "must be one of the service's REDIRECT_URLS exactly" }],
    "redirectTo is not an allowed redirect URL",
  );
}

export class EmailSignInService {
  constructor(private readonly deps: EmailSignInDeps) {}

  /** Whether email sign-in is on (EMAIL_SIGN_IN): when off, its routes answer as if absent. */
  get enabled(): boolean {
    return this.deps.settings.emailSignIn.enabled;
  }

  /**
   * POST /auth/email/code: the same work for every address. `redirectTo`, if
   * given, must be an exact REDIRECT_URLS entry (judged before anything is
   * written, the same for every address).
   */
  async requestCode(input: { email: string; redirectTo?: string }): Promise<void> {
    const { stores, clock, settings } = this.deps;
    this.requireEnabled();
    const redirectTo =
      input.redirectTo === undefined ? null : exactRedirectUrl(settings.redirectUrls, input.redirectTo);
    const at = clock();
    const email = normalizeEmail(input.email);
    const request = await stores.emailCodes.request({
      email,
      addressKey: sha256Hex(`email-code:${email}`),
      redirectTo,
      maxPerHour: MAX_EMAIL_CODES_PER_HOUR,
      // A request the queue has not minted within a code's lifetime is dropped.
      expiresAt: new Date(at.getTime() + EMAIL_CODE_TTL_SECONDS * 1000),
      at,
    });
    // Past the address's hourly cap nothing is queued: the answer is the same.
    if (request)
      await this.deps.outbox.enqueue({
        kind: "email_code_request",
        id: request.id,
        signUp: settings.emailSignIn.signUp,
      });
  }

  /**
   * For the queue consumer: mints the code and link of request `id` into its
   * row and answers the mail that carries them, or undefined when the address
   * may not get one (a disabled account; an unknown address with sign-up off)
   * or the request is no longer pending. `signUp`: EMAIL_SIGN_UP as the request found it.
   */
  async mintCode(id: string, signUp: boolean): Promise<MailJob | undefined> {
    const { stores, clock, settings, codes } = this.deps;
    const at = clock();
    const minted = codes.mint(id);
    const sent = await stores.emailCodes.mint({
      id,
      codeHash: minted.codeHash,
      tokenHash: minted.tokenHash,
      signUp,
      expiresAt: new Date(at.getTime() + EMAIL_CODE_TTL_SECONDS * 1000),
      at,
    });
    if (!sent) return undefined;
    return {
      kind: "mail",
      template: "email_sign_in_code",
      to: sent.email,
      ...(sent.userId ? { userId: sent.userId } : {}),
      code: minted.code,
      link: magicLinkFor(settings.mail.appUrl, sent.redirectTo, minted.token),
    };
  }

  /** POST /auth/email/code/verify: signs in (or up) with a code or a magic link's token. */
  async verify(
    proof: EmailCodeProof,
    input: { device: DeviceInfo; deviceToken?: string | null },
    origin: RequestOrigin,
  ): Promise<EmailSignedIn> {
    const { stores, clock, settings, deviceTokens, codes } = this.deps;
    this.requireEnabled();
    // A link's token names its address; it is 256 bits, so looking it up is no guess worth counting.
    let live: LiveEmailCode | undefined;
    if ("token" in proof) {
      live = await stores.emailCodes.findByToken(hashEmailLinkToken(proof.token), MAX_EMAIL_CODE_FAILURES, clock());
      if (!live) throw new InvalidEmailCode("link unknown, expired or spent");
    }
    const email = live?.email ?? normalizeEmail((proof as { email: string }).email);
    // Pure computation: a token whose tag is not ours is dropped before any I/O.
    const presented = input.deviceToken ? deviceTokens.check(input.deviceToken) : undefined;
    const attempt = { throttles: stores.throttles, clock, loginMaxFailures: settings.loginMaxFailures };
    const { user: found, throttleKey, knownDevice } = await admitSignIn(attempt, email, presented, origin);

    const byCode: FirstFactorVerifier = {
      refuse: (reason) => new InvalidEmailCode(reason),
      wrong: "wrong_email_code",
      verify: async () => {
        if ("token" in proof) return true;
        live = await stores.emailCodes.findLive(email, MAX_EMAIL_CODE_FAILURES, clock());
        const row = live ?? DUMMY_ROW;
        const right = codes.matches(row.id, proof.code.trim(), row.codeHash) && live !== undefined;
        // The MAX_EMAIL_CODE_FAILURES-th wrong code spends it, whatever bucket the guesses counted in.
        if (!right && live) await stores.emailCodes.recordFailure(live.id, MAX_EMAIL_CODE_FAILURES, clock());
        return right;
      },
    };
    const proven = await verifyAddressProof(
      { audit: stores.audit, clock },
      found,
      byCode,
      origin,
      settings.emailSignIn.signUp,
    );
    const { user, isNewUser, claimed } = await this.spend(live!, email, proven, origin);
    if (claimed.length > 0) await this.deps.revocations.publish(endedSessions(claimed.map((session) => session.id)));
    const device = input.device;
    // The code is one factor: an account with a second one owes it, in the same bucket.
    if (SecondFactorService.methodsOf(user).length > 0)
      return this.deps.secondFactor.requireSecondFactor(user, { throttleKey, device, firstFactor: "email" });
    const signedIn = await openSignedInSession({ ...this.deps, sessions: stores.sessions }, user, {
      amr: ["email"],
      device,
      origin,
      clearThrottleKey: throttleKey,
      // A claim started a new device generation: the presented token no longer counts.
      deviceToken:
        claimed.length === 0 && user.deviceGeneration === found?.deviceGeneration ? knownDevice?.token : undefined,
    });
    return { ...signedIn, isNewUser };
  }

  /**
   * In one transaction: spends the code (of two racing, one wins), creates
   * the account for an address that had none, or claims one whose address was
   * never verified, with the auth.email_code_login row; answers the account as
   * it now is.
   */
  private spend(
    code: LiveEmailCode,
    email: string,
    proven: UserRecord | undefined,
    origin: RequestOrigin,
  ): Promise<{ user: UserRecord; isNewUser: boolean; claimed: EndedSession[] }> {
    const { clock } = this.deps;
    return this.deps.unitOfWork.run(async (tx) => {
      const at = clock();
      if (!(await tx.emailCodes.spend(code.id, MAX_EMAIL_CODE_FAILURES, at)))
        throw new InvalidEmailCode("code spent meanwhile");
      let claimed: EndedSession[] = [];
      let user: UserRecord | undefined;
      if (!proven) {
        // An account registered since the code was checked: nothing is spent, a new attempt signs in to it.
        user = await tx.emailCodes.createAccount({ email, origin, at });
        if (!user) throw new InvalidEmailCode("address taken meanwhile");
      } else {
        if (!proven.emailVerified)
          claimed =
            (await tx.users.claimByProof({ userId: proven.id, proof: "email_code", endPassword: true, origin, at })) ??
            [];
        user = await tx.users.findById(proven.id);
        if (user?.status !== "active") throw new InvalidEmailCode("account gone or disabled meanwhile");
      }
      await tx.audit.record({
        event: "auth.email_code_login",
        userId: user.id,
        actorId: user.id,
        origin,
        metadata: { newAccount: !proven, claimed: proven !== undefined && !proven.emailVerified },
        at,
      });
      return { user, isNewUser: !proven, claimed };
    });
  }

  private requireEnabled(): void {
    if (!this.enabled) throw new NotFound("Email sign-in is off");
  }
}
