// SecondFactorService over the in-memory stores with a fixed clock: TOTP
// enrolment, the second step of a sign-in (TOTP and recovery codes, the
// mfaToken's expiry and failure limit, the shared throttle bucket) and
// re-authentication, checked by what is answered and what the stores hold.
// Codes come from the otpauth package, not from the code under test.
import { describe, expect, it } from "vitest";
import {
  EmailNotVerified,
  InvalidMfaCode,
  InvalidMfaToken,
  MfaRequired,
  NotFound,
  RateLimited,
  ReauthenticationRequired,
  ValidationFailed,
} from "../../src/core/errors";
import { accountThrottleKey, sessionThrottleKey } from "../../src/features/sign-in/attempt";
import { challengeKeyHash } from "../../src/features/sign-in/challenges";
import { MAX_CONFIRMATION_FAILURES, SecondFactorService } from "../../src/features/mfa/service";
import { SecretBox } from "../../src/features/mfa/secret-box";
import {
  LIFETIMES,
  MemoryStores,
  ORIGIN,
  RecordingRevocationList,
  testAccessTokens,
  testClock,
  testCodec,
  testDeviceTokens,
  testHasher,
  testSession,
} from "../support/fakes";
import { claimsOf } from "../support/harness";
import { totpCode } from "../support/totp";

const PASSWORD = "correct horse battery staple 42";

async function setup(options: { loginMaxFailures?: number; requireVerifiedEmail?: boolean } = {}) {
  const memory = new MemoryStores();
  const time = testClock();
  const revocations = new RecordingRevocationList();
  const hasher = testHasher();
  const tokens = await testAccessTokens(time.clock, revocations);
  const service = new SecondFactorService({
    stores: memory.stores,
    sessions: memory.stores.sessions,
    settings: {
      ...LIFETIMES,
      maxSessionsPerUser: 50,
      loginMaxFailures: options.loginMaxFailures ?? 5,
      requireVerifiedEmail: options.requireVerifiedEmail ?? false,
      issuerName: "SecureAuth",
    },
    clock: time.clock,
    hasher,
    secretBox: new SecretBox(new Uint8Array(32).fill(3)),
    tokens,
    codec: testCodec(),
    deviceTokens: testDeviceTokens(),
    revocations,
  });
  const user = memory.addUser({
    email: "alice@example.com",
    passwordHash: await hasher.hash(PASSWORD),
    emailVerified: true,
  });
  // A live session: enrolling a factor needs one in the store, not only a token the edge accepts.
  const { session } = testSession(time.now());
  await memory.stores.sessions.openSignIn({
    userId: user.id,
    session,
    origin: ORIGIN,
    at: time.now(),
    clearThrottleKey: "unused",
    maxSessions: 50,
  });
  const actor = { userId: user.id, sessionId: session.id, origin: ORIGIN };

  async function enrol() {
    const { secret } = await service.startTotp(actor);
    const { recoveryCodes } = await service.confirmTotp(actor, totpCode(secret, time.now()));
    time.advance(30);
    return { secret, recoveryCodes };
  }

  /** A right password's answer: the mfaToken. */
  async function passwordStep(): Promise<string> {
    const error = await service
      .requireSecondFactor(memory.user(user.id)!, {
        throttleKey: accountThrottleKey(user.email),
        device: { name: "laptop" },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MfaRequired);
    return (error as MfaRequired).mfaToken;
  }

  return { memory, time, service, user, actor, enrol, passwordStep };
}

describe("SecondFactorService: TOTP enrolment", () => {
  it(
    "stores the secret sealed and pending; the first code confirms it and " + "stores ten hashed recovery codes",
    async () => {
      const { memory, service, actor, user, time } = await setup();
      const { secret } = await service.startTotp(actor);
      const stored = memory.state.totpFactors.get(user.id)!;
      expect(stored.confirmedAt).toBeNull();
      expect(stored.secretCiphertext).not.toContain(secret);
      const { recoveryCodes } = await service.confirmTotp(actor, totpCode(secret, time.now()));
      expect(recoveryCodes).toHaveLength(10);
      expect(memory.state.totpFactors.get(user.id)!.confirmedAt).not.toBeNull();
      expect([...memory.state.recoveryCodes.values()].filter((c) => c.userId === user.id)).toHaveLength(10);
      expect(memory.user(user.id)!.mfa).toEqual({ totp: true, passkeys: 0 });
      expect(SecondFactorService.methodsOf(memory.user(user.id)!)).toEqual(["totp", "recovery_code"]);
    },
  );

  it(
    "v3: an account whose address is unproven enrols no factor (pre-account " +
      "hijack): start and a pending confirmation answer email_not_verified",
    async () => {
      const { memory, service, actor, user, time } = await setup();
      const { secret } = await service.startTotp(actor);
      memory.state.users.get(user.id)!.emailVerifiedAt = null;
      await expect(service.startTotp(actor)).rejects.toBeInstanceOf(EmailNotVerified);
      await expect(service.confirmTotp(actor, totpCode(secret, time.now()))).rejects.toBeInstanceOf(EmailNotVerified);
      expect(memory.state.totpFactors.get(user.id)!.confirmedAt).toBeNull();
      expect(memory.state.recoveryCodes.size).toBe(0);
    },
  );

  it(
    "v3: an ended session enrols nothing, though the edge may still accept " +
      "its token for a while (a claimed account's squatter)",
    async () => {
      const { memory, service, actor, user, time } = await setup();
      const { secret } = await service.startTotp(actor);
      await memory.stores.sessions.end(actor.sessionId, user.id, {
        reason: "password_reset",
        event: "session.revoked",
        actorId: null,
        origin: ORIGIN,
        at: time.now(),
      });
      await expect(service.startTotp(actor)).rejects.toMatchObject({ code: "invalid_token" });
      await expect(service.confirmTotp(actor, totpCode(secret, time.now()))).rejects.toMatchObject({
        code: "invalid_token",
      });
      expect(memory.state.totpFactors.get(user.id)!.confirmedAt).toBeNull();
    },
  );

  it("refuses a second enrolment while one is confirmed, and confirmation with nothing pending", async () => {
    const { service, actor, enrol } = await setup();
    await expect(service.confirmTotp(actor, "123456")).rejects.toBeInstanceOf(ValidationFailed);
    await enrol();
    await expect(service.startTotp(actor)).rejects.toBeInstanceOf(ValidationFailed);
  });

  it(
    "five wrong confirmation codes end the pending enrolment: the right code " +
      "is then refused, and a new enrolment starts afresh",
    async () => {
      const { memory, service, actor, user, time } = await setup({ loginMaxFailures: 100 });
      const { secret } = await service.startTotp(actor);
      const right = totpCode(secret, time.now());
      const wrong = right === "000000" ? "111111" : "000000";
      for (let i = 0; i < MAX_CONFIRMATION_FAILURES; i++)
        await expect(service.confirmTotp(actor, wrong)).rejects.toBeInstanceOf(InvalidMfaCode);
      expect(memory.state.totpFactors.has(user.id)).toBe(false);
      expect(memory.auditRows({ event: "mfa.challenge_failed" })).toHaveLength(MAX_CONFIRMATION_FAILURES);
      await expect(service.confirmTotp(actor, right)).rejects.toBeInstanceOf(ValidationFailed);
      const again = await service.startTotp(actor);
      expect(memory.state.totpFactors.get(user.id)!.failedConfirmations).toBe(0);
      await expect(service.confirmTotp(actor, totpCode(again.secret, time.now()))).resolves.toMatchObject({
        recoveryCodes: expect.any(Array),
      });
    },
  );

  it(
    "confirmation attempts count in the calling session's bucket, never the " +
      "account's: locked, even the right code is rate_limited",
    async () => {
      const { memory, service, actor, time } = await setup({ loginMaxFailures: 3 });
      const { secret } = await service.startTotp(actor);
      const right = totpCode(secret, time.now());
      const wrong = right === "000000" ? "111111" : "000000";
      for (let i = 0; i < 3; i++)
        await expect(service.confirmTotp(actor, wrong)).rejects.toBeInstanceOf(InvalidMfaCode);
      await expect(service.confirmTotp(actor, right)).rejects.toBeInstanceOf(RateLimited);
      expect([...memory.state.throttles.keys()]).toEqual([sessionThrottleKey(actor.sessionId)]);
      expect(memory.auditRows({ event: "auth.throttled" })).toEqual([
        expect.objectContaining({ metadata: { scope: "session" } }),
      ]);
    },
  );

  it("removal ends the codes; regenerating without TOTP is not found", async () => {
    const { memory, service, actor, user, enrol } = await setup();
    await enrol();
    await service.removeTotp(actor);
    expect(memory.state.totpFactors.has(user.id)).toBe(false);
    expect([...memory.state.recoveryCodes.values()].filter((c) => c.userId === user.id)).toHaveLength(0);
    await expect(service.regenerateRecoveryCodes(actor)).rejects.toBeInstanceOf(NotFound);
    await expect(service.removeTotp(actor)).rejects.toBeInstanceOf(NotFound);
  });
});

describe("SecondFactorService: the second step", () => {
  it("stores only the mfaToken's hash, and the code completes the sign-in with amr pwd+otp+mfa", async () => {
    const { memory, service, time, enrol, passwordStep } = await setup();
    const { secret } = await enrol();
    const token = await passwordStep();
    expect(memory.state.challenges.has(challengeKeyHash(token))).toBe(true);
    expect(memory.state.challenges.has(token)).toBe(false);
    const signedIn = await service.completeSignIn(token, { code: totpCode(secret, time.now()) }, {}, ORIGIN);
    expect(claimsOf(signedIn.tokens.accessToken).amr).toEqual(["pwd", "otp", "mfa"]);
    expect(memory.state.sessions.get(signedIn.tokens.sessionId)!.device.name).toBe("laptop");
  });

  it("a code is accepted once", async () => {
    const { service, time, enrol, passwordStep } = await setup();
    const { secret } = await enrol();
    const code = totpCode(secret, time.now());
    await service.completeSignIn(await passwordStep(), { code }, {}, ORIGIN);
    await expect(service.completeSignIn(await passwordStep(), { code }, {}, ORIGIN)).rejects.toBeInstanceOf(
      InvalidMfaCode,
    );
  });

  it("the fifth wrong code spends the mfaToken", async () => {
    const { service, time, enrol, passwordStep } = await setup({ loginMaxFailures: 100 });
    const { secret } = await enrol();
    const token = await passwordStep();
    for (let i = 0; i < 5; i++)
      await expect(service.completeSignIn(token, { code: "000000" }, {}, ORIGIN)).rejects.toBeInstanceOf(
        InvalidMfaCode,
      );
    await expect(
      service.completeSignIn(token, { code: totpCode(secret, time.now()) }, {}, ORIGIN),
    ).rejects.toBeInstanceOf(InvalidMfaToken);
  });

  it("the mfaToken expires after 300 seconds", async () => {
    const { service, time, enrol, passwordStep } = await setup();
    const { secret } = await enrol();
    const token = await passwordStep();
    time.advance(300);
    await expect(
      service.completeSignIn(token, { code: totpCode(secret, time.now()) }, {}, ORIGIN),
    ).rejects.toBeInstanceOf(InvalidMfaToken);
  });

  it("codes count in the account's bucket: the limit answers 429 before any code is checked", async () => {
    const { service, time, enrol, passwordStep } = await setup({ loginMaxFailures: 3 });
    const { secret } = await enrol();
    const token = await passwordStep();
    for (let i = 0; i < 3; i++)
      await service.completeSignIn(token, { code: "000000" }, {}, ORIGIN).catch(() => undefined);
    await expect(
      service.completeSignIn(token, { code: totpCode(secret, time.now()) }, {}, ORIGIN),
    ).rejects.toBeInstanceOf(RateLimited);
  });

  it("a recovery code works once", async () => {
    const { service, enrol, passwordStep } = await setup();
    const { recoveryCodes } = await enrol();
    await service.completeSignIn(await passwordStep(), { recoveryCode: recoveryCodes[0]! }, {}, ORIGIN);
    await expect(
      service.completeSignIn(await passwordStep(), { recoveryCode: recoveryCodes[0]! }, {}, ORIGIN),
    ).rejects.toBeInstanceOf(InvalidMfaCode);
  });
});

describe("SecondFactorService: re-authentication", () => {
  it("the password and a TOTP code renew the session's auth_time with amr pwd+otp+mfa", async () => {
    const { memory, service, time, enrol, passwordStep } = await setup();
    const { secret } = await enrol();
    const signedIn = await service.completeSignIn(
      await passwordStep(),
      { code: totpCode(secret, time.now()) },
      {},
      ORIGIN,
    );
    time.advance(900);
    const actor = { userId: signedIn.user.id, sessionId: signedIn.tokens.sessionId, origin: ORIGIN };
    const renewed = await service.reauthenticate(actor, {
      currentPassword: PASSWORD,
      code: totpCode(secret, time.now()),
    });
    expect(claimsOf(renewed.accessToken)).toMatchObject({
      auth_time: Math.floor(time.now().getTime() / 1000),
      amr: ["pwd", "otp", "mfa"],
      sid: actor.sessionId,
    });
    expect(memory.state.sessions.get(actor.sessionId)).toMatchObject({
      authTime: time.now(),
      amr: ["pwd", "otp", "mfa"],
    });
  });

  it(
    "with TOTP enrolled, the right password alone renews nothing: " + "reauthentication_required with the methods",
    async () => {
      const { memory, service, time, enrol, passwordStep } = await setup();
      const { secret } = await enrol();
      const signedIn = await service.completeSignIn(
        await passwordStep(),
        { code: totpCode(secret, time.now()) },
        {},
        ORIGIN,
      );
      time.advance(900);
      const actor = { userId: signedIn.user.id, sessionId: signedIn.tokens.sessionId, origin: ORIGIN };
      const error = await service.reauthenticate(actor, { currentPassword: PASSWORD }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReauthenticationRequired);
      expect((error as ReauthenticationRequired).methods).toEqual(["password+totp", "password+recovery_code"]);
      expect(memory.state.sessions.get(actor.sessionId)).toMatchObject({ amr: ["pwd", "otp", "mfa"] });
      await expect(service.requireRecentProof(actor.userId, { fresh: true, amr: ["pwd"] })).rejects.toBeInstanceOf(
        ReauthenticationRequired,
      );
      await expect(
        service.requireRecentProof(actor.userId, { fresh: true, amr: ["pwd", "otp", "mfa"] }),
      ).resolves.toBeUndefined();
      await expect(
        service.requireRecentProof(actor.userId, { fresh: false, amr: ["pwd", "otp", "mfa"] }),
      ).rejects.toBeInstanceOf(ReauthenticationRequired);
    },
  );

  it(
    "a stranger who locks the account's bucket cannot stop the signed-in " +
      "owner from re-authenticating; a stolen session's guesses lock only that " +
      "session",
    async () => {
      const { memory, service, user, actor } = await setup({ loginMaxFailures: 3 });
      // The account's bucket, locked by a stranger's sign-in guesses.
      for (let i = 0; i < 4; i++)
        await memory.stores.throttles.admit({
          key: accountThrottleKey(user.email),
          maxAttempts: 3,
          at: new Date(),
          audit: { scope: "account", userId: user.id, origin: ORIGIN },
        });
      const open = async (id: string) => {
        const session = {
          id,
          device: {},
          refreshTokenHash: crypto.randomUUID(),
          idleExpiresAt: new Date(Date.now() + 3.6e6),
          absoluteExpiresAt: new Date(Date.now() + 3.6e6),
          amr: ["pwd" as const],
        };
        expect(
          (
            await memory.stores.sessions.openSignIn({
              userId: user.id,
              session,
              origin: ORIGIN,
              at: new Date(),
              clearThrottleKey: "none",
              maxSessions: 50,
            })
          ).opened,
        ).toBe(true);
      };
      await expect(service.reauthenticate(actor, { currentPassword: PASSWORD })).resolves.toMatchObject({
        sessionId: actor.sessionId,
      });

      for (let i = 0; i < 3; i++)
        await expect(service.reauthenticate(actor, { currentPassword: `thief's guess ${i}` })).rejects.toThrow();
      await expect(service.reauthenticate(actor, { currentPassword: PASSWORD })).rejects.toBeInstanceOf(RateLimited);
      const other = { ...actor, sessionId: crypto.randomUUID() };
      await open(other.sessionId);
      await expect(service.reauthenticate(other, { currentPassword: PASSWORD })).resolves.toMatchObject({
        sessionId: other.sessionId,
      });
    },
  );
});
