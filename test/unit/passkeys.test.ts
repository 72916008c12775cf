// PasskeyService over the in-memory stores with a fixed clock, and a
// software authenticator (test/support/webauthn.ts) for real WebAuthn
// responses: what each ceremony stores (challenge hashes only, single use),
// the order of the second step (the sign-in's throttle bucket counts before
// the assertion is looked at), and what a refused response leaves behind
// (nothing but the spent challenge). test/http/passkeys.test.ts runs the
// same rules over HTTP and Postgres.
import { describe, expect, it } from "vitest";
import {
  EmailNotVerified,
  InvalidCredentials,
  InvalidMfaToken,
  RateLimited,
  ValidationFailed,
} from "../../src/core/errors";
import { accountThrottleKey } from "../../src/features/sign-in/attempt";
import { challengeKeyHash, mintMfaToken } from "../../src/features/sign-in/challenges";
import { PasskeyService } from "../../src/features/passkeys/service";
import {
  LIFETIMES,
  MemoryStores,
  ORIGIN,
  RecordingRevocationList,
  testAccessTokens,
  testClock,
  testCodec,
  testDeviceTokens,
  testSession,
} from "../support/fakes";
import { claimsOf } from "../support/harness";
import { b64url, SoftAuthenticator } from "../support/webauthn";

const WEBAUTHN = { rpId: "app.example.com", rpName: "SecureAuth unit", origins: ["https://app.example.com"] };
const AT = { origin: WEBAUTHN.origins[0]!, rpId: WEBAUTHN.rpId };

async function setup(options: { requireVerifiedEmail?: boolean; loginMaxFailures?: number } = {}) {
  const memory = new MemoryStores();
  const time = testClock();
  const revocations = new RecordingRevocationList();
  const service = new PasskeyService({
    stores: memory.stores,
    sessions: memory.stores.sessions,
    settings: {
      ...LIFETIMES,
      maxSessionsPerUser: 50,
      loginMaxFailures: options.loginMaxFailures ?? 5,
      requireVerifiedEmail: options.requireVerifiedEmail ?? false,
      webauthn: WEBAUTHN,
    },
    clock: time.clock,
    tokens: await testAccessTokens(time.clock, revocations),
    codec: testCodec(),
    deviceTokens: testDeviceTokens(),
    revocations,
  });
  const user = memory.addUser({ email: "alice@example.com", emailVerified: true });
  /** A live session of `userId`: adding a passkey needs one in the store, not only a token the edge accepts. */
  async function liveSession(userId: string): Promise<string> {
    const { session } = testSession(time.now());
    await memory.stores.sessions.openSignIn({
      userId,
      session,
      origin: ORIGIN,
      at: time.now(),
      clearThrottleKey: "unused",
      maxSessions: 50,
    });
    return session.id;
  }
  const actor = { userId: user.id, sessionId: await liveSession(user.id), origin: ORIGIN };

  /** A registered passkey of `userId` (default: alice). */
  async function registered(userId = user.id) {
    const device = await SoftAuthenticator.create(AT);
    const who = userId === user.id ? actor : { ...actor, userId, sessionId: await liveSession(userId) };
    const record = await service.register(
      who,
      (await device.register(await service.registrationOptions(who))) as never,
      "Laptop",
    );
    return { device, record };
  }

  /** An assertion for fresh sign-in options. */
  async function assertion(device: SoftAuthenticator, userHandle: string | null = user.id, ceremony = {}) {
    return (await device.assert(await service.signInOptions(), userHandle, ceremony)) as never;
  }

  /** A pending password sign-in of alice: its mfaToken, as SecondFactorService.requireSecondFactor stores it. */
  async function pendingSignIn(userId = user.id) {
    const token = mintMfaToken(time.now());
    await memory.stores.challenges.create(
      {
        keyHash: token.keyHash,
        kind: "mfa_sign_in",
        userId,
        throttleKey: accountThrottleKey("alice@example.com"),
        device: { name: "laptop" },
        expiresAt: token.expiresAt,
      },
      time.now(),
    );
    return token.secret;
  }

  return { memory, time, service, user, actor, liveSession, registered, assertion, pendingSignIn };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("PasskeyService: registration", () => {
  it(
    "options name the user by id, exclude their credentials, and store only " + "the challenge's hash, for 5 minutes",
    async () => {
      const { memory, service, actor, user, registered, time } = await setup();
      const { device } = await registered();
      const options = await service.registrationOptions(actor);
      expect(options.user.id).toBe(b64url(new TextEncoder().encode(user.id)));
      expect(options.excludeCredentials?.map((c) => c.id)).toEqual([device.id]);
      expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
      const stored = memory.state.challenges.get(challengeKeyHash(options.challenge))!;
      expect(stored).toMatchObject({ kind: "passkey_registration", userId: user.id, usedAt: null });
      expect(stored.expiresAt.getTime() - time.now().getTime()).toBe(300_000);
      expect(JSON.stringify([...memory.state.challenges.values()])).not.toContain(options.challenge);
    },
  );

  it(
    "a verified response stores the credential with a passkey.registered " +
      "row; replayed, it is refused and nothing more is stored",
    async () => {
      const { memory, service, actor } = await setup();
      const device = await SoftAuthenticator.create(AT);
      const response = (await device.register(await service.registrationOptions(actor))) as never;
      const record = await service.register(actor, response, null);
      expect(record).toMatchObject({ name: null, lastUsedAt: null });
      expect([...memory.state.passkeys.values()].map((p) => p.credentialId)).toEqual([device.id]);
      expect(memory.state.audit.filter((r) => r.event === "passkey.registered").map((r) => r.metadata)).toEqual([
        { passkeyId: record.id, name: null },
      ]);
      const before = memory.snapshot().passkeys;
      expect(await refusal(service.register(actor, response, null))).toBeInstanceOf(ValidationFailed);
      expect(memory.state.passkeys).toEqual(before);
    },
  );

  it(
    "v3: an account whose address is unproven adds no passkey (pre-account " +
      "hijack): options and registration answer email_not_verified, nothing " +
      "stored",
    async () => {
      const { memory, service, actor, user } = await setup();
      const device = await SoftAuthenticator.create(AT);
      const options = await service.registrationOptions(actor);
      memory.state.users.get(user.id)!.emailVerifiedAt = null;
      expect(await refusal(service.registrationOptions(actor))).toBeInstanceOf(EmailNotVerified);
      expect(await refusal(service.register(actor, (await device.register(options)) as never, null))).toBeInstanceOf(
        EmailNotVerified,
      );
      expect(memory.state.passkeys.size).toBe(0);
    },
  );

  it(
    "v3: an ended session adds no passkey, though the edge may still accept " +
      "its token for a while (a claimed account's squatter)",
    async () => {
      const { memory, service, actor, user, time } = await setup();
      const device = await SoftAuthenticator.create(AT);
      const options = await service.registrationOptions(actor);
      await memory.stores.sessions.end(actor.sessionId, user.id, {
        reason: "password_reset",
        event: "session.revoked",
        actorId: null,
        origin: ORIGIN,
        at: time.now(),
      });
      expect(await refusal(service.registrationOptions(actor))).toMatchObject({ code: "invalid_token" });
      expect(await refusal(service.register(actor, (await device.register(options)) as never, null))).toMatchObject({
        code: "invalid_token",
      });
      expect(memory.state.passkeys.size).toBe(0);
    },
  );

  it("another user's challenge is refused, and spent", async () => {
    const { memory, service, actor, liveSession } = await setup();
    const bob = memory.addUser({ emailVerified: true });
    const device = await SoftAuthenticator.create(AT);
    const options = await service.registrationOptions(actor);
    const error = await refusal(
      service.register(
        { ...actor, userId: bob.id, sessionId: await liveSession(bob.id) },
        (await device.register(options)) as never,
        null,
      ),
    );
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).errors[0]!.path).toBe("response");
    expect(memory.state.passkeys.size).toBe(0);
    expect(memory.state.challenges.get(challengeKeyHash(options.challenge))!.usedAt).not.toBeNull();
  });

  it(
    "no user verification, another origin or relying party, or an expired " + "challenge: refused, nothing stored",
    async () => {
      const { memory, service, actor, time } = await setup();
      for (const ceremony of [
        { userVerified: false },
        { origin: "https://evil.example.net" },
        { rpId: "evil.example.net" },
      ]) {
        const device = await SoftAuthenticator.create(AT);
        expect(
          await refusal(
            service.register(
              actor,
              (await device.register(await service.registrationOptions(actor), ceremony)) as never,
              null,
            ),
          ),
        ).toBeInstanceOf(ValidationFailed);
      }
      const device = await SoftAuthenticator.create(AT);
      const options = await service.registrationOptions(actor);
      time.advance(301);
      expect(await refusal(service.register(actor, (await device.register(options)) as never, null))).toBeInstanceOf(
        ValidationFailed,
      );
      expect(memory.state.passkeys.size).toBe(0);
    },
  );
});

describe("PasskeyService: sign-in", () => {
  it("options list no credentials and store an unowned challenge", async () => {
    const { memory, service } = await setup();
    const options = await service.signInOptions();
    expect(options.allowCredentials).toBeUndefined();
    expect(options.userVerification).toBe("required");
    expect(memory.state.challenges.get(challengeKeyHash(options.challenge))).toMatchObject({
      kind: "passkey_authentication",
      userId: null,
    });
  });

  it(
    "a passkey alone signs in as two factors (amr hwk+mfa: user verification " +
      "is required) without touching the password throttle, and keeps the new " +
      "counter",
    async () => {
      const { memory, service, user, registered, assertion } = await setup();
      const { device, record } = await registered();
      const signedIn = await service.signIn(await assertion(device), { device: { name: "Phone" } }, ORIGIN);
      expect(signedIn.user.id).toBe(user.id);
      expect(claimsOf(signedIn.tokens.accessToken).amr).toEqual(["hwk", "mfa"]);
      expect(memory.state.passkeys.get(record.id)).toMatchObject({ counter: 1 });
      expect(memory.state.passkeys.get(record.id)!.lastUsedAt).not.toBeNull();
      expect(memory.calls.filter((call) => call === "throttles.admit")).toEqual([]);
    },
  );

  it(
    "unknown credential, wrong user handle, counter gone backwards, disabled " +
      "account: one answer, invalid_credentials",
    async () => {
      const { memory, service, user, registered, assertion } = await setup();
      const { device } = await registered();
      const stranger = await SoftAuthenticator.create(AT);
      expect(await refusal(service.signIn(await assertion(stranger), { device: {} }, ORIGIN))).toBeInstanceOf(
        InvalidCredentials,
      );
      expect(
        await refusal(service.signIn(await assertion(device, crypto.randomUUID()), { device: {} }, ORIGIN)),
      ).toBeInstanceOf(InvalidCredentials);
      device.setCounter(10);
      await service.signIn(await assertion(device), { device: {} }, ORIGIN);
      device.setCounter(2);
      expect(await refusal(service.signIn(await assertion(device), { device: {} }, ORIGIN))).toBeInstanceOf(
        InvalidCredentials,
      );
      memory.state.users.get(user.id)!.status = "disabled";
      expect(await refusal(service.signIn(await assertion(device), { device: {} }, ORIGIN))).toBeInstanceOf(
        InvalidCredentials,
      );
    },
  );

  it(
    "REQUIRE_VERIFIED_EMAIL: an unverified account's passkey answers " + "email_not_verified and opens no session",
    async () => {
      const { memory, service, user, registered, assertion } = await setup({ requireVerifiedEmail: true });
      // Registered while the address was proven (v3 adds no passkey to an unverified account), then unproven.
      const { device } = await registered();
      memory.state.users.get(user.id)!.emailVerifiedAt = null;
      const sessions = memory.state.sessions.size;
      expect(await refusal(service.signIn(await assertion(device), { device: {} }, ORIGIN))).toBeInstanceOf(
        EmailNotVerified,
      );
      expect(memory.state.sessions.size).toBe(sessions);
    },
  );
});

describe("PasskeyService: the second step of a password sign-in", () => {
  it(
    "counts in the sign-in's bucket before the assertion is looked at, " +
      "completes with amr pwd+hwk+mfa, and spends the mfaToken",
    async () => {
      const { memory, service, registered, assertion, pendingSignIn } = await setup();
      const { device } = await registered();
      const mfaToken = await pendingSignIn();
      memory.calls.length = 0;
      const signedIn = await service.signIn(await assertion(device), { mfaToken, device: {} }, ORIGIN);
      expect(claimsOf(signedIn.tokens.accessToken).amr).toEqual(["pwd", "hwk", "mfa"]);
      const calls = memory.calls.filter((c) => !c.startsWith("challenges.create"));
      expect(calls.indexOf("throttles.admit")).toBeLessThan(calls.indexOf("passkeys.findByCredentialId"));
      expect(memory.state.challenges.get(challengeKeyHash(mfaToken))!.usedAt).not.toBeNull();
      // The completed sign-in cleared the bucket its password counted in.
      expect(memory.state.throttles.has(accountThrottleKey("alice@example.com"))).toBe(false);
      expect(await refusal(service.signIn(await assertion(device), { mfaToken, device: {} }, ORIGIN))).toBeInstanceOf(
        InvalidMfaToken,
      );
    },
  );

  it(
    "another user's passkey: invalid_credentials, a failure counted against " +
      "the mfaToken and an mfa.challenge_failed row",
    async () => {
      const { memory, service, user, registered, assertion, pendingSignIn } = await setup();
      const bob = memory.addUser({ emailVerified: true });
      const { device: bobs } = await registered(bob.id);
      const mfaToken = await pendingSignIn();
      expect(
        await refusal(service.signIn(await assertion(bobs, bob.id), { mfaToken, device: {} }, ORIGIN)),
      ).toBeInstanceOf(InvalidCredentials);
      expect(memory.state.challenges.get(challengeKeyHash(mfaToken))).toMatchObject({ failures: 1, usedAt: null });
      expect(
        memory.state.audit.filter((r) => r.event === "mfa.challenge_failed").map((r) => [r.userId, r.metadata]),
      ).toEqual([[user.id, { method: "passkey" }]]);
    },
  );

  it("a locked bucket answers 429 before any assertion is checked", async () => {
    const { service, registered, assertion, pendingSignIn } = await setup({ loginMaxFailures: 2 });
    const { device } = await registered();
    const stranger = await SoftAuthenticator.create(AT);
    const mfaToken = await pendingSignIn();
    expect(await refusal(service.signIn(await assertion(stranger), { mfaToken, device: {} }, ORIGIN))).toBeInstanceOf(
      InvalidCredentials,
    );
    expect(await refusal(service.signIn(await assertion(stranger), { mfaToken, device: {} }, ORIGIN))).toBeInstanceOf(
      InvalidCredentials,
    );
    expect(await refusal(service.signIn(await assertion(device), { mfaToken, device: {} }, ORIGIN))).toBeInstanceOf(
      RateLimited,
    );
  });

  it("an unknown or expired mfaToken: invalid_mfa_token, nothing counted", async () => {
    const { memory, service, time, registered, assertion, pendingSignIn } = await setup();
    const { device } = await registered();
    expect(
      await refusal(service.signIn(await assertion(device), { mfaToken: "samfa_unknown", device: {} }, ORIGIN)),
    ).toBeInstanceOf(InvalidMfaToken);
    const mfaToken = await pendingSignIn();
    time.advance(301);
    expect(await refusal(service.signIn(await assertion(device), { mfaToken, device: {} }, ORIGIN))).toBeInstanceOf(
      InvalidMfaToken,
    );
    expect(memory.state.throttles.size).toBe(0);
  });
});
