// AccountService over the in-memory stores with a fixed clock: registration
// (with its verification mail), login (with the throttle, device tokens and
// rehashing) and password change, checked by what is answered, what the
// stores hold afterwards and what was put on the mail queue. The rules under
// REQUIRE_VERIFIED_EMAIL are in lifecycle.test.ts.
import { describe, expect, it, vi } from "vitest";
import { type AuthError, EmailTaken, InvalidCredentials, RateLimited, ValidationFailed } from "../../src/core/errors";
import { accountThrottleKey, AccountService } from "../../src/features/accounts/service";
import { ENDED_PASSWORD_HASH } from "../../src/core/domain";
import { sessionThrottleKey } from "../../src/features/sign-in/attempt";
import { DeviceTokenCodec } from "../../src/features/sign-in/device-tokens";
import { PasswordHasher } from "../../src/features/accounts/passwords";
import {
  CHEAP_ARGON2,
  CountingRateLimit,
  LIFETIMES,
  MAIL_SETTINGS,
  MemoryStores,
  ORIGIN,
  RecordingOutbox,
  RecordingRevocationList,
  testAccessTokens,
  testClock,
  testCodec,
  testDeviceTokens,
  testHasher,
  TOKEN_SETTINGS,
  UNIT_REFRESH_SECRET,
  USER_PERMISSIONS,
} from "../support/fakes";
import { claimsOf } from "../support/harness";

const PASSWORD = "correct horse battery staple 42";
const NEW_PASSWORD = "a different long passphrase, 7 words";
const MAX_FAILURES = 5;
const DEVICE = { name: "Work laptop", userAgent: "vitest" };

async function setup(
  options: { breached?: string[]; registrationLimit?: CountingRateLimit; deviceTokens?: DeviceTokenCodec } = {},
) {
  const memory = new MemoryStores();
  const time = testClock();
  const revocations = new RecordingRevocationList();
  const hasher = testHasher();
  const codec = testCodec();
  const deviceTokens = options.deviceTokens ?? testDeviceTokens();
  const registrationLimit = options.registrationLimit ?? new CountingRateLimit();
  const breached = { isBreached: vi.fn(async (password: string) => (options.breached ?? []).includes(password)) };
  const tokens = await testAccessTokens(time.clock, revocations);
  const outbox = new RecordingOutbox();
  const accounts = new AccountService({
    stores: memory.stores,
    unitOfWork: memory.unitOfWork,
    settings: {
      ...LIFETIMES,
      loginMaxFailures: MAX_FAILURES,
      maxSessionsPerUser: 50,
      requireVerifiedEmail: false,
      mail: MAIL_SETTINGS,
    },
    clock: time.clock,
    hasher,
    breached,
    codec,
    deviceTokens,
    registrationLimit,
    tokens,
    revocations,
    outbox,
    // These accounts have no second factor: a sign-in never gets this far.
    secondFactor: { requireSecondFactor: () => Promise.reject(new Error("no account here has a second factor")) },
  });
  let n = 0;
  const register = (input: { email?: string; password?: string; name?: string | null } = {}) =>
    accounts.register(
      {
        email: input.email ?? `user-${++n}@example.com`,
        password: input.password ?? PASSWORD,
        name: input.name ?? "Ada",
      },
      DEVICE,
      ORIGIN,
    );
  /** register, which signs in here (REQUIRE_VERIFIED_EMAIL is off): its tokens must be there. */
  const signUp = async (input: Parameters<typeof register>[0] = {}) => {
    const { user, tokens } = await register(input);
    if (!tokens) throw new Error("register opened no session");
    return { user, tokens };
  };
  const login = (email: string, password: string, deviceToken?: string) =>
    accounts.login({ email, password, deviceToken }, DEVICE, ORIGIN);
  return {
    memory,
    time,
    revocations,
    hasher,
    codec,
    deviceTokens,
    registrationLimit,
    breached,
    tokens,
    outbox,
    accounts,
    register,
    signUp,
    login,
  };
}

/** The error a promise rejects with; fails if it resolves. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a failure"),
    (error: unknown) => error,
  );
}

/** What a client sees of an error: everything but the cause. */
function seen(error: unknown) {
  const e = error as AuthError;
  return { name: e.name, code: e.code, status: e.status, message: e.message, detail: e.detail, headers: e.headers };
}

describe("register", () => {
  it("creates the user, opens the first session with its audit rows and answers a token pair for it", async () => {
    const t = await setup();
    const { user, tokens } = await t.signUp({ email: "ada@example.com" });
    expect(user).toMatchObject({
      email: "ada@example.com",
      name: "Ada",
      status: "active",
      emailVerified: false,
      roles: ["user"],
      permissions: USER_PERMISSIONS,
      grantsVersion: 0,
    });

    const now = t.time.now();
    expect(t.memory.sessionsOf(user.id)).toEqual([
      expect.objectContaining({
        id: tokens.sessionId,
        device: DEVICE,
        createdAt: now,
        idleExpiresAt: new Date(now.getTime() + LIFETIMES.refreshIdleTtl * 1000),
        absoluteExpiresAt: new Date(now.getTime() + LIFETIMES.refreshAbsoluteTtl * 1000),
        revokedAt: null,
      }),
    ]);
    expect(t.codec.check(tokens.refreshToken)).toEqual({ kind: "tagged", sessionId: tokens.sessionId });
    expect(t.memory.token(t.codec.hash(tokens.refreshToken))).toMatchObject({
      sessionId: tokens.sessionId,
      parentHash: null,
      usedAt: null,
    });
    expect(t.memory.auditRows()).toEqual([
      expect.objectContaining({
        event: "user.registered",
        userId: user.id,
        actorId: user.id,
        sessionId: tokens.sessionId,
        ip: ORIGIN.ip,
        userAgent: ORIGIN.userAgent,
        createdAt: now,
      }),
      expect.objectContaining({
        event: "user.email_verification_sent",
        userId: user.id,
        actorId: user.id,
        sessionId: tokens.sessionId,
        ip: ORIGIN.ip,
        userAgent: ORIGIN.userAgent,
        createdAt: now,
      }),
    ]);

    // Unused, the refresh token lapses at the session's idle expiry, the earlier one at sign-in.
    expect(tokens).toMatchObject({
      tokenType: "Bearer",
      expiresIn: TOKEN_SETTINGS.accessTokenTtl,
      refreshExpiresIn: LIFETIMES.refreshIdleTtl,
    });
    expect(await t.tokens.authenticate(tokens.accessToken)).toMatchObject({
      sub: user.id,
      sid: tokens.sessionId,
      roles: ["user"],
      permissions: USER_PERMISSIONS,
    });
    expect(claimsOf(tokens.accessToken).gv).toBe(0);
  });

  it("mails the new account a verification link; the store holds the link's token only as its hash", async () => {
    const t = await setup();
    const { user, tokens } = await t.signUp({ email: "ada@example.com" });
    expect(t.outbox.jobs).toEqual([
      {
        kind: "mail",
        template: "email_verification",
        to: "ada@example.com",
        userId: user.id,
        link: expect.stringMatching(/^https:\/\/app\.example\.com\/verify-email\?token=[A-Za-z0-9_-]{43}$/),
      },
    ]);
    const token = t.outbox.lastToken("email_verification");
    expect(t.memory.oneTimeTokensOf(user.id)).toEqual([
      expect.objectContaining({ purpose: "email_verification", email: "ada@example.com", usedAt: null }),
    ]);
    expect(JSON.stringify([...t.memory.state.oneTimeTokens.values(), ...t.memory.state.audit])).not.toContain(token);
    expect(claimsOf(tokens.accessToken).email_verified).toBe(false);
  });

  it("stores an argon2id hash of the password, never the password", async () => {
    const t = await setup();
    const { user } = await t.register();
    const stored = t.memory.state.users.get(user.id)!.passwordHash;
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=64,t=1,p=1\$/);
    expect(await t.hasher.verify(stored, PASSWORD)).toBe(true);
    expect(JSON.stringify([...t.memory.state.users.values()])).not.toContain(PASSWORD);
  });

  it("normalises the email and trims the name; a blank name is none", async () => {
    const t = await setup();
    const { user } = await t.register({ email: "  Ada.Lovelace@Example.COM ", name: "   " });
    expect(user).toMatchObject({ email: "ada.lovelace@example.com", name: null });
    const { user: named } = await t.register({ name: "  Grace Hopper " });
    expect(named.name).toBe("Grace Hopper");
  });

  it.each([
    ["too short", "short pw 1"],
    ["too common", "password1234"],
  ])("refuses a password that is %s with validation_failed on the field, writing nothing", async (_label, password) => {
    const t = await setup();
    const error = await failure(t.register({ password }));
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).errors).toEqual([{ path: "password", message: expect.any(String) }]);
    expect(t.memory.snapshot()).toEqual(new MemoryStores().snapshot());
    expect(t.outbox.jobs).toEqual([]);
  });

  it("refuses a breached password, writing nothing", async () => {
    const t = await setup({ breached: [PASSWORD] });
    const error = await failure(t.register());
    expect((error as ValidationFailed).errors).toEqual([
      { path: "password", message: "This password appears in known data breaches; choose another" },
    ]);
    expect(t.memory.state.users.size).toBe(0);
    expect(t.memory.state.audit).toEqual([]);
    expect(t.outbox.jobs).toEqual([]);
  });

  it("refuses an email already registered, in any case, with email_taken and writes nothing more", async () => {
    const t = await setup();
    await t.register({ email: "taken@example.com" });
    const before = t.memory.snapshot();
    const error = await failure(t.register({ email: "TAKEN@example.com" }));
    expect(error).toBeInstanceOf(EmailTaken);
    expect((error as EmailTaken).status).toBe(409);
    expect(t.memory.snapshot()).toEqual(before);
    // Only the first registration's verification mail: the refused one sends none.
    expect(t.outbox.jobs).toHaveLength(1);
  });
});

describe("register: the per-email limit (AUTH_EMAIL_RATE_LIMITER)", () => {
  it(
    "is taken per normalised email before anything else: a refused attempt " +
      "computes no hash, asks no breach list and writes nothing",
    async () => {
      const t = await setup({ registrationLimit: new CountingRateLimit(5) });
      const hash = vi.spyOn(t.hasher, "hash");
      await t.register({ email: "ada@example.com" });
      for (const variant of ["ADA@example.com", " ada@EXAMPLE.com", "Ada@Example.com", "ada@example.COM"]) {
        expect(await failure(t.register({ email: variant }))).toBeInstanceOf(EmailTaken);
      }
      const [hashes, breachChecks, before] = [
        hash.mock.calls.length,
        t.breached.isBreached.mock.calls.length,
        t.memory.snapshot(),
      ];

      const error = await failure(t.register({ email: "ＡＤＡ@example.com" }));
      expect(error).toBeInstanceOf(RateLimited);
      expect((error as RateLimited).headers).toEqual({ "Retry-After": "60" });
      expect(hash.mock.calls.length).toBe(hashes);
      expect(t.breached.isBreached.mock.calls.length).toBe(breachChecks);
      expect(t.memory.snapshot()).toEqual(before);
      // One key for every spelling, and a hash of the email rather than the address.
      expect(new Set(t.registrationLimit.keys)).toEqual(new Set([accountThrottleKey("ada@example.com")]));
      expect(t.registrationLimit.keys.join()).not.toContain("ada");
    },
  );

  it("counts attempts refused by the password policy too, and other emails have their own count", async () => {
    const t = await setup({ registrationLimit: new CountingRateLimit(5) });
    for (let i = 0; i < 5; i++)
      expect(await failure(t.register({ email: "ada@example.com", password: "short" }))).toBeInstanceOf(
        ValidationFailed,
      );
    expect(await failure(t.register({ email: "ada@example.com" }))).toBeInstanceOf(RateLimited);
    expect(t.memory.state.users.size).toBe(0);
    await expect(t.register({ email: "grace@example.com" })).resolves.toMatchObject({
      user: { email: "grace@example.com" },
    });
  });
});

describe("login", () => {
  it(
    "opens a new session with auth.login_succeeded, clears the throttle and " + "answers a pair for that session",
    async () => {
      const t = await setup();
      const { user } = await t.register({ email: "ada@example.com" });
      await failure(t.login("ada@example.com", "not the password at all"));
      expect(t.memory.state.throttles.size).toBe(1);

      const { user: signedIn, tokens } = await t.login(" ADA@example.com", PASSWORD);
      expect(signedIn.id).toBe(user.id);
      expect(t.memory.session(tokens.sessionId)).toMatchObject({ userId: user.id, device: DEVICE, revokedAt: null });
      expect(t.memory.sessionsOf(user.id)).toHaveLength(2);
      expect(t.memory.auditRows({ event: "auth.login_succeeded" })).toEqual([
        expect.objectContaining({ userId: user.id, actorId: user.id, sessionId: tokens.sessionId }),
      ]);
      expect(t.memory.state.throttles.size).toBe(0);
      expect(await t.tokens.authenticate(tokens.accessToken)).toMatchObject({ sub: user.id, sid: tokens.sessionId });
    },
  );

  it(
    "answers an unknown email, a wrong password and a disabled account " +
      "identically, each with one login_failed row",
    async () => {
      const t = await setup();
      const { user: wrong } = await t.register({ email: "wrong@example.com" });
      const { user: disabled } = await t.register({ email: "disabled@example.com" });
      t.memory.state.users.get(disabled.id)!.status = "disabled";
      const sessionsBefore = t.memory.state.sessions.size;

      const errors = [
        await failure(t.login("nobody@example.com", PASSWORD)),
        await failure(t.login("wrong@example.com", "not the password at all")),
        await failure(t.login("disabled@example.com", PASSWORD)),
      ];
      for (const error of errors) expect(error).toBeInstanceOf(InvalidCredentials);
      expect(seen(errors[1])).toEqual(seen(errors[0]));
      expect(seen(errors[2])).toEqual(seen(errors[0]));
      expect(seen(errors[0])).toMatchObject({
        code: "invalid_credentials",
        status: 401,
        detail: undefined,
        headers: {},
      });

      expect(t.memory.auditRows({ event: "auth.login_failed" })).toEqual([
        expect.objectContaining({ userId: null, actorId: null, metadata: { reason: "unknown_email" }, ip: ORIGIN.ip }),
        expect.objectContaining({ userId: wrong.id, actorId: wrong.id, metadata: { reason: "wrong_password" } }),
        expect.objectContaining({
          userId: disabled.id,
          actorId: disabled.id,
          metadata: { reason: "account_disabled" },
        }),
      ]);
      expect(t.memory.state.sessions.size).toBe(sessionsBefore);
    },
  );

  it(
    `locks the account after ${MAX_FAILURES} attempts: then even the right ` +
      `password is rate_limited, with one auth.throttled row`,
    async () => {
      const t = await setup();
      const { user } = await t.register({ email: "ada@example.com" });
      for (let i = 0; i < MAX_FAILURES; i++)
        expect(await failure(t.login("ada@example.com", `wrong guess number ${i}`))).toBeInstanceOf(InvalidCredentials);

      const error = await failure(t.login("ada@example.com", PASSWORD));
      expect(error).toBeInstanceOf(RateLimited);
      expect((error as RateLimited).headers).toEqual({ "Retry-After": "15" });
      expect(t.memory.auditRows({ event: "auth.throttled" })).toEqual([
        expect.objectContaining({ userId: user.id, actorId: user.id, metadata: { scope: "account" } }),
      ]);
      expect(t.memory.auditRows({ event: "auth.login_failed" })).toHaveLength(MAX_FAILURES);
      expect(t.memory.sessionsOf(user.id)).toHaveLength(1);

      t.time.advance(15);
      await expect(t.login("ada@example.com", PASSWORD)).resolves.toMatchObject({ user: { id: user.id } });
      expect(t.memory.state.throttles.size).toBe(0);
    },
  );

  it("throttles an unknown email the same way, with an auth.throttled row naming no user", async () => {
    const t = await setup();
    for (let i = 0; i < MAX_FAILURES; i++) await failure(t.login("nobody@example.com", PASSWORD));
    expect(await failure(t.login("nobody@example.com", PASSWORD))).toBeInstanceOf(RateLimited);
    expect(t.memory.auditRows({ event: "auth.throttled" })).toEqual([
      expect.objectContaining({ userId: null, actorId: null }),
    ]);
  });

  it(
    "timing oracle: an account whose password ended (a provider's account, a claimed address) costs one " +
      "argon2id verification against the dummy hash, as an unknown email does, and answers the same",
    async () => {
      const t = await setup();
      t.memory.addUser({ email: "fed@example.com", passwordHash: ENDED_PASSWORD_HASH });
      const dummy = vi.spyOn(t.hasher, "verifyDummy");
      const unknown = await failure(t.login("nobody@example.com", PASSWORD));
      expect(dummy).toHaveBeenCalledTimes(1);
      const ended = await failure(t.login("fed@example.com", PASSWORD));
      expect(dummy).toHaveBeenCalledTimes(2);
      expect(seen(ended)).toEqual(seen(unknown));
    },
  );

  it("rehashes a password stored at older parameters, and keeps one at the current parameters", async () => {
    const t = await setup();
    const old = await new PasswordHasher({ ...CHEAP_ARGON2, memoryKib: 128 }).hash(PASSWORD);
    const user = t.memory.addUser({ email: "old@example.com", passwordHash: old });
    await t.login("old@example.com", PASSWORD);
    const rehashed = t.memory.state.users.get(user.id)!.passwordHash;
    expect(rehashed).not.toBe(old);
    expect(t.hasher.needsRehash(rehashed)).toBe(false);
    expect(await t.hasher.verify(rehashed, PASSWORD)).toBe(true);

    await t.login("old@example.com", PASSWORD);
    expect(t.memory.state.users.get(user.id)!.passwordHash).toBe(rehashed);
  });

  it(
    "an account disabled between the password check and the sign-in is " +
      "refused like any failed login, with no session",
    async () => {
      const t = await setup();
      const { user } = await t.register({ email: "ada@example.com" });
      t.memory.onCall = (call) => {
        if (call === "sessions.openSignIn") t.memory.state.users.get(user.id)!.status = "disabled";
      };
      expect(await failure(t.login("ada@example.com", PASSWORD))).toBeInstanceOf(InvalidCredentials);
      expect(t.memory.sessionsOf(user.id)).toHaveLength(1);
      expect(t.memory.auditRows({ event: "auth.login_succeeded" })).toEqual([]);
    },
  );
});

describe("device tokens: the owner's device has a bucket of its own", () => {
  const OWNER = "ada@example.com";
  const DEVICE_TOKEN = /^sadt_[A-Za-z0-9_-]{22}\.[0-9a-f-]{36}\.(0|[1-9][0-9]*)\.[A-Za-z0-9_-]{43}$/;

  /** The owner's account, with a device token from a first sign-in. */
  async function withOwnerDevice() {
    const t = await setup();
    const { user } = await t.register({ email: OWNER });
    const { deviceToken } = await t.login(OWNER, PASSWORD);
    return { ...t, user, deviceToken };
  }

  /** An attacker without the device token fails until the account is locked. */
  async function lockAccount(t: Awaited<ReturnType<typeof setup>>, email = OWNER) {
    for (let i = 0; i < MAX_FAILURES; i++)
      expect(await failure(t.login(email, `attacker guess ${i}`))).toBeInstanceOf(InvalidCredentials);
    expect(await failure(t.login(email, PASSWORD))).toBeInstanceOf(RateLimited);
  }

  it("a sign-in answers a device token naming that account's id and device generation", async () => {
    const t = await withOwnerDevice();
    expect(t.deviceToken).toMatch(DEVICE_TOKEN);
    expect(t.deviceTokens.check(t.deviceToken)).toMatchObject({
      token: t.deviceToken,
      userId: t.user.id,
      generation: 0,
    });
    // Another sign-in without it gets another one.
    const again = await t.login(OWNER, PASSWORD);
    expect(again.deviceToken).toMatch(DEVICE_TOKEN);
    expect(again.deviceToken).not.toBe(t.deviceToken);
  });

  it("presenting a valid device token answers it back", async () => {
    const t = await withOwnerDevice();
    expect((await t.login(" ADA@example.com", PASSWORD, t.deviceToken)).deviceToken).toBe(t.deviceToken);
  });

  it(
    "a stranger's guesses never lock the owner's device out, and the owner's " +
      "sign-in does not reset the account bucket",
    async () => {
      const t = await withOwnerDevice();
      await lockAccount(t);
      const signedIn = await t.login(OWNER, PASSWORD, t.deviceToken);
      expect(signedIn.user.id).toBe(t.user.id);
      // The account's bucket is still locked for everyone without the device token.
      expect(await failure(t.login(OWNER, PASSWORD))).toBeInstanceOf(RateLimited);
    },
  );

  it(
    `guesses with a valid device token are throttled in that device's bucket ` +
      `after ${MAX_FAILURES}, with a device-scoped auth.throttled row`,
    async () => {
      const t = await withOwnerDevice();
      for (let i = 0; i < MAX_FAILURES; i++)
        expect(await failure(t.login(OWNER, `wrong on the device ${i}`, t.deviceToken))).toBeInstanceOf(
          InvalidCredentials,
        );
      expect(await failure(t.login(OWNER, PASSWORD, t.deviceToken))).toBeInstanceOf(RateLimited);
      expect(t.memory.auditRows({ event: "auth.throttled" })).toEqual([
        expect.objectContaining({ userId: t.user.id, actorId: t.user.id, metadata: { scope: "device" } }),
      ]);
      // The account's bucket counted none of them.
      await expect(t.login(OWNER, PASSWORD)).resolves.toMatchObject({ user: { id: t.user.id } });
    },
  );

  it("a success clears only the bucket it was counted in", async () => {
    const t = await withOwnerDevice();
    const accountKey = accountThrottleKey(OWNER);
    await failure(t.login(OWNER, "an attacker's guess"));
    await failure(t.login(OWNER, "the owner's typo", t.deviceToken));
    expect(t.memory.state.throttles.size).toBe(2);
    await t.login(OWNER, PASSWORD, t.deviceToken);
    expect([...t.memory.state.throttles.keys()]).toEqual([accountKey]);
    await failure(t.login(OWNER, "the owner's typo", t.deviceToken));
    await t.login(OWNER, PASSWORD);
    expect([...t.memory.state.throttles.keys()]).toEqual([
      expect.stringMatching(new RegExp(`^device:${accountKey}:[0-9a-f]{64}$`)),
    ]);
  });

  it(
    "a device token issued to account A is worthless for account B: it " +
      "counts in B's account bucket and B gets a new one",
    async () => {
      const t = await withOwnerDevice();
      const { user: other } = await t.register({ email: "grace@example.com" });
      await lockAccount(t, "grace@example.com");
      expect(await failure(t.login("grace@example.com", PASSWORD, t.deviceToken))).toBeInstanceOf(RateLimited);
      expect(t.memory.auditRows({ event: "auth.throttled" })).toEqual([
        expect.objectContaining({ userId: other.id, metadata: { scope: "account" } }),
      ]);
      t.time.advance(15);
      const signedIn = await t.login("grace@example.com", PASSWORD, t.deviceToken);
      expect(signedIn.deviceToken).not.toBe(t.deviceToken);
      expect(t.deviceTokens.check(signedIn.deviceToken)).toMatchObject({ userId: other.id });
    },
  );

  it.each([
    ["a forged tag", (good: string) => good.slice(0, -1) + (good.endsWith("A") ? "B" : "A")],
    ["a changed nonce", (good: string) => good.slice(0, 5) + (good[5] === "A" ? "B" : "A") + good.slice(6)],
    ["a token cut short", (good: string) => good.slice(0, -2)],
    ["a refresh token", () => `sart_${"A".repeat(73)}`],
    ["garbage", () => "not a device token at all"],
    [
      "a token of another secret",
      (good: string) =>
        new DeviceTokenCodec("another secret of 32+ characters, different").issue(good.split(".")[1]!, 0),
    ],
    [
      "a token of another device generation",
      (good: string) => new DeviceTokenCodec(UNIT_REFRESH_SECRET).issue(good.split(".")[1]!, 1),
    ],
  ])("%s counts in the account's bucket", async (_label, spoil) => {
    const t = await withOwnerDevice();
    await lockAccount(t);
    const presented = spoil(t.deviceToken);
    expect(presented).not.toBe(t.deviceToken);
    expect(await failure(t.login(OWNER, PASSWORD, presented))).toBeInstanceOf(RateLimited);
  });

  it(
    "a device token tagged under the previous secret still picks its " +
      "device's bucket, and is answered re-tagged under the current one",
    async () => {
      const rotated = new DeviceTokenCodec("the next refresh secret, 32+ characters", UNIT_REFRESH_SECRET);
      const after = await setup({ deviceTokens: rotated });
      const { user } = await after.register({ email: OWNER });
      const before = new DeviceTokenCodec(UNIT_REFRESH_SECRET).issue(user.id, 0);
      await lockAccount(after);
      const { deviceToken } = await after.login(OWNER, PASSWORD, before);
      expect(deviceToken).not.toBe(before);
      expect(deviceToken.slice(0, 27)).toBe(before.slice(0, 27));
      expect(rotated.check(deviceToken)).toMatchObject({ token: deviceToken, userId: user.id, generation: 0 });
      expect(new DeviceTokenCodec("the next refresh secret, 32+ characters").check(deviceToken)).toBeDefined();
    },
  );

  it("the device token is never stored or audited: no row holds it or its nonce", async () => {
    const t = await withOwnerDevice();
    await failure(t.login(OWNER, "the owner's typo", t.deviceToken));
    for (let i = 0; i < MAX_FAILURES + 1; i++) await failure(t.login(OWNER, `wrong on the device ${i}`, t.deviceToken));
    const stored = JSON.stringify([
      ...t.memory.state.throttles.values(),
      ...t.memory.state.audit,
      ...t.memory.state.sessions.values(),
    ]);
    expect(t.memory.auditRows({ event: "auth.throttled" })).toHaveLength(1);
    expect(stored).not.toContain(t.deviceToken.slice(5, 27));
    expect(stored).not.toContain(t.deviceToken.slice(27));
  });

  it(
    "LoginThrottleStore.clearAccount clears the account's bucket and every " +
      "device bucket under it, and no other account's",
    async () => {
      const t = await withOwnerDevice();
      const second = await t.login(OWNER, PASSWORD);
      await t.register({ email: "grace@example.com" });
      await failure(t.login(OWNER, "an attacker's guess"));
      await failure(t.login(OWNER, "a typo on the first device", t.deviceToken));
      await failure(t.login(OWNER, "a typo on the second device", second.deviceToken));
      await failure(t.login("grace@example.com", "someone else's typo"));
      expect(t.memory.state.throttles.size).toBe(4);
      await t.memory.stores.throttles.clearAccount(accountThrottleKey(OWNER));
      expect([...t.memory.state.throttles.keys()]).toEqual([accountThrottleKey("grace@example.com")]);
    },
  );
});

describe("auth.throttled: one row per lock, not per refused attempt", () => {
  it("many refusals during one lock write one row; the next lock writes another", async () => {
    const t = await setup();
    const { user } = await t.register({ email: "ada@example.com" });
    for (let i = 0; i < MAX_FAILURES; i++) await failure(t.login("ada@example.com", `wrong guess number ${i}`));
    for (let i = 0; i < 10; i++)
      expect(await failure(t.login("ada@example.com", PASSWORD))).toBeInstanceOf(RateLimited);
    expect(t.memory.auditRows({ event: "auth.throttled" })).toHaveLength(1);

    // The 15 s lock ends; the next wrong guess is checked and locks for 30 s.
    t.time.advance(15);
    expect(await failure(t.login("ada@example.com", "one more wrong guess"))).toBeInstanceOf(InvalidCredentials);
    for (let i = 0; i < 10; i++)
      expect((await failure(t.login("ada@example.com", PASSWORD))) as RateLimited).toMatchObject({
        headers: { "Retry-After": "30" },
      });
    expect(t.memory.auditRows({ event: "auth.throttled" })).toEqual([
      expect.objectContaining({ userId: user.id, metadata: { scope: "account" } }),
      expect.objectContaining({ userId: user.id, metadata: { scope: "account" }, createdAt: t.time.now() }),
    ]);
  });
});

describe("changePassword", () => {
  async function withThreeSessions() {
    const t = await setup();
    const { user, tokens } = await t.signUp({ email: "ada@example.com" });
    const second = await t.login("ada@example.com", PASSWORD);
    const third = await t.login("ada@example.com", PASSWORD);
    const change = (currentPassword: string, newPassword: string) =>
      t.accounts.changePassword({ userId: user.id, sessionId: tokens.sessionId, currentPassword, newPassword }, ORIGIN);
    return { ...t, user, current: tokens.sessionId, others: [second.tokens.sessionId, third.tokens.sessionId], change };
  }

  it(
    "stores the new password, ends and revokes every other session, keeps " +
      "this one, clears the session's bucket (never the account's) and audits " +
      "it",
    async () => {
      const t = await withThreeSessions();
      await failure(t.login("ada@example.com", "a stranger's guess"));
      await failure(t.change("the owner's typo here", NEW_PASSWORD));
      expect([...t.memory.state.throttles.keys()].sort()).toEqual(
        [accountThrottleKey("ada@example.com"), sessionThrottleKey(t.current)].sort(),
      );
      t.time.advance(60);
      await t.change(PASSWORD, NEW_PASSWORD);

      const stored = t.memory.state.users.get(t.user.id)!.passwordHash;
      expect(await t.hasher.verify(stored, NEW_PASSWORD)).toBe(true);
      expect(await t.hasher.verify(stored, PASSWORD)).toBe(false);
      expect(t.memory.session(t.current)!.revokedAt).toBeNull();
      for (const id of t.others)
        expect(t.memory.session(id)).toMatchObject({ revokedAt: t.time.now(), revokedReason: "password_changed" });
      expect(
        t.memory
          .auditRows({ event: "session.revoked" })
          .map((r) => r.sessionId)
          .sort(),
      ).toEqual([...t.others].sort());
      // Every other session is published ended at once, the current one kept.
      expect(t.revocations.sessionCalls.map((ids) => [...ids].sort())).toEqual([[...t.others].sort()]);
      expect([...t.memory.state.throttles.keys()]).toEqual([accountThrottleKey("ada@example.com")]);
      expect(t.memory.auditRows({ event: "user.password_changed" })).toEqual([
        expect.objectContaining({
          userId: t.user.id,
          actorId: t.user.id,
          sessionId: t.current,
          metadata: { endedSessions: 2 },
        }),
      ]);
    },
  );

  it(
    "refuses a wrong current password with invalid_credentials and a " + "login_failed row, changing nothing else",
    async () => {
      const t = await withThreeSessions();
      const passwordHash = t.memory.state.users.get(t.user.id)!.passwordHash;
      expect(await failure(t.change("not the password at all", NEW_PASSWORD))).toBeInstanceOf(InvalidCredentials);
      expect(t.memory.state.users.get(t.user.id)!.passwordHash).toBe(passwordHash);
      expect(t.memory.auditRows({ event: "auth.login_failed" })).toEqual([
        expect.objectContaining({ userId: t.user.id, metadata: { reason: "wrong_current_password" } }),
      ]);
      expect(t.memory.sessionsOf(t.user.id).filter((session) => session.revokedAt === null)).toHaveLength(3);
      expect(t.revocations.sessionCalls).toEqual([]);
    },
  );

  it("a rejected new password is a validation error, not a guess: it is never counted toward the lock", async () => {
    const t = await withThreeSessions();
    const before = t.memory.snapshot();
    for (let i = 0; i < MAX_FAILURES * 2; i++) {
      const error = await failure(t.change(i % 2 ? PASSWORD : "not the password at all", "too short"));
      expect((error as ValidationFailed).errors).toEqual([{ path: "newPassword", message: expect.any(String) }]);
    }
    expect(t.memory.snapshot()).toEqual(before);
    await expect(t.change(PASSWORD, NEW_PASSWORD)).resolves.toBeUndefined();
  });

  it(
    `locks after ${MAX_FAILURES} wrong current passwords: then even the ` +
      `right one is rate_limited, with one auth.throttled row`,
    async () => {
      const t = await withThreeSessions();
      for (let i = 0; i < MAX_FAILURES; i++) await failure(t.change(`wrong guess number ${i}`, NEW_PASSWORD));
      expect(await failure(t.change(PASSWORD, NEW_PASSWORD))).toBeInstanceOf(RateLimited);
      expect(t.memory.auditRows({ event: "auth.throttled" })).toHaveLength(1);
      expect(await t.hasher.verify(t.memory.state.users.get(t.user.id)!.passwordHash, PASSWORD)).toBe(true);
    },
  );

  it("a disabled account cannot change its password", async () => {
    const t = await withThreeSessions();
    t.memory.state.users.get(t.user.id)!.status = "disabled";
    expect(await failure(t.change(PASSWORD, NEW_PASSWORD))).toBeInstanceOf(InvalidCredentials);
  });

  it(
    "a unit of work that fails writes nothing: the password, the sessions " + "and the throttle stay as they were",
    async () => {
      const t = await withThreeSessions();
      await failure(t.login("ada@example.com", "not the password at all"));
      const before = t.memory.snapshot();
      t.memory.onCall = (call) => {
        if (call === "audit.record") throw new Error("connection lost");
      };
      await expect(t.change(PASSWORD, NEW_PASSWORD)).rejects.toThrow("connection lost");
      t.memory.onCall = undefined;
      // The attempt was counted in the session's bucket before the unit of work
      // began; the unit's own writes, clearing it among them, are gone.
      const { throttles: afterThrottles, ...after } = t.memory.snapshot();
      const { throttles: beforeThrottles, ...unchanged } = before;
      expect(after).toEqual(unchanged);
      expect([...afterThrottles.entries()]).toEqual([
        ...beforeThrottles.entries(),
        [sessionThrottleKey(t.current), expect.objectContaining({ failures: 1 })],
      ]);
      expect(t.revocations.sessionCalls).toEqual([]);
    },
  );
});
