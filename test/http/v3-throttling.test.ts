// Throttling v3 on the real stack, each rule named after the attack it stops:
// a stranger who fills an account's bucket to stop its signed-in owner, a
// thief with a stolen session guessing the current password, device tokens
// collected before a recovery that each open a fresh bucket afterwards, a
// TOTP enrolment confirmed by brute force, and a stranger who spends the
// owner's reset links.
import { describe, expect, it } from "vitest";
import { accountThrottleKey } from "../../src/features/sign-in/attempt";
import { call, db, fakeClock, problemOf, register, testService, uniqueEmail } from "../support/harness";
import { attempt, loggedIn, MAX_FAILURES, strangerLocks } from "../support/login-attempts";
import { inbox, tokenIn } from "../support/mail";
import { totpCode } from "../support/totp";

const { query, auditRows } = db;

const NEW_PASSWORD = "a brand new passphrase 77";
const APP = "https://app.example.com";

async function expectRateLimited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect((await problemOf(res)).code).toBe("rate_limited");
}

/** The re-proofs a signed-in caller makes with the current password, each as one request. */
const reproofs = {
  "re-authenticating": (token: string, currentPassword: string) =>
    call("POST", "/auth/reauthenticate", { token, body: { currentPassword } }),
  "changing the password": (token: string, currentPassword: string) =>
    call("POST", "/auth/password", { token, body: { currentPassword, newPassword: NEW_PASSWORD } }),
  "changing the email": (token: string, currentPassword: string) =>
    call("POST", "/me/email", { token, body: { newEmail: uniqueEmail("moved"), currentPassword } }),
  deleting: (token: string, currentPassword: string) => call("DELETE", "/me", { token, body: { currentPassword } }),
} as const;
const SUCCESS = {
  "re-authenticating": 200,
  "changing the password": 204,
  "changing the email": 202,
  deleting: 204,
} as const;

describe("signed-in re-proofs count in the session's own bucket", () => {
  it.each(Object.keys(reproofs) as (keyof typeof reproofs)[])(
    "a stranger who locks the account's bucket cannot stop the signed-in owner from %s",
    async (operation) => {
      const owner = await register();
      await db.markEmailVerified(owner.user.id); // v3: an email change needs a proven address
      await strangerLocks(owner.email);
      const res = await reproofs[operation](owner.tokens.accessToken, owner.password);
      expect(res.status, await res.clone().text()).toBe(SUCCESS[operation]);
      if (operation !== "deleting") {
        // The owner's proof did not clear the bucket the stranger is filling.
        const [row] = await query<{ locked_until: Date | null }>(
          "select locked_until from login_throttles where key = $1",
          [accountThrottleKey(owner.email)],
        );
        expect(row!.locked_until).not.toBeNull();
      }
    },
  );

  it(
    `a stolen session gets only ${MAX_FAILURES} guesses at the current ` +
      `password, whatever the route, and fills nobody else's bucket`,
    async () => {
      const owner = await register();
      await db.markEmailVerified(owner.user.id); // v3: an email change needs a proven address
      const stolen = owner.tokens.accessToken;
      const guesses = [
        reproofs["re-authenticating"],
        reproofs["changing the password"],
        reproofs["changing the email"],
        reproofs.deleting,
        reproofs["re-authenticating"],
      ];
      for (const [i, guess] of guesses.entries()) {
        const res = await guess(stolen, `the thief's guess ${i} xx`);
        expect(res.status).toBe(401);
        expect((await problemOf(res)).code).toBe("invalid_credentials");
      }
      // Even the right password is refused now, on every route, in this session.
      for (const operation of Object.keys(reproofs) as (keyof typeof reproofs)[])
        await expectRateLimited(await reproofs[operation](stolen, owner.password));
      // Each wrong guess wrote its auth.login_failed row; the lock wrote one auth.throttled row, scope session.
      const failed = await auditRows({ userId: owner.user.id, event: "auth.login_failed" });
      expect(failed.map((r) => r.metadata)).toEqual(Array(MAX_FAILURES).fill({ reason: "wrong_current_password" }));
      expect((await auditRows({ userId: owner.user.id, event: "auth.throttled" })).map((r) => r.metadata)).toEqual([
        { scope: "session" },
      ]);
      // The account's bucket is untouched: the owner signs in, and the new session proves the password.
      const again = await loggedIn(owner.email, owner.password);
      expect((await reproofs["re-authenticating"](again.tokens.accessToken, owner.password)).status).toBe(200);
      // The session's bucket holds no part of the session id.
      const keys = (await query<{ key: string }>("select key from login_throttles where key like 'session:%'")).map(
        (r) => r.key,
      );
      expect(keys.join()).not.toContain(owner.tokens.sessionId);
    },
  );
});

describe("logout in cookie mode", () => {
  it("logout in cookie mode keeps the device cookie: only __Host-sa_rt and __Host-sa_at are cleared", async () => {
    const account = await register();
    const login = await call("POST", "/auth/login", {
      headers: { "X-Auth-Mode": "cookie", Origin: APP },
      body: { email: account.email, password: account.password },
    });
    expect(login.status).toBe(200);
    const cookies = login.headers.getSetCookie().map((line) => line.split(";")[0]!);
    const res = await call("POST", "/auth/logout", {
      headers: { "X-Auth-Mode": "cookie", Origin: APP, Cookie: cookies.join("; ") },
    });
    expect(res.status).toBe(204);
    const cleared = res.headers.getSetCookie().map((line) => line.split("=")[0]);
    expect(cleared.sort()).toEqual(["__Host-sa_at", "__Host-sa_rt"]);
  });
});

// ---- Device tokens: the account id and a generation --------------------------

/** Guesses presenting `deviceToken`: if it still counts, they fill its own bucket; if not, the account's. */
async function guessesWith(email: string, deviceToken: string): Promise<void> {
  for (let i = 0; i < MAX_FAILURES; i++)
    expect((await attempt(email, `a guess with an old token ${i}`, deviceToken)).status).toBe(401);
}

/** The token no longer opens a bucket of its own: its guesses locked the account's bucket. */
async function expectAccountBucketLocked(email: string, password: string, staleToken: string): Promise<void> {
  await expectRateLimited(await attempt(email, password));
  await expectRateLimited(await attempt(email, password, staleToken));
}

async function resetPassword(email: string): Promise<void> {
  await inbox.clear();
  expect((await call("POST", "/auth/password/forgot", { body: { email } })).status).toBe(202);
  const token = tokenIn(await inbox.waitFor({ to: email, subject: "Reset your password" }), "/reset-password");
  expect((await call("POST", "/auth/password/reset", { body: { token, newPassword: NEW_PASSWORD } })).status).toBe(204);
}

describe("a device token names the account id and a generation", () => {
  it(
    "a device token collected before a password reset no longer opens its " +
      "own bucket; the next sign-in gets a fresh one",
    async () => {
      const owner = await register();
      const collected = (await loggedIn(owner.email, owner.password)).deviceToken;
      await resetPassword(owner.email);

      const fresh = await loggedIn(owner.email, NEW_PASSWORD, collected);
      expect(fresh.deviceToken).not.toBe(collected);
      await guessesWith(owner.email, collected);
      await expectAccountBucketLocked(owner.email, NEW_PASSWORD, collected);
      // The fresh token has its own bucket.
      expect((await loggedIn(owner.email, NEW_PASSWORD, fresh.deviceToken)).deviceToken).toBe(fresh.deviceToken);
    },
  );

  it("a device token collected before a password change no longer opens its own bucket", async () => {
    const owner = await register();
    const collected = (await loggedIn(owner.email, owner.password)).deviceToken;
    expect((await reproofs["changing the password"](owner.tokens.accessToken, owner.password)).status).toBe(204);
    await guessesWith(owner.email, collected);
    await expectAccountBucketLocked(owner.email, NEW_PASSWORD, collected);
  });

  it("a device token collected before sign-out-everywhere no longer opens its own bucket", async () => {
    const owner = await register();
    const collected = (await loggedIn(owner.email, owner.password)).deviceToken;
    expect((await call("DELETE", "/sessions", { token: owner.tokens.accessToken })).status).toBe(204);
    await guessesWith(owner.email, collected);
    await expectAccountBucketLocked(owner.email, owner.password, collected);
  });

  it("a device token of a deleted account does not count for a re-registered account with the same email", async () => {
    const first = await register();
    const collected = (await loggedIn(first.email, first.password)).deviceToken;
    expect((await reproofs.deleting(first.tokens.accessToken, first.password)).status).toBe(204);
    const again = await register({ email: first.email });
    expect(again.user.id).not.toBe(first.user.id);
    await guessesWith(again.email, collected);
    await expectAccountBucketLocked(again.email, again.password, collected);
  });

  it("a device token of account A never picks a bucket of account B", async () => {
    const a = await register();
    const aToken = (await loggedIn(a.email, a.password)).deviceToken;
    const b = await register();
    await guessesWith(b.email, aToken);
    await expectAccountBucketLocked(b.email, b.password, aToken);
    // A's device is untouched.
    expect((await loggedIn(a.email, a.password, aToken)).deviceToken).toBe(aToken);
  });

  it("a device token outlives a logout (cookie mode keeps its cookie too)", async () => {
    const owner = await register();
    const signedIn = await loggedIn(owner.email, owner.password);
    expect((await call("POST", "/auth/logout", { token: signedIn.tokens.accessToken })).status).toBe(204);
    await strangerLocks(owner.email);
    expect((await loggedIn(owner.email, owner.password, signedIn.deviceToken)).deviceToken).toBe(signedIn.deviceToken);
  });
});

// ---- TOTP confirmation --------------------------------------------------------

describe("POST /me/mfa/totp/confirm", () => {
  it(
    "after 5 wrong codes the right code is refused and the pending factor is " +
      "gone; a locked session bucket answers 429 with Retry-After",
    async () => {
      const time = fakeClock(new Date());
      const s = testService({ clock: time.clock });
      const account = await s.register();
      // Enrolling needs a verified address (v3).
      await query("update users set email_verified_at = now() where id = $1", [account.user.id]);
      const start = await s.call("POST", "/me/mfa/totp", { token: account.tokens.accessToken });
      expect(start.status).toBe(200);
      const { secret } = (await start.json()) as { secret: string };
      const right = totpCode(secret, time.now());
      const wrong = right === "000000" ? "111111" : "000000";
      for (let i = 0; i < MAX_FAILURES; i++) {
        const res = await s.call("POST", "/me/mfa/totp/confirm", {
          token: account.tokens.accessToken,
          body: { code: wrong },
        });
        expect(res.status).toBe(401);
        expect((await problemOf(res)).code).toBe("invalid_mfa_code");
      }
      expect(await query("select 1 from totp_factors where user_id = $1", [account.user.id])).toEqual([]);
      // The session's bucket is locked: even the right code is 429 with Retry-After.
      await expectRateLimited(
        await s.call("POST", "/me/mfa/totp/confirm", { token: account.tokens.accessToken, body: { code: right } }),
      );
      // Once the lock is over, the right code still enrols nothing: the enrolment ended.
      time.advance(60);
      const late = await s.call("POST", "/me/mfa/totp/confirm", {
        token: account.tokens.accessToken,
        body: { code: totpCode(secret, time.now()) },
      });
      expect(late.status).toBe(400);
      expect(await query("select 1 from totp_factors where user_id = $1", [account.user.id])).toEqual([]);
      // A new enrolment starts afresh.
      const restart = await s.call("POST", "/me/mfa/totp", { token: account.tokens.accessToken });
      expect(restart.status).toBe(200);
      const [row] = await query<{ failed_confirmations: number }>(
        "select failed_confirmations from totp_factors where user_id = $1",
        [account.user.id],
      );
      expect(row!.failed_confirmations).toBe(0);
    },
  );
});

// ---- Password reset: the hourly budget per requesting network -------------------

const STRANGER_NET = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}`;
const OWNER_NET = () =>
  `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}::${Math.floor(Math.random() * 0xffff).toString(16)}`;

/**
 * The edge limiters count in fixed windows of the wall clock: start a burst whose count matters with `seconds` left in
 * one.
 */
async function windowWithRoomFor(seconds: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await new Promise((resolve) => setTimeout(resolve, left + 250));
}

const forgot = (email: string, ip: string) =>
  call("POST", "/auth/password/forgot", { body: { email }, headers: { "CF-Connecting-IP": ip } });
const resetMails = async (email: string) =>
  (await inbox.all({ to: email })).filter((m) => m.subject === "Reset your password");

async function waitForResetMails(email: string, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await resetMails(email)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} reset mails to ${email}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("forgot-password: each requesting network has its own hourly budget", () => {
  it(
    "a stranger's five reset requests from another network do not stop the " +
      "owner's request from mailing a working link",
    async () => {
      const owner = await register();
      const stranger = STRANGER_NET();
      for (let i = 0; i < 5; i++) expect((await forgot(owner.email, stranger)).status).toBe(202);
      await waitForResetMails(owner.email, 5);

      const res = await forgot(owner.email, OWNER_NET());
      expect(res.status).toBe(202);
      await waitForResetMails(owner.email, 6);
      const mails = await resetMails(owner.email);
      const token = tokenIn(mails.at(-1)!, "/reset-password");
      expect((await call("POST", "/auth/password/reset", { body: { token, newPassword: NEW_PASSWORD } })).status).toBe(
        204,
      );
      await loggedIn(owner.email, NEW_PASSWORD);
      // The tokens remember the requesting network as a hash, never the address.
      const rows = await query<{ requester_network: string | null }>(
        "select requester_network from one_time_tokens where user_id = $1 and purpose = 'password_reset'",
        [owner.user.id],
      );
      expect(rows).toHaveLength(6);
      for (const row of rows) expect(row.requester_network).toMatch(/^[0-9a-f]{64}$/);
      expect(new Set(rows.map((r) => r.requester_network)).size).toBe(2);
      expect(JSON.stringify(rows)).not.toContain(stranger);
    },
  );

  it(
    "the per-network cap still holds: a sixth request from the stranger's " +
      "network in the minute is 429, whatever the address's owner does",
    async () => {
      const owner = await register();
      const stranger = STRANGER_NET();
      await windowWithRoomFor(10);
      for (let i = 0; i < 5; i++) expect((await forgot(owner.email, stranger)).status).toBe(202);
      await expectRateLimited(await forgot(owner.email, stranger));
      // Another address from the same network is another bucket; the owner's network is another too.
      expect((await forgot(uniqueEmail("other"), stranger)).status).toBe(202);
      expect((await forgot(owner.email, OWNER_NET())).status).toBe(202);
    },
  );

  it("answers every address alike: unknown, existing, from any network", async () => {
    const owner = await register();
    const ip = STRANGER_NET();
    const known = await forgot(owner.email, ip);
    const unknown = await forgot(uniqueEmail("nobody"), ip);
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(await known.text()).toBe(await unknown.text());
    expect([...known.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
  });
});
