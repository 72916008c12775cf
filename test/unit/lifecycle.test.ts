// The account lifecycle by email (AccountLifecycle) over the in-memory stores
// with a fixed clock, a recording mail outbox and a recording revocation list:
// verification, forgot and reset password, email change, profile edits and
// deletion (by the owner and by an administrator), and AccountService's
// register and login under REQUIRE_VERIFIED_EMAIL. Each rule is checked by
// what is answered or thrown, what the stores hold afterwards, what was put
// on the mail queue and what reached the edge.
import { describe, expect, it, vi } from "vitest";
import {
  type AuthError,
  EmailNotVerified,
  EmailTaken,
  InsufficientPermission,
  InvalidCredentials,
  InvalidOneTimeToken,
  InvalidToken,
  NotFound,
  RateLimited,
  ValidationFailed,
} from "../../src/core/errors";
import { accountThrottleKey, AccountService } from "../../src/features/accounts/service";
import { AdminService, OPERATOR, type AdminActor } from "../../src/features/admin";
import { sessionThrottleKey } from "../../src/features/sign-in/attempt";
import { AccountLifecycle, requesterNetworkHash } from "../../src/features/lifecycle/service";
import type { MailJob } from "../../src/features/mail/store";
import type { UserRecord } from "../../src/core/domain";
import {
  CountingRateLimit,
  LIFETIMES,
  MAIL_SETTINGS,
  MemoryStores,
  ORIGIN,
  RecordingOutbox,
  RecordingRevocationList,
  SEEDED_ROLES,
  testAccessTokens,
  testClock,
  testCodec,
  testDeviceTokens,
  testHasher,
  testSession,
} from "../support/fakes";
import { claimsOf } from "../support/harness";

const PASSWORD = "correct horse battery staple 42";
const NEW_PASSWORD = "a different long passphrase, 7 words";
const MAX_FAILURES = 5;
const MAX_LINKS_PER_HOUR = 5;
const HOUR = 3600;
const DEVICE = { name: "Work laptop", userAgent: "vitest" };
/** The session an access token names, for the audit rows of requests made with it. */
const SESSION_ID = "5e55f0a1-0b1c-4d2e-8f3a-4b5c6d7e8f90";
const QUEUE_ORIGIN = { ip: null, userAgent: null };

async function setup(
  options: { requireVerifiedEmail?: boolean; forgotLimit?: CountingRateLimit; breached?: string[] } = {},
) {
  const memory = new MemoryStores();
  const time = testClock();
  const revocations = new RecordingRevocationList();
  const outbox = new RecordingOutbox();
  const hasher = testHasher();
  const breached = { isBreached: vi.fn(async (password: string) => (options.breached ?? []).includes(password)) };
  const forgotLimit = options.forgotLimit ?? new CountingRateLimit();
  const tokens = await testAccessTokens(time.clock, revocations);
  const deviceTokens = testDeviceTokens();
  const lifecycle = new AccountLifecycle({
    stores: memory.stores,
    unitOfWork: memory.unitOfWork,
    settings: { loginMaxFailures: MAX_FAILURES, mail: MAIL_SETTINGS },
    clock: time.clock,
    hasher,
    breached,
    outbox,
    revocations,
    forgotLimit,
  });
  const accounts = new AccountService({
    stores: memory.stores,
    unitOfWork: memory.unitOfWork,
    settings: {
      ...LIFETIMES,
      loginMaxFailures: MAX_FAILURES,
      maxSessionsPerUser: 50,
      requireVerifiedEmail: options.requireVerifiedEmail ?? false,
      mail: MAIL_SETTINGS,
    },
    clock: time.clock,
    hasher,
    breached,
    codec: testCodec(),
    deviceTokens,
    registrationLimit: new CountingRateLimit(),
    tokens,
    revocations,
    outbox,
    // These accounts have no second factor: a sign-in never gets this far.
    secondFactor: { requireSecondFactor: () => Promise.reject(new Error("no account here has a second factor")) },
  });
  const admin = new AdminService({
    stores: memory.stores,
    unitOfWork: memory.unitOfWork,
    clock: time.clock,
    revocations,
  });
  const passwordHash = await hasher.hash(PASSWORD);
  let n = 0;

  /** An account stored directly, whose password is PASSWORD; its email unverified unless asked. */
  const account = (input: Parameters<MemoryStores["addUser"]>[0] = {}) =>
    memory.addUser({ email: `user-${++n}@example.com`, passwordHash, ...input });

  /** A live session of `user`, opened now through the session store. */
  async function openSession(user: UserRecord): Promise<string> {
    const { session } = testSession(time.now());
    expect(
      await memory.stores.sessions.openSignIn({
        userId: user.id,
        session,
        origin: ORIGIN,
        at: time.now(),
        clearThrottleKey: "unused",
        maxSessions: 50,
      }),
    ).toEqual({ opened: true, evicted: [] });
    return session.id;
  }

  const login = (email: string, password: string, deviceToken?: string) =>
    accounts.login({ email, password, deviceToken }, DEVICE, ORIGIN);
  /** The live session SESSION_ID of `user` (one user per scenario): changing the address needs one in the store. */
  async function callerSession(user: UserRecord): Promise<void> {
    const existing = memory.state.sessions.get(SESSION_ID);
    if (existing && existing.userId !== user.id) throw new Error("SESSION_ID belongs to another user in this scenario");
    if (existing) return;
    const { session } = testSession(time.now());
    await memory.stores.sessions.openSignIn({
      userId: user.id,
      session: { ...session, id: SESSION_ID },
      origin: ORIGIN,
      at: time.now(),
      clearThrottleKey: "unused",
      maxSessions: 50,
    });
  }
  const requestEmailChange = async (user: UserRecord, newEmail: string, currentPassword = PASSWORD) => {
    await callerSession(user);
    return lifecycle.requestEmailChange({ userId: user.id, sessionId: SESSION_ID, newEmail, currentPassword }, ORIGIN);
  };
  const resetPassword = (token: string, newPassword = NEW_PASSWORD) =>
    lifecycle.resetPassword({ token, newPassword }, ORIGIN);

  return {
    memory,
    time,
    revocations,
    outbox,
    hasher,
    breached,
    forgotLimit,
    tokens,
    lifecycle,
    accounts,
    admin,
    account,
    openSession,
    callerSession,
    login,
    requestEmailChange,
    resetPassword,
  };
}

type Scenario = Awaited<ReturnType<typeof setup>>;

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

/** SHA-256, hex, computed with WebCrypto rather than the service's code. */
async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The token in a mail job's link. */
function tokenIn(job: MailJob | undefined): string {
  if (job?.kind !== "mail" || !("link" in job)) throw new Error("not a mail with a link");
  const token = new URL(job.link).searchParams.get("token");
  if (!token) throw new Error("the link carries no token");
  return token;
}

const after = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000);

/** Each purpose: how long its token lives, how a user gets one, and how it is spent. */
const PURPOSES = [
  {
    purpose: "email_verification",
    ttlSeconds: 24 * HOUR,
    mint: async (t: Scenario, user: UserRecord) => {
      await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
      return t.outbox.lastToken("email_verification");
    },
    spend: (t: Scenario, token: string) => t.lifecycle.verifyEmail(token, ORIGIN),
  },
  {
    purpose: "password_reset",
    ttlSeconds: 30 * 60,
    mint: async (t: Scenario, user: UserRecord) => tokenIn(await t.lifecycle.mintPasswordReset(user.email)),
    spend: (t: Scenario, token: string) => t.resetPassword(token),
  },
  {
    purpose: "email_change",
    ttlSeconds: HOUR,
    mint: async (t: Scenario, user: UserRecord) => {
      // v3: only a proven address may be moved.
      t.memory.state.users.get(user.id)!.emailVerifiedAt ??= t.time.now();
      await t.requestEmailChange(user, `changed-${crypto.randomUUID()}@example.com`);
      return t.outbox.lastToken("email_change_confirmation");
    },
    spend: (t: Scenario, token: string) => t.lifecycle.confirmEmailChange(token, ORIGIN),
  },
] as const;

describe("one-time links, whatever their purpose", () => {
  it.each(PURPOSES)(
    "$purpose: the store holds only the token's SHA-256, bound to the " +
      "purpose, the user and the address it was mailed to",
    async ({ purpose, ttlSeconds, mint }) => {
      const t = await setup();
      const user = t.account();
      const token = await mint(t, user);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(t.memory.oneTimeTokensOf(user.id)).toEqual([
        expect.objectContaining({
          tokenHash: await sha256Hex(token),
          purpose,
          email: user.email,
          createdAt: t.time.now(),
          expiresAt: after(t.time.now(), ttlSeconds),
          usedAt: null,
        }),
      ]);
      expect(JSON.stringify([...t.memory.state.oneTimeTokens.values(), ...t.memory.state.audit])).not.toContain(token);
    },
  );

  it.each(PURPOSES)(
    "$purpose: a link is good once; the second use is invalid_one_time_token and writes nothing",
    async ({ mint, spend }) => {
      const t = await setup();
      const token = await mint(t, t.account());
      await spend(t, token);
      const before = t.memory.snapshot();
      expect(await failure(spend(t, token))).toBeInstanceOf(InvalidOneTimeToken);
      expect(t.memory.snapshot()).toEqual(before);
    },
  );

  it.each(PURPOSES)(
    "$purpose: the link expires after its lifetime; 1 ms before it still works",
    async ({ ttlSeconds, mint, spend }) => {
      const expired = await setup();
      const late = await mint(expired, expired.account());
      expired.time.advance(ttlSeconds);
      expect(await failure(spend(expired, late))).toBeInstanceOf(InvalidOneTimeToken);

      const live = await setup();
      const early = await mint(live, live.account());
      live.time.advanceMs(ttlSeconds * 1000 - 1);
      await spend(live, early);
    },
  );

  it.each(PURPOSES)("$purpose: a new link ends the older one of the same purpose", async ({ mint, spend }) => {
    const t = await setup();
    const user = t.account();
    const older = await mint(t, user);
    t.time.advance(60);
    const newer = await mint(t, user);
    expect(t.memory.oneTimeTokensOf(user.id)[0]).toMatchObject({
      tokenHash: await sha256Hex(older),
      usedAt: t.time.now(),
      endedReason: "replaced",
    });
    expect(await failure(spend(t, older))).toBeInstanceOf(InvalidOneTimeToken);
    await spend(t, newer);
  });

  it.each(PURPOSES)(
    "$purpose: the link is refused for any other purpose, and stays good for its own",
    async ({ purpose, mint, spend }) => {
      const t = await setup();
      const token = await mint(t, t.account());
      for (const other of PURPOSES.filter((p) => p.purpose !== purpose)) {
        expect(await failure(other.spend(t, token))).toBeInstanceOf(InvalidOneTimeToken);
      }
      await spend(t, token);
    },
  );

  it.each(PURPOSES)(
    "$purpose: a disabled account's link is refused, and works again once the account is enabled (before it expires)",
    async ({ mint, spend }) => {
      const t = await setup();
      const user = t.account();
      const token = await mint(t, user);
      t.memory.state.users.get(user.id)!.status = "disabled";
      expect(await failure(spend(t, token))).toBeInstanceOf(InvalidOneTimeToken);
      t.memory.state.users.get(user.id)!.status = "active";
      await spend(t, token);
    },
  );

  it.each(["", "not a token", "A".repeat(43), "x".repeat(10_000)])(
    "a string that is no token of ours (%#) is invalid_one_time_token for every purpose, with nothing written",
    async (junk) => {
      const t = await setup();
      await PURPOSES[0].mint(t, t.account());
      const before = t.memory.snapshot();
      for (const { spend } of PURPOSES) expect(await failure(spend(t, junk))).toBeInstanceOf(InvalidOneTimeToken);
      expect(t.memory.snapshot()).toEqual(before);
    },
  );

  it("a link mailed to an address the user no longer has is dead, even if nothing ended it", async () => {
    const t = await setup();
    const user = t.account({ email: "ada@example.com" });
    const token = await PURPOSES[0].mint(t, user);
    // The address changed by some other way than changeEmail (which ends every link as well).
    t.memory.state.users.get(user.id)!.email = "someone-else@example.com";
    expect(await failure(t.lifecycle.verifyEmail(token, ORIGIN))).toBeInstanceOf(InvalidOneTimeToken);
    t.memory.state.users.get(user.id)!.email = "ada@example.com";
    await expect(t.lifecycle.verifyEmail(token, ORIGIN)).resolves.toMatchObject({ emailVerified: true });
  });
});

describe("sendVerification", () => {
  it(
    "mails an unverified address a /verify-email link, audited " +
      "user.email_verification_sent with the user and session",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com" });
      await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
      expect(t.outbox.jobs).toEqual([
        {
          kind: "mail",
          template: "email_verification",
          to: "ada@example.com",
          userId: user.id,
          link: expect.stringMatching(/^https:\/\/app\.example\.com\/verify-email\?token=[A-Za-z0-9_-]{43}$/),
        },
      ]);
      expect(t.memory.auditRows({ event: "user.email_verification_sent" })).toEqual([
        expect.objectContaining({
          userId: user.id,
          actorId: user.id,
          sessionId: SESSION_ID,
          ip: ORIGIN.ip,
          createdAt: t.time.now(),
        }),
      ]);
    },
  );

  it("sends nothing to an address that is verified already, and writes nothing", async () => {
    const t = await setup();
    const user = t.account({ emailVerified: true });
    const before = t.memory.snapshot();
    await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
    expect(t.outbox.jobs).toEqual([]);
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.memory.calls).not.toContain("oneTimeTokens.issue");
  });

  it(
    `stops mail bombing: at most ${MAX_LINKS_PER_HOUR} links an hour, then ` +
      `rate_limited until the oldest leaves the hour, with nothing written or ` +
      `sent`,
    async () => {
      const t = await setup();
      const user = t.account();
      const start = t.time.now();
      for (let i = 0; i < MAX_LINKS_PER_HOUR; i++) {
        await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
        t.time.advance(60);
      }
      const before = t.memory.snapshot();
      const error = await failure(t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN));
      expect(error).toBeInstanceOf(RateLimited);
      expect((error as RateLimited).headers).toEqual({ "Retry-After": String(HOUR - 5 * 60) });
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.outbox.jobs).toHaveLength(MAX_LINKS_PER_HOUR);

      // The window is the hour before: at exactly an hour after the first link, it no longer counts.
      t.time.set(after(start, HOUR - 0.001));
      expect(await failure(t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN))).toBeInstanceOf(RateLimited);
      t.time.set(after(start, HOUR));
      await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
      expect(t.outbox.jobs).toHaveLength(MAX_LINKS_PER_HOUR + 1);
    },
  );

  it("the link mailed at registration counts toward the hour's limit", async () => {
    const t = await setup();
    const { user } = await t.accounts.register({ email: "ada@example.com", password: PASSWORD }, DEVICE, ORIGIN);
    for (let i = 1; i < MAX_LINKS_PER_HOUR; i++) await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
    expect(await failure(t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN))).toBeInstanceOf(RateLimited);
  });

  it("the limit is per purpose: verification links do not use up reset links", async () => {
    const t = await setup();
    const user = t.account();
    for (let i = 0; i < MAX_LINKS_PER_HOUR; i++) await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
    expect(await t.lifecycle.mintPasswordReset(user.email)).toMatchObject({ template: "password_reset" });
  });

  it("a disabled or deleted account's access token is invalid_token here", async () => {
    const t = await setup();
    const disabled = t.account({ status: "disabled" });
    expect(await failure(t.lifecycle.sendVerification(disabled.id, SESSION_ID, ORIGIN))).toBeInstanceOf(InvalidToken);
    expect(await failure(t.lifecycle.sendVerification(crypto.randomUUID(), SESSION_ID, ORIGIN))).toBeInstanceOf(
      InvalidToken,
    );
    expect(t.outbox.jobs).toEqual([]);
  });
});

describe("verifyEmail", () => {
  it("marks the email verified, audits user.email_verified and answers the user", async () => {
    const t = await setup();
    const user = t.account();
    const token = await PURPOSES[0].mint(t, user);
    t.time.advance(90);
    await expect(t.lifecycle.verifyEmail(token, ORIGIN)).resolves.toMatchObject({ id: user.id, emailVerified: true });
    expect(t.memory.state.users.get(user.id)!.emailVerifiedAt).toEqual(t.time.now());
    expect(t.memory.oneTimeTokensOf(user.id)[0]).toMatchObject({ usedAt: t.time.now(), endedReason: "used" });
    expect(t.memory.auditRows({ event: "user.email_verified" })).toEqual([
      expect.objectContaining({ userId: user.id, actorId: user.id, ip: ORIGIN.ip }),
    ]);
  });

  it("the registration's link verifies the new account", async () => {
    const t = await setup();
    const { user } = await t.accounts.register({ email: "ada@example.com", password: PASSWORD }, DEVICE, ORIGIN);
    expect(user.emailVerified).toBe(false);
    await expect(t.lifecycle.verifyEmail(t.outbox.lastToken("email_verification"), ORIGIN)).resolves.toMatchObject({
      id: user.id,
      emailVerified: true,
    });
  });
});

describe("forgotPassword: no account enumeration", () => {
  it("enqueues the same job for an unknown, a disabled and an active address, and asks no store anything", async () => {
    const t = await setup();
    t.account({ email: "active@example.com" });
    t.account({ email: "disabled@example.com", status: "disabled" });
    const before = t.memory.snapshot();
    for (const email of ["nobody@example.com", "disabled@example.com", "active@example.com"])
      await t.lifecycle.forgotPassword(email, "192.0.2.7");
    const network = requesterNetworkHash("192.0.2.7");
    expect(network).toMatch(/^[0-9a-f]{64}$/);
    expect(t.outbox.jobs).toEqual([
      { kind: "password_reset_request", email: "nobody@example.com", network },
      { kind: "password_reset_request", email: "disabled@example.com", network },
      { kind: "password_reset_request", email: "active@example.com", network },
    ]);
    expect(t.memory.calls).toEqual([]);
    expect(t.memory.snapshot()).toEqual(before);
  });

  it(
    "is limited per (email, requesting network) before anything else, keyed " +
      "on hashes rather than the address or the IP; other emails and networks " +
      "have their own count",
    async () => {
      const t = await setup({ forgotLimit: new CountingRateLimit(3, 600) });
      for (let i = 0; i < 3; i++) await t.lifecycle.forgotPassword("ada@example.com", "198.51.100.9");
      const error = await failure(t.lifecycle.forgotPassword("ada@example.com", "198.51.100.9"));
      expect(error).toBeInstanceOf(RateLimited);
      expect((error as RateLimited).headers).toEqual({ "Retry-After": "600" });
      expect(t.outbox.jobs).toHaveLength(3);
      expect(new Set(t.forgotLimit.keys)).toEqual(
        new Set([`${accountThrottleKey("ada@example.com")}:${requesterNetworkHash("198.51.100.9")}`]),
      );
      expect(t.forgotLimit.keys.join()).not.toContain("ada");
      expect(JSON.stringify([t.forgotLimit.keys, t.outbox.jobs])).not.toContain("198.51.100.9");
      await t.lifecycle.forgotPassword("grace@example.com", "198.51.100.9");
      expect(t.outbox.jobs).toHaveLength(4);
      // The owner, from another network, is not refused by the stranger's count.
      await t.lifecycle.forgotPassword("ada@example.com", "ip6:2001:db8:1:2::/64");
      expect(t.outbox.jobs).toHaveLength(5);
    },
  );
});

describe("mintPasswordReset (the queue consumer)", () => {
  it("an unknown address gets nothing, and nothing is written", async () => {
    const t = await setup();
    const before = t.memory.snapshot();
    expect(await t.lifecycle.mintPasswordReset("nobody@example.com")).toBeUndefined();
    expect(t.memory.snapshot()).toEqual(before);
  });

  it("a disabled account gets nothing, and nothing is written", async () => {
    const t = await setup();
    t.account({ email: "disabled@example.com", status: "disabled" });
    const before = t.memory.snapshot();
    expect(await t.lifecycle.mintPasswordReset("disabled@example.com")).toBeUndefined();
    expect(t.memory.snapshot()).toEqual(before);
  });

  it(
    "an active account gets a /reset-password mail, audited " +
      "user.password_reset_requested with no actor and no origin",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com" });
      const job = await t.lifecycle.mintPasswordReset("ada@example.com");
      expect(job).toEqual({
        kind: "mail",
        template: "password_reset",
        to: "ada@example.com",
        userId: user.id,
        link: expect.stringMatching(/^https:\/\/app\.example\.com\/reset-password\?token=[A-Za-z0-9_-]{43}$/),
      });
      // The consumer enqueues what it is answered; minting sends nothing itself.
      expect(t.outbox.jobs).toEqual([]);
      expect(t.memory.auditRows({ event: "user.password_reset_requested" })).toEqual([
        expect.objectContaining({
          userId: user.id,
          actorId: null,
          sessionId: null,
          ip: QUEUE_ORIGIN.ip,
          userAgent: QUEUE_ORIGIN.userAgent,
        }),
      ]);
    },
  );

  it(
    `beyond ${MAX_LINKS_PER_HOUR} an hour from one network nothing is ` +
      `minted, and nothing is thrown (nobody waits on the consumer)`,
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com" });
      const stranger = requesterNetworkHash("198.51.100.9");
      for (let i = 0; i < MAX_LINKS_PER_HOUR; i++)
        expect(await t.lifecycle.mintPasswordReset("ada@example.com", stranger)).toBeDefined();
      const before = t.memory.snapshot();
      expect(await t.lifecycle.mintPasswordReset("ada@example.com", stranger)).toBeUndefined();
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.memory.oneTimeTokensOf(user.id)).toHaveLength(MAX_LINKS_PER_HOUR);
      // The hour passes: that network may ask again.
      t.time.advance(3601);
      expect(await t.lifecycle.mintPasswordReset("ada@example.com", stranger)).toBeDefined();
    },
  );

  it(
    "a stranger who spends a network's hourly budget does not stop the " +
      "owner's request from another network: it mints a working link that ends " +
      "the stranger's",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com" });
      const stranger = requesterNetworkHash("198.51.100.9");
      for (let i = 0; i < MAX_LINKS_PER_HOUR + 2; i++) await t.lifecycle.mintPasswordReset("ada@example.com", stranger);
      const owners = tokenIn(
        await t.lifecycle.mintPasswordReset("ada@example.com", requesterNetworkHash("ip6:2001:db8:1:2::/64")),
      );
      expect(t.memory.oneTimeTokensOf(user.id).filter((token) => token.usedAt === null)).toHaveLength(1);
      expect(t.memory.oneTimeTokensOf(user.id).map((token) => token.requesterNetwork)).toEqual([
        ...Array(MAX_LINKS_PER_HOUR).fill(stranger),
        requesterNetworkHash("ip6:2001:db8:1:2::/64"),
      ]);
      await expect(t.resetPassword(owners)).resolves.toBeUndefined();
    },
  );

  it("a job queued without a network (before the field existed) counts as the unknown network's", async () => {
    const t = await setup();
    t.account({ email: "ada@example.com" });
    for (let i = 0; i < MAX_LINKS_PER_HOUR; i++)
      expect(await t.lifecycle.mintPasswordReset("ada@example.com")).toBeDefined();
    expect(await t.lifecycle.mintPasswordReset("ada@example.com", requesterNetworkHash(null))).toBeUndefined();
    expect(await t.lifecycle.mintPasswordReset("ada@example.com", requesterNetworkHash("192.0.2.7"))).toBeDefined();
  });
});

describe("resetPassword", () => {
  /** An account with two sessions, a device token, failures in its account and device buckets, and a reset link. */
  async function withResetLink() {
    const t = await setup();
    const user = t.account({ email: "ada@example.com" });
    const other = t.account({ email: "grace@example.com" });
    const { deviceToken, tokens } = await t.login("ada@example.com", PASSWORD);
    const second = await t.openSession(user);
    await failure(t.login("ada@example.com", "an attacker's guess"));
    await failure(t.login("ada@example.com", "the owner's typo", deviceToken));
    await failure(t.login("grace@example.com", "someone else's typo"));
    expect(t.memory.state.throttles.size).toBe(3);
    const token = tokenIn(await t.lifecycle.mintPasswordReset("ada@example.com"));
    return { ...t, user, other, token, sessions: [tokens.sessionId, second] };
  }

  it(
    "sets the new password, ends every session (at the edge at once), clears " +
      "the account's and its devices' buckets, marks the email verified and " +
      "audits it",
    async () => {
      const t = await withResetLink();
      t.time.advance(60);
      await t.resetPassword(t.token);

      const stored = t.memory.state.users.get(t.user.id)!;
      expect(await t.hasher.verify(stored.passwordHash, NEW_PASSWORD)).toBe(true);
      expect(await t.hasher.verify(stored.passwordHash, PASSWORD)).toBe(false);
      expect(stored.emailVerifiedAt).toEqual(t.time.now());
      for (const id of t.sessions)
        expect(t.memory.session(id)).toMatchObject({ revokedAt: t.time.now(), revokedReason: "password_reset" });
      expect(t.revocations.sessionCalls.map((ids) => [...ids].sort())).toEqual([[...t.sessions].sort()]);
      expect([...t.memory.state.throttles.keys()]).toEqual([accountThrottleKey("grace@example.com")]);
      expect(t.memory.auditRows({ event: "user.password_reset" })).toEqual([
        expect.objectContaining({
          userId: t.user.id,
          actorId: t.user.id,
          ip: ORIGIN.ip,
          metadata: { endedSessions: 2 },
          createdAt: t.time.now(),
        }),
      ]);
      // The new password signs in; the old one does not.
      expect(await failure(t.login("ada@example.com", PASSWORD))).toBeInstanceOf(InvalidCredentials);
      await expect(t.login("ada@example.com", NEW_PASSWORD)).resolves.toMatchObject({ user: { id: t.user.id } });
    },
  );

  it.each([
    ["too short", "short pw 1", {}],
    ["too common", "password1234", {}],
    ["breached", NEW_PASSWORD, { breached: [NEW_PASSWORD] }],
  ])(
    "a %s new password is refused before the link is spent: nothing is written and the link still works",
    async (_label, password, options) => {
      const t = await setup(options);
      const user = t.account({ email: "ada@example.com" });
      const token = tokenIn(await t.lifecycle.mintPasswordReset("ada@example.com"));
      const before = t.memory.snapshot();
      const calls = t.memory.calls.length;
      const error = await failure(t.resetPassword(token, password));
      expect(error).toBeInstanceOf(ValidationFailed);
      expect((error as ValidationFailed).errors).toEqual([{ path: "newPassword", message: expect.any(String) }]);
      expect(t.memory.calls.slice(calls)).toEqual([]);
      expect(t.memory.snapshot()).toEqual(before);
      await t.resetPassword(token, "yet another long passphrase, 6 words");
      expect(
        await t.hasher.verify(t.memory.state.users.get(user.id)!.passwordHash, "yet another long passphrase, 6 words"),
      ).toBe(true);
    },
  );

  it("a reset link dies when the password is changed another way (AccountService.changePassword)", async () => {
    const t = await setup();
    const user = t.account({ email: "ada@example.com" });
    const sessionId = await t.openSession(user);
    const token = tokenIn(await t.lifecycle.mintPasswordReset("ada@example.com"));
    await t.accounts.changePassword(
      { userId: user.id, sessionId, currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      ORIGIN,
    );
    expect(t.memory.oneTimeTokensOf(user.id)).toEqual([
      expect.objectContaining({ purpose: "password_reset", usedAt: t.time.now(), endedReason: "password_changed" }),
    ]);
    expect(await failure(t.resetPassword(token, "the attacker's chosen passphrase"))).toBeInstanceOf(
      InvalidOneTimeToken,
    );
    expect(await t.hasher.verify(t.memory.state.users.get(user.id)!.passwordHash, NEW_PASSWORD)).toBe(true);
  });

  it("a password change ends only reset links: a pending verification link still works", async () => {
    const t = await setup();
    const user = t.account({ email: "ada@example.com" });
    const sessionId = await t.openSession(user);
    const verification = await PURPOSES[0].mint(t, user);
    await t.accounts.changePassword(
      { userId: user.id, sessionId, currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      ORIGIN,
    );
    await expect(t.lifecycle.verifyEmail(verification, ORIGIN)).resolves.toMatchObject({ emailVerified: true });
  });

  it("a unit of work that fails leaves the link unspent, the password and the sessions as they were", async () => {
    const t = await withResetLink();
    const before = t.memory.snapshot();
    t.memory.onCall = (call) => {
      if (call === "throttles.clearAccount") throw new Error("connection lost");
    };
    await expect(t.resetPassword(t.token)).rejects.toThrow("connection lost");
    t.memory.onCall = undefined;
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.sessionCalls).toEqual([]);
    await t.resetPassword(t.token);
  });
});

describe("v3: a pending email change ends when the owner takes the account back", () => {
  /** A proven account with a session and a pending change to an attacker's address. */
  async function withPendingChange() {
    const t = await setup();
    const user = t.account({ email: "ada@example.com", emailVerified: true });
    const sessionId = await t.openSession(user);
    await t.requestEmailChange(user, "attacker@example.com");
    const link = t.outbox.lastToken("email_change_confirmation");
    const expectDead = async (reason: string) => {
      expect(t.memory.oneTimeTokensOf(user.id).find((row) => row.purpose === "email_change")).toMatchObject({
        usedAt: t.time.now(),
        endedReason: reason,
      });
      expect(await failure(t.lifecycle.confirmEmailChange(link, ORIGIN))).toBeInstanceOf(InvalidOneTimeToken);
      expect(t.memory.user(user.id)!.email).toBe("ada@example.com");
    };
    return { ...t, user, sessionId, link, expectDead };
  }

  it("an email-change link requested before a password change no longer changes the address", async () => {
    const t = await withPendingChange();
    await t.accounts.changePassword(
      { userId: t.user.id, sessionId: t.sessionId, currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      ORIGIN,
    );
    await t.expectDead("password_changed");
  });

  it("an email-change link requested before a password reset no longer changes the address", async () => {
    const t = await withPendingChange();
    await t.resetPassword(tokenIn(await t.lifecycle.mintPasswordReset("ada@example.com")));
    await t.expectDead("password_changed");
  });

  it(
    "an email-change link requested before an administrator ends the " +
      "sessions no longer changes the address, even with no session live",
    async () => {
      const t = await withPendingChange();
      await t.memory.stores.sessions.end(t.sessionId, t.user.id, {
        reason: "logged_out",
        event: "auth.logged_out",
        actorId: null,
        origin: ORIGIN,
        at: t.time.now(),
      });
      await t.admin.revokeSessions(t.user.id, OPERATOR);
      await t.expectDead("sessions_ended");
    },
  );
});

describe("v3: resetPassword is the first proof of an unproven address (pre-account hijack)", () => {
  /**
   * What a stranger who registered the owner's address set up before v3: sessions, TOTP, recovery codes, a passkey, a
   * pending change, a waiting mfa sign-in, a passkey ceremony.
   */
  async function squatted(options: { emailVerified?: boolean } = {}) {
    const t = await setup();
    const user = t.account({ email: "victim@example.com", emailVerified: options.emailVerified ?? false });
    const sessions = [await t.openSession(user), await t.openSession(user)];
    const at = t.time.now();
    t.memory.state.totpFactors.set(user.id, {
      secretCiphertext: "sealed",
      confirmedAt: at,
      lastUsedStep: null,
      createdAt: at,
      failedConfirmations: 0,
    });
    for (let i = 0; i < 3; i++)
      t.memory.state.recoveryCodes.set(`code-${i}`, {
        codeHash: `code-${i}`,
        userId: user.id,
        usedAt: null,
        createdAt: at,
      });
    const passkey = {
      id: crypto.randomUUID(),
      userId: user.id,
      credentialId: "cred",
      publicKey: "key",
      counter: 0,
      transports: [],
      deviceType: "singleDevice",
      backedUp: false,
      name: null,
      createdAt: at,
      lastUsedAt: null,
    };
    t.memory.state.passkeys.set(passkey.id, passkey);
    await t.memory.stores.oneTimeTokens.issue({
      token: {
        purpose: "email_change",
        userId: user.id,
        tokenHash: "pending-change",
        email: user.email,
        newEmail: "attacker@example.com",
        expiresAt: after(at, HOUR),
      },
      maxPerHour: 5,
      audit: { event: "user.email_change_requested", actorId: user.id, origin: ORIGIN },
      at,
    });
    for (const kind of ["mfa_sign_in", "passkey_registration"] as const) {
      await t.memory.stores.challenges.create(
        { keyHash: `challenge-${kind}`, kind, userId: user.id, expiresAt: after(at, 300) },
        at,
      );
    }
    const reset = tokenIn(await t.lifecycle.mintPasswordReset("victim@example.com"));
    t.time.advance(60);
    return { ...t, user, sessions, reset };
  }

  it(
    "ends every session (at the edge at once), factor, passkey, link, " +
      "challenge and device token the unproven holder set up, in one " +
      "user.claimed_by_proof row with counts only",
    async () => {
      const t = await squatted();
      await t.resetPassword(t.reset);
      const now = t.time.now();
      for (const id of t.sessions)
        expect(t.memory.session(id)).toMatchObject({ revokedAt: now, revokedReason: "password_reset" });
      expect(t.revocations.sessionCalls.map((ids) => [...ids].sort())).toEqual([[...t.sessions].sort()]);
      expect(t.memory.state.totpFactors.has(t.user.id)).toBe(false);
      expect([...t.memory.state.recoveryCodes.values()].filter((c) => c.userId === t.user.id)).toEqual([]);
      expect([...t.memory.state.passkeys.values()].filter((p) => p.userId === t.user.id)).toEqual([]);
      expect(t.memory.oneTimeTokensOf(t.user.id).filter((row) => row.usedAt === null)).toEqual([]);
      expect(t.memory.oneTimeTokensOf(t.user.id).find((row) => row.purpose === "email_change")).toMatchObject({
        endedReason: "claimed_by_proof",
      });
      expect([...t.memory.state.challenges.values()].every((c) => c.usedAt !== null)).toBe(true);
      expect(t.memory.state.users.get(t.user.id)).toMatchObject({ emailVerifiedAt: now });
      expect(t.memory.state.users.get(t.user.id)!.deviceGeneration).toBeGreaterThan(0);
      const [claim] = t.memory.auditRows({ event: "user.claimed_by_proof" });
      expect(claim).toMatchObject({
        userId: t.user.id,
        actorId: t.user.id,
        sessionId: null,
        metadata: {
          proof: "password_reset",
          sessions: 2,
          oneTimeTokens: 1,
          totp: 1,
          recoveryCodes: 3,
          passkeys: 1,
          identities: 0,
          challenges: 2,
          passwordEnded: false,
        },
      });
      expect(t.memory.auditRows({ event: "user.password_reset" })).toEqual([
        expect.objectContaining({ metadata: { endedSessions: 2 } }),
      ]);
      // The owner signs in with the new password, and no second factor is asked for.
      const { user } = await t.login("victim@example.com", NEW_PASSWORD);
      expect(user).toMatchObject({ emailVerified: true, mfa: { totp: false, passkeys: 0 } });
    },
  );

  it(
    "an address proven already is not claimed again: the owner's factors " + "stay and no claim row is written",
    async () => {
      const t = await squatted({ emailVerified: true });
      await t.resetPassword(t.reset);
      expect(t.memory.state.totpFactors.has(t.user.id)).toBe(true);
      expect([...t.memory.state.passkeys.values()].filter((p) => p.userId === t.user.id)).toHaveLength(1);
      expect(t.memory.auditRows({ event: "user.claimed_by_proof" })).toEqual([]);
    },
  );

  it("a claim that cannot commit leaves everything as it was, the reset link unspent", async () => {
    const t = await squatted();
    const before = t.memory.snapshot();
    t.memory.onCall = (call) => {
      if (call === "throttles.clearAccount") throw new Error("connection lost");
    };
    await expect(t.resetPassword(t.reset)).rejects.toThrow("connection lost");
    t.memory.onCall = undefined;
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.sessionCalls).toEqual([]);
  });
});

describe("UserStore.claimByProof (the first-proof rule, written once)", () => {
  it(
    "with endPassword the password ends too (a proof that sets none: a " +
      "provider, an email code), and a second claim writes nothing",
    async () => {
      const t = await setup();
      const user = t.account({ email: "victim@example.com" });
      const claimed = await t.memory.stores.users.claimByProof({
        userId: user.id,
        proof: "password_reset",
        endPassword: true,
        origin: ORIGIN,
        at: t.time.now(),
      });
      expect(claimed).toEqual([]);
      expect(t.memory.state.users.get(user.id)!.deviceGeneration).toBe(1);
      expect(await failure(t.login("victim@example.com", PASSWORD))).toBeInstanceOf(InvalidCredentials);
      expect(t.memory.auditRows({ event: "user.claimed_by_proof" })[0]!.metadata).toMatchObject({
        passwordEnded: true,
      });
      const before = t.memory.snapshot();
      expect(
        await t.memory.stores.users.claimByProof({
          userId: user.id,
          proof: "password_reset",
          endPassword: true,
          origin: ORIGIN,
          at: t.time.now(),
        }),
      ).toBeUndefined();
      expect(t.memory.snapshot()).toEqual(before);
    },
  );
});

describe("requestEmailChange", () => {
  it(
    "mails a /confirm-email link to the new address and a notice without a " +
      "link to the old one; the address changes only when the link is followed",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      await t.requestEmailChange(user, "ada@new.example.com");
      expect(t.outbox.jobs).toEqual([
        {
          kind: "mail",
          template: "email_change_confirmation",
          to: "ada@new.example.com",
          userId: user.id,
          link: expect.stringMatching(/^https:\/\/app\.example\.com\/confirm-email\?token=[A-Za-z0-9_-]{43}$/),
        },
        {
          kind: "mail",
          template: "email_change_notice",
          to: "ada@example.com",
          userId: user.id,
          newEmail: "ada@new.example.com",
        },
      ]);
      expect(t.memory.user(user.id)!.email).toBe("ada@example.com");
      expect(t.memory.oneTimeTokensOf(user.id)).toEqual([
        expect.objectContaining({ purpose: "email_change", email: "ada@example.com", newEmail: "ada@new.example.com" }),
      ]);
      expect(t.memory.auditRows({ event: "user.email_change_requested" })).toEqual([
        expect.objectContaining({ userId: user.id, actorId: user.id, sessionId: SESSION_ID }),
      ]);
    },
  );

  it(
    "a stolen access token is not enough: a wrong current password is " +
      "invalid_credentials, counted in the session's bucket with a " +
      "login_failed row, and nothing is sent",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      expect(
        await failure(t.requestEmailChange(user, "attacker@example.com", "not the password at all")),
      ).toBeInstanceOf(InvalidCredentials);
      expect([...t.memory.state.throttles.keys()]).toEqual([sessionThrottleKey(SESSION_ID)]);
      expect(t.memory.state.throttles.get(sessionThrottleKey(SESSION_ID))).toMatchObject({ failures: 1 });
      expect(t.memory.auditRows({ event: "auth.login_failed" })).toEqual([
        expect.objectContaining({ userId: user.id, actorId: user.id, metadata: { reason: "wrong_current_password" } }),
      ]);
      expect(t.outbox.jobs).toEqual([]);
      expect(t.memory.oneTimeTokensOf(user.id)).toEqual([]);
    },
  );

  it(
    `guessing the password through a stolen session locks that session: ` +
      `after ${MAX_FAILURES} wrong ones even the right one is rate_limited ` +
      `there, and the owner still signs in`,
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      for (let i = 0; i < MAX_FAILURES; i++)
        expect(await failure(t.requestEmailChange(user, "attacker@example.com", `guess ${i}`))).toBeInstanceOf(
          InvalidCredentials,
        );
      expect(await failure(t.requestEmailChange(user, "attacker@example.com"))).toBeInstanceOf(RateLimited);
      expect(t.outbox.jobs).toEqual([]);
      await expect(t.login("ada@example.com", PASSWORD)).resolves.toMatchObject({ user: { id: user.id } });
    },
  );

  it("a stranger who locks the account's bucket cannot stop the signed-in owner from changing the email", async () => {
    const t = await setup();
    const user = t.account({ email: "ada@example.com", emailVerified: true });
    for (let i = 0; i < MAX_FAILURES; i++)
      expect(await failure(t.login("ada@example.com", `a stranger's guess ${i}`))).toBeInstanceOf(InvalidCredentials);
    expect(await failure(t.login("ada@example.com", PASSWORD))).toBeInstanceOf(RateLimited);
    await expect(t.requestEmailChange(user, "ada.new@example.com")).resolves.toBeUndefined();
    expect(t.memory.state.throttles.get(accountThrottleKey("ada@example.com"))?.lockedUntil).not.toBeNull();
  });

  it(
    "v3: an address another account holds answers as a free one (no oracle): " +
      "its holder gets a notice with no link, the old address its notice, and " +
      "no link is live",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      const grace = t.account({ email: "grace@example.com" });
      await expect(t.requestEmailChange(user, "grace@example.com")).resolves.toBeUndefined();
      expect(t.outbox.jobs).toEqual([
        { kind: "mail", template: "email_in_use_notice", to: "grace@example.com", userId: grace.id },
        {
          kind: "mail",
          template: "email_change_notice",
          to: "ada@example.com",
          userId: user.id,
          newEmail: "grace@example.com",
        },
      ]);
      // Recorded like any request (the hourly limit, the end of the earlier link), but stored ended: no link exists for
      // it.
      expect(t.memory.oneTimeTokensOf(user.id)).toEqual([
        expect.objectContaining({
          purpose: "email_change",
          newEmail: "grace@example.com",
          usedAt: t.time.now(),
          endedReason: "address_in_use",
        }),
      ]);
      expect(t.memory.auditRows({ event: "user.email_change_requested" })).toEqual([
        expect.objectContaining({ userId: user.id, actorId: user.id, sessionId: SESSION_ID, metadata: {} }),
      ]);
    },
  );

  it("v3: the user's own address gets the no-link notice alone, and the answer is the same", async () => {
    const t = await setup();
    const user = t.account({ email: "ada@example.com", emailVerified: true });
    await expect(t.requestEmailChange(user, "ada@example.com")).resolves.toBeUndefined();
    expect(t.outbox.jobs).toEqual([
      { kind: "mail", template: "email_in_use_notice", to: "ada@example.com", userId: user.id },
    ]);
    expect(t.memory.oneTimeTokensOf(user.id)).toEqual([
      expect.objectContaining({ usedAt: t.time.now(), endedReason: "address_in_use" }),
    ]);
  });

  it(
    "v3: a request for a taken address ends the earlier link and counts " +
      "toward the hourly limit, as one for a free address does",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      t.account({ email: "grace@example.com" });
      await t.requestEmailChange(user, "ada@new.example.com");
      const earlier = t.outbox.lastToken("email_change_confirmation");
      for (let i = 1; i < MAX_LINKS_PER_HOUR; i++) await t.requestEmailChange(user, "grace@example.com");
      expect(await failure(t.lifecycle.confirmEmailChange(earlier, ORIGIN))).toBeInstanceOf(InvalidOneTimeToken);
      expect(await failure(t.requestEmailChange(user, "free@example.com"))).toBeInstanceOf(RateLimited);
    },
  );

  it(
    "v3: an account whose address is unproven cannot move it (pre-account " +
      "hijack): email_not_verified before the password is tried, nothing sent " +
      "or stored",
    async () => {
      const t = await setup();
      const user = t.account({ email: "victim@example.com" });
      await t.callerSession(user);
      const before = t.memory.snapshot();
      const error = await failure(t.requestEmailChange(user, "attacker@example.com"));
      expect(error).toBeInstanceOf(EmailNotVerified);
      expect(seen(error)).toMatchObject({ code: "email_not_verified", status: 403 });
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.outbox.jobs).toEqual([]);
    },
  );

  it(`at most ${MAX_LINKS_PER_HOUR} requests an hour: then rate_limited, and neither address gets mail`, async () => {
    const t = await setup();
    const user = t.account({ email: "ada@example.com", emailVerified: true });
    for (let i = 0; i < MAX_LINKS_PER_HOUR; i++) {
      await t.requestEmailChange(user, `new-${i}@example.com`);
      t.time.advance(60);
    }
    expect(await failure(t.requestEmailChange(user, "one-more@example.com"))).toBeInstanceOf(RateLimited);
    expect(t.outbox.jobs).toHaveLength(2 * MAX_LINKS_PER_HOUR);
  });
});

describe("confirmEmailChange", () => {
  it(
    "makes the new address the account's, verified; ends its other links; " + "the old address no longer signs in",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      const reset = tokenIn(await t.lifecycle.mintPasswordReset("ada@example.com"));
      await t.requestEmailChange(user, "ada@new.example.com");
      const token = t.outbox.lastToken("email_change_confirmation");
      t.time.advance(60);

      await expect(t.lifecycle.confirmEmailChange(token, ORIGIN)).resolves.toMatchObject({
        id: user.id,
        email: "ada@new.example.com",
        emailVerified: true,
      });
      expect(t.memory.state.users.get(user.id)!.emailVerifiedAt).toEqual(t.time.now());
      expect(t.memory.auditRows({ event: "user.email_changed" })).toEqual([
        expect.objectContaining({ userId: user.id, actorId: user.id }),
      ]);
      // A reset link mailed to the old address dies with it.
      expect(t.memory.oneTimeTokensOf(user.id).find((row) => row.purpose === "password_reset")).toMatchObject({
        usedAt: t.time.now(),
        endedReason: "email_changed",
      });
      expect(await failure(t.resetPassword(reset))).toBeInstanceOf(InvalidOneTimeToken);
      expect(await failure(t.login("ada@example.com", PASSWORD))).toBeInstanceOf(InvalidCredentials);
      await expect(t.login("ada@new.example.com", PASSWORD)).resolves.toMatchObject({ user: { id: user.id } });
    },
  );

  it(
    "v3: tells the old address that it was replaced, in the same " +
      "transaction: a notice the queue refuses leaves the address and the link " +
      "as they were",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      await t.requestEmailChange(user, "ada@new.example.com");
      const token = t.outbox.lastToken("email_change_confirmation");
      const before = t.memory.snapshot();
      t.outbox.refuse = true;
      expect(await failure(t.lifecycle.confirmEmailChange(token, ORIGIN))).toMatchObject({
        code: "service_unavailable",
      });
      expect(t.memory.snapshot()).toEqual(before);
      t.outbox.refuse = false;
      await t.lifecycle.confirmEmailChange(token, ORIGIN);
      expect(t.outbox.jobs.at(-1)).toEqual({
        kind: "mail",
        template: "email_changed_notice",
        to: "ada@example.com",
        userId: user.id,
        newEmail: "ada@new.example.com",
      });
    },
  );

  it(
    "an address another account took since the link was sent is email_taken; " +
      "the link stays unspent until the address is free",
    async () => {
      const t = await setup();
      const user = t.account({ email: "ada@example.com", emailVerified: true });
      await t.requestEmailChange(user, "wanted@example.com");
      const token = t.outbox.lastToken("email_change_confirmation");
      const taker = t.account({ email: "wanted@example.com" });
      const before = t.memory.snapshot();
      expect(await failure(t.lifecycle.confirmEmailChange(token, ORIGIN))).toBeInstanceOf(EmailTaken);
      expect(t.memory.snapshot()).toEqual(before);

      await t.memory.stores.users.delete(taker.id);
      await expect(t.lifecycle.confirmEmailChange(token, ORIGIN)).resolves.toMatchObject({
        email: "wanted@example.com",
      });
    },
  );
});

describe("updateProfile", () => {
  it("changes the name and audits user.updated naming the field, never its value", async () => {
    const t = await setup();
    const user = t.account({ name: "Ada" });
    await expect(
      t.lifecycle.updateProfile(user.id, SESSION_ID, { name: "Ada Lovelace" }, ORIGIN),
    ).resolves.toMatchObject({ id: user.id, name: "Ada Lovelace" });
    expect(t.memory.user(user.id)!.name).toBe("Ada Lovelace");
    expect(t.memory.auditRows({ event: "user.updated" })).toEqual([
      expect.objectContaining({ userId: user.id, sessionId: SESSION_ID, metadata: { fields: ["name"] } }),
    ]);
    await expect(t.lifecycle.updateProfile(user.id, SESSION_ID, { name: null }, ORIGIN)).resolves.toMatchObject({
      name: null,
    });
  });

  it("a deleted account's access token is invalid_token, with nothing written", async () => {
    const t = await setup();
    expect(
      await failure(t.lifecycle.updateProfile(crypto.randomUUID(), SESSION_ID, { name: "x" }, ORIGIN)),
    ).toBeInstanceOf(InvalidToken);
    expect(t.memory.state.audit).toEqual([]);
  });
});

describe("deleteOwnAccount", () => {
  /** An account with two sessions, a pending link, a failed login and a row of history. */
  async function withHistory() {
    const t = await setup();
    const user = t.account({ email: "ada@example.com" });
    const sessions = [await t.openSession(user), await t.openSession(user)];
    await PURPOSES[0].mint(t, user);
    await failure(t.login("ada@example.com", "a typo"));
    const remove = (currentPassword = PASSWORD) =>
      t.lifecycle.deleteOwnAccount({ userId: user.id, sessionId: sessions[0]!, currentPassword }, ORIGIN);
    return { ...t, user, sessions, remove };
  }

  it(
    "needs the current password: a wrong one is invalid_credentials, counted " +
      "in the session's bucket, and deletes nothing",
    async () => {
      const t = await withHistory();
      expect(await failure(t.remove("not the password at all"))).toBeInstanceOf(InvalidCredentials);
      expect(t.memory.user(t.user.id)).toBeDefined();
      expect(t.memory.state.throttles.get(sessionThrottleKey(t.sessions[0]!))).toMatchObject({ failures: 1 });
      expect(t.memory.state.throttles.get(accountThrottleKey("ada@example.com"))).toMatchObject({ failures: 1 });
      expect(t.revocations.sessionCalls).toEqual([]);
    },
  );

  it(
    "deletes the user with their roles, sessions, refresh and one-time " +
      "tokens and throttle bucket; the audit rows stay; the sessions end at " +
      "the edge",
    async () => {
      const t = await withHistory();
      const historyBefore = t.memory.state.audit.length;
      await t.remove();

      expect(t.memory.user(t.user.id)).toBeUndefined();
      expect(t.memory.state.userRoles.has(t.user.id)).toBe(false);
      expect(t.memory.sessionsOf(t.user.id)).toEqual([]);
      expect(
        [...t.memory.state.refreshTokens.values()].filter((token) => t.sessions.includes(token.sessionId)),
      ).toEqual([]);
      expect(t.memory.oneTimeTokensOf(t.user.id)).toEqual([]);
      expect(t.memory.state.throttles.size).toBe(0);
      expect(
        t.memory
          .auditRows({ event: "session.revoked" })
          .map((row) => [row.sessionId, row.metadata.reason])
          .sort(),
      ).toEqual(t.sessions.map((id) => [id, "account_deleted"]).sort());
      const [deleted] = t.memory.auditRows({ event: "user.deleted" });
      expect(deleted).toMatchObject({
        userId: t.user.id,
        actorId: t.user.id,
        sessionId: t.sessions[0],
        metadata: { endedSessions: 2 },
      });
      expect(JSON.stringify(deleted)).not.toContain("ada@example.com");
      expect(t.memory.state.audit.length).toBe(historyBefore + 3);
      expect(t.revocations.sessionCalls.map((ids) => [...ids].sort())).toEqual([[...t.sessions].sort()]);
    },
  );

  it("frees the address: it can be registered anew, as a new account", async () => {
    const t = await withHistory();
    await t.remove();
    const { user } = await t.accounts.register({ email: "ada@example.com", password: PASSWORD }, DEVICE, ORIGIN);
    expect(user.id).not.toBe(t.user.id);
  });

  it("a disabled account cannot delete itself (its access token is invalid_token)", async () => {
    const t = await withHistory();
    t.memory.state.users.get(t.user.id)!.status = "disabled";
    expect(await failure(t.remove())).toBeInstanceOf(InvalidToken);
    expect(t.memory.user(t.user.id)).toBeDefined();
  });
});

describe("AdminService.deleteUser", () => {
  const as = (user: UserRecord): AdminActor => ({ kind: "administrator", actorId: user.id, origin: ORIGIN });

  async function withAdmin() {
    const t = await setup();
    const administrator = t.account({ email: "admin@example.com", roles: ["admin", "user"] });
    const target = t.account({ email: "target@example.com" });
    return { ...t, administrator, target };
  }

  it(
    "deletes the account as DELETE /me does, with the administrator as " + "actor, and ends its sessions at the edge",
    async () => {
      const t = await withAdmin();
      const session = await t.openSession(t.target);
      await t.admin.deleteUser(t.target.id, as(t.administrator));
      expect(t.memory.user(t.target.id)).toBeUndefined();
      expect(t.memory.auditRows({ event: "session.revoked" })).toEqual([
        expect.objectContaining({
          sessionId: session,
          actorId: t.administrator.id,
          metadata: { reason: "account_deleted" },
        }),
      ]);
      expect(t.memory.auditRows({ event: "user.deleted" })).toEqual([
        expect.objectContaining({ userId: t.target.id, actorId: t.administrator.id, metadata: { endedSessions: 1 } }),
      ]);
      expect(t.revocations.sessionCalls).toEqual([[session]]);
    },
  );

  it("refuses the administrator's own account with insufficient_permission, deleting nothing", async () => {
    const t = await withAdmin();
    const before = t.memory.snapshot();
    expect(await failure(t.admin.deleteUser(t.administrator.id.toUpperCase(), as(t.administrator)))).toBeInstanceOf(
      InsufficientPermission,
    );
    expect(t.memory.snapshot()).toEqual(before);
  });

  it("refuses an account holding a permission the actor lacks: deleting is no way around the role rules", async () => {
    const t = await withAdmin();
    t.memory.state.roles.set("user-manager", { description: "", permissions: ["users:write"] });
    const manager = t.account({ roles: ["user", "user-manager"] });
    const before = t.memory.snapshot();
    const error = await failure(t.admin.deleteUser(t.administrator.id, as(manager)));
    expect(error).toBeInstanceOf(InsufficientPermission);
    expect((error as InsufficientPermission).detail).toContain("roles:assign");
    expect(t.memory.snapshot()).toEqual(before);
    // An account holding nothing beyond the manager's permissions may go.
    await t.admin.deleteUser(t.target.id, as(manager));
    expect(t.memory.user(t.target.id)).toBeUndefined();
  });

  it("an actor demoted since their token was issued (no users:write as of now) is refused", async () => {
    const t = await withAdmin();
    t.memory.state.userRoles.set(t.administrator.id, new Set(["user"]));
    expect(await failure(t.admin.deleteUser(t.target.id, as(t.administrator)))).toBeInstanceOf(InsufficientPermission);
    expect(t.memory.user(t.target.id)).toBeDefined();
  });

  it("the operator CLI may delete any account, an administrator's too, with no actor id", async () => {
    const t = await withAdmin();
    await t.admin.deleteUser(t.administrator.id, OPERATOR);
    expect(t.memory.user(t.administrator.id)).toBeUndefined();
    expect(t.memory.auditRows({ event: "user.deleted" })).toEqual([
      expect.objectContaining({ userId: t.administrator.id, actorId: null }),
    ]);
    expect(SEEDED_ROLES.admin!.permissions).toContain("users:write");
  });

  it.each(["not-a-uuid", crypto.randomUUID()])("an unknown or malformed id (%s) is not_found", async (id) => {
    const t = await withAdmin();
    expect(await failure(t.admin.deleteUser(id, as(t.administrator)))).toBeInstanceOf(NotFound);
  });
});

describe("AccountService under REQUIRE_VERIFIED_EMAIL", () => {
  const register = (t: Scenario, email = "ada@example.com") =>
    t.accounts.register({ email, password: PASSWORD }, DEVICE, ORIGIN);

  it("register creates the account and mails the link, but opens no session and answers no tokens", async () => {
    const t = await setup({ requireVerifiedEmail: true });
    const { user, tokens } = await register(t);
    expect(tokens).toBeUndefined();
    expect(user).toMatchObject({ email: "ada@example.com", emailVerified: false });
    expect(t.memory.sessionsOf(user.id)).toEqual([]);
    expect(t.memory.state.refreshTokens.size).toBe(0);
    expect(t.memory.auditRows().map((row) => [row.event, row.sessionId])).toEqual([
      ["user.registered", null],
      ["user.email_verification_sent", null],
    ]);
    expect(t.outbox.jobs).toEqual([
      {
        kind: "mail",
        template: "email_verification",
        to: "ada@example.com",
        userId: user.id,
        link: expect.stringContaining("https://app.example.com/verify-email?token="),
      },
    ]);
    const token = t.outbox.lastToken("email_verification");
    expect(t.memory.oneTimeTokensOf(user.id)).toEqual([
      expect.objectContaining({ tokenHash: await sha256Hex(token), expiresAt: after(t.time.now(), 24 * HOUR) }),
    ]);
  });

  it("login with the right password is email_not_verified, with a login_failed row, and opens no session", async () => {
    const t = await setup({ requireVerifiedEmail: true });
    const { user } = await register(t);
    const error = await failure(t.login("ada@example.com", PASSWORD));
    expect(error).toBeInstanceOf(EmailNotVerified);
    expect(seen(error)).toMatchObject({ code: "email_not_verified", status: 403 });
    expect(t.memory.auditRows({ event: "auth.login_failed" })).toEqual([
      expect.objectContaining({ userId: user.id, actorId: user.id, metadata: { reason: "email_not_verified" } }),
    ]);
    expect(t.memory.sessionsOf(user.id)).toEqual([]);
  });

  it(
    "a wrong password on an unverified account is invalid_credentials like " +
      "an unknown email: only the password's holder learns the address is " +
      "unverified",
    async () => {
      const t = await setup({ requireVerifiedEmail: true });
      await register(t);
      const wrong = await failure(t.login("ada@example.com", "not the password at all"));
      const unknown = await failure(t.login("nobody@example.com", PASSWORD));
      expect(wrong).toBeInstanceOf(InvalidCredentials);
      expect(seen(wrong)).toEqual(seen(unknown));
    },
  );

  it("after the link is followed, login opens a session whose access token says email_verified", async () => {
    const t = await setup({ requireVerifiedEmail: true });
    const { user } = await register(t);
    await t.lifecycle.verifyEmail(t.outbox.lastToken("email_verification"), ORIGIN);
    const { tokens } = await t.login("ada@example.com", PASSWORD);
    expect(t.memory.session(tokens.sessionId)).toMatchObject({ userId: user.id, revokedAt: null });
    expect(claimsOf(tokens.accessToken)).toMatchObject({ sub: user.id, email_verified: true });
    expect(await t.tokens.authenticate(tokens.accessToken)).toMatchObject({ email_verified: true });
  });

  it("without the requirement, register signs in at once and the access token says email_verified false", async () => {
    const t = await setup();
    const { tokens } = await register(t);
    expect(tokens).toBeDefined();
    expect(claimsOf(tokens!.accessToken).email_verified).toBe(false);
    await expect(t.login("ada@example.com", PASSWORD)).resolves.toBeDefined();
  });

  it("the account exists even when the queue refuses the verification mail: a new link can be asked for", async () => {
    const t = await setup({ requireVerifiedEmail: true });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      t.outbox.refuse = true;
      const { user } = await register(t);
      expect(t.memory.user(user.id)).toBeDefined();
      expect(t.outbox.jobs).toEqual([]);
      expect(logged).toHaveBeenCalledTimes(1);
      expect(String(logged.mock.calls[0]![0])).not.toContain("token=");
      t.outbox.refuse = false;
      await t.lifecycle.sendVerification(user.id, SESSION_ID, ORIGIN);
      await expect(t.lifecycle.verifyEmail(t.outbox.lastToken("email_verification"), ORIGIN)).resolves.toMatchObject({
        emailVerified: true,
      });
    } finally {
      logged.mockRestore();
    }
  });
});
