// Email sign-in on the real stack (docs/email-sign-in.md): POST /auth/email/code enqueues, the Worker's own queue
// consumer mints the code and mails it over real SMTP to the suite's mail server, and the tests read it there. Each
// test is named after the attack it stops: an address oracle in the request's answer or its cap, a code guessed,
// reused, outliving its expiry or a newer code, a code of one address signing in another, a magic link spent twice,
// a link sent to a page the operator never listed, a squatter keeping an account its owner signs in to, a sign-up
// the operator turned off, a code skipping the second factor.
import { describe, expect, it } from "vitest";
import { TEST_SECRETS } from "../setup/secrets";
import {
  claimsOf,
  fakeClock,
  problemOf,
  testService,
  uniqueEmail,
  type ApiUser,
  type SignedInUser,
  type TokenPair,
} from "../support/harness";
import { inbox, type ReceivedMail } from "../support/mail";
import { totpCode } from "../support/totp";

type Service = ReturnType<typeof testService>;
type Clock = ReturnType<typeof fakeClock>;
type EmailSignedIn = { user: ApiUser; tokens: TokenPair; deviceToken: string; isNewUser: boolean };

const APP = TEST_SECRETS.APP_URL;
const REDIRECT = "https://app.example.com/auth/magic";
const CODE_SUBJECT = / is your sign-in code$/;

/** A service on a clock of its own, so expiry and lockouts are ours to move. */
function clocked() {
  const time = fakeClock(new Date());
  return { time, s: testService({ clock: time.clock }) };
}

/**
 * A service whose mail queue only records what is enqueued (nothing reaches the consumer). `jobs()`: the code
 * requests among them; `queued()`: every job, registration's verification mails included.
 */
function recordingQueue(env: Record<string, unknown> = {}, clock?: Clock["clock"]) {
  const all: { kind: string }[] = [];
  const send = async (job: { kind: string }) => void all.push(job);
  const s = testService({ env: { ...env, MAIL_QUEUE: { send } }, clock });
  return { s, jobs: () => all.filter((job) => job.kind === "email_code_request"), queued: () => [...all] };
}

const requestCode = (s: Pick<Service, "call">, email: string, extra: Record<string, unknown> = {}) =>
  s.call("POST", "/auth/email/code", { body: { email, ...extra } });

const verify = (s: Pick<Service, "call">, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  s.call("POST", "/auth/email/code/verify", { body, headers });

/** The sign-in code mails `to` has received, oldest first, once there are at least `count`. */
async function codeMails(to: string, count = 1): Promise<ReceivedMail[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const mails = (await inbox.all({ to })).filter((m) => CODE_SUBJECT.test(m.subject));
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) throw new Error(`expected ${count} code mails to ${to}, got ${mails.length}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The code and the magic link of a sign-in mail. */
function secretsOf(mail: ReceivedMail): { code: string; link: string; token: string } {
  const code = /Your sign-in code is (\d{6})\./.exec(mail.text)?.[1];
  const link = mail.text.split(/\s+/).find((word) => word.includes("?token="));
  if (!code || !link) throw new Error("no code or link in the mail");
  return { code, link, token: new URL(link).searchParams.get("token")! };
}

/** Requests a code for `email` and answers the `nth` code mail's secrets. */
async function mailedCode(s: Pick<Service, "call">, email: string, nth = 1, extra: Record<string, unknown> = {}) {
  const res = await requestCode(s, email, extra);
  expect(res.status).toBe(202);
  return secretsOf((await codeMails(email, nth))[nth - 1]!);
}

async function expectInvalidCode(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect((await problemOf(res)).code).toBe("invalid_email_code");
}

async function signedIn(res: Response): Promise<EmailSignedIn> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as EmailSignedIn;
}

/** An answer as a client sees it, apart from its date. */
async function answerOf(res: Response) {
  return {
    status: res.status,
    body: await res.text(),
    headers: [...res.headers.entries()].filter(([name]) => name !== "date"),
  };
}

const markVerified = (s: Service, userId: string) =>
  s.db.query("update users set email_verified_at = now() where id = $1", [userId]);

async function enrolTotp(s: Service, time: Clock, token: string): Promise<string> {
  const start = await s.call("POST", "/me/mfa/totp", { token });
  expect(start.status).toBe(200);
  const { secret } = (await start.json()) as { secret: string };
  const confirm = await s.call("POST", "/me/mfa/totp/confirm", { token, body: { code: totpCode(secret, time.now()) } });
  expect(confirm.status).toBe(200);
  time.advance(30);
  return secret;
}

describe("requesting a code (no address oracle)", () => {
  it(
    "a known, an unknown and a disabled address get the same answer in status, body and headers, and the request " +
      "does the same work for each: one job naming a request row, no address and no mail sent inline",
    async () => {
      const { s, jobs, queued } = recordingQueue();
      const known = await s.register();
      const disabled = await s.register();
      await s.db.query("update users set status = 'disabled' where id = $1", [disabled.user.id]);
      const unknown = uniqueEmail("nobody");
      const before = queued().length;

      const answers = [];
      for (const email of [known.email, unknown, disabled.email])
        answers.push(await answerOf(await requestCode(s, email)));
      expect(answers[0]!.status).toBe(202);
      expect(answers[0]!.body).toBe("{}");
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);

      // One job each and nothing else, of one shape: the row's id and the sign-up switch, never the address.
      expect(queued().slice(before)).toEqual(jobs());
      expect(jobs()).toHaveLength(3);
      for (const job of jobs()) {
        expect(Object.keys(job as object).sort()).toEqual(["id", "kind", "signUp"]);
        expect(job).toMatchObject({ kind: "email_code_request", signUp: true });
      }
      for (const email of [known.email, unknown, disabled.email]) {
        const rows = await s.db.query<{ code_hash: string | null }>(
          "select code_hash from email_sign_in_codes where email = $1",
          [email],
        );
        expect(rows).toEqual([{ code_hash: null }]); // nothing minted by the request itself
      }
      // The jobs never reached a consumer: nobody got mail from the request.
      for (const email of [known.email, unknown, disabled.email])
        expect((await inbox.all({ to: email })).filter((m) => CODE_SUBJECT.test(m.subject))).toHaveLength(0);
    },
  );

  it("the queue consumer mails an active account and a new address, and a disabled account nothing", async () => {
    const known = await testService().register();
    const disabled = await testService().register();
    await testService().db.query("update users set status = 'disabled' where id = $1", [disabled.user.id]);
    const unknown = uniqueEmail("newcomer");
    for (const email of [known.email, unknown, disabled.email])
      expect((await requestCode(testService(), email)).status).toBe(202);
    const mail = (await codeMails(known.email))[0]!;
    expect(mail.text).toContain(`${APP}/magic-link?token=`);
    expect(mail.html).toContain("/magic-link?token=");
    await codeMails(unknown);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await inbox.all({ to: disabled.email })).filter((m) => CODE_SUBJECT.test(m.subject))).toHaveLength(0);
    const [sent] = await testService().db.auditRows({ userId: known.user.id, event: "auth.email_code_sent" });
    expect(sent).toBeDefined();
    const { code, token } = secretsOf(mail);
    expect(JSON.stringify(sent)).not.toContain(token);
    expect(JSON.stringify(sent)).not.toContain(code);
  });

  it("the per-address cap (5 an hour) answers 202 past it, alike for a known and an unknown address", async () => {
    const { s, jobs } = recordingQueue();
    const known = await s.register();
    const unknown = uniqueEmail("nobody");
    const answers: Awaited<ReturnType<typeof answerOf>>[][] = [[], []];
    for (let i = 0; i < 7; i++)
      for (const [n, email] of [known.email, unknown].entries())
        answers[n]!.push(await answerOf(await requestCode(s, email)));
    expect(answers[0]!.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 202, 202]);
    expect(answers[1]).toEqual(answers[0]);
    // Counted before anything is queued: five jobs for each address, then none.
    expect(jobs()).toHaveLength(10);
    for (const email of [known.email, unknown])
      expect(await s.db.query("select 1 from email_sign_in_codes where email = $1", [email])).toHaveLength(5);
  });

  it(
    "the per-address cap holds for requests racing each other: 60 at once queue 5 codes, " +
      "and 30 racing in Postgres store 5 (inbox flooding)",
    async () => {
      const { s, jobs } = recordingQueue();
      const email = uniqueEmail("flood");
      const answers = await Promise.all(Array.from({ length: 60 }, () => requestCode(s, email)));
      expect(answers.map((res) => res.status)).toEqual(Array(60).fill(202));
      expect(jobs()).toHaveLength(5);
      expect(await s.db.query("select 1 from email_sign_in_codes where email = $1", [email])).toHaveLength(5);
      // The store itself, on connections of its own racing in Postgres.
      const other = uniqueEmail("flood");
      const pools = Array.from({ length: 30 }, () => s.stores());
      try {
        const at = new Date();
        const expiresAt = new Date(at.getTime() + 600_000);
        const input = { email: other, addressKey: other, redirectTo: null, maxPerHour: 5, expiresAt, at };
        const accepted = await Promise.all(pools.map(({ stores }) => stores.emailCodes.request(input)));
        expect(accepted.filter((row) => row !== undefined)).toHaveLength(5);
      } finally {
        await Promise.all(pools.map(({ close }) => close()));
      }
    },
  );

  it(
    "the cap is a sliding hour: an address past it gets a code again once its oldest " + "request is an hour old",
    async () => {
      const time = fakeClock();
      const { s, jobs } = recordingQueue({}, time.clock);
      const email = uniqueEmail("window");
      for (let i = 0; i < 5; i++) {
        await requestCode(s, email);
        time.advance(10 * 60);
      }
      await requestCode(s, email); // 50 minutes after the first: refused
      expect(jobs()).toHaveLength(5);
      time.advance(10 * 60 + 1); // the first is now over an hour old
      await requestCode(s, email);
      expect(jobs()).toHaveLength(6);
      await requestCode(s, email); // the second is 50 minutes old: refused again
      expect(jobs()).toHaveLength(6);
    },
  );

  it("a redirectTo that is not exactly a REDIRECT_URLS entry is refused, and nothing is written", async () => {
    const { s, jobs } = recordingQueue();
    const email = uniqueEmail("redirect");
    for (const redirectTo of [
      `${REDIRECT}/deeper`,
      `${REDIRECT}?next=/admin`,
      `${REDIRECT}#fragment`,
      "http://app.example.com/auth/magic",
      "https://evil.example.com/auth/magic",
      "https://app.example.com/auth",
      "https://app.example.com:8443/auth/magic",
      "javascript:alert(1)",
    ]) {
      const res = await requestCode(s, email, { redirectTo });
      expect(res.status, redirectTo).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
    expect(jobs()).toHaveLength(0);
    expect(await s.db.query("select 1 from email_sign_in_codes where email = $1", [email])).toHaveLength(0);
  });

  it("an exact REDIRECT_URLS entry is where the magic link opens", async () => {
    const email = uniqueEmail("redirect");
    const { link, token } = await mailedCode(testService(), email, 1, { redirectTo: REDIRECT });
    expect(link).toBe(`${REDIRECT}?token=${token}`);
  });
});

describe("verifying a code", () => {
  it("signs up a new address: 200 with isNewUser, the email verified, no password, amr email", async () => {
    const s = testService();
    const email = uniqueEmail("newcomer");
    const { code } = await mailedCode(s, email);
    const body = await signedIn(await verify(s, { email, code }));
    expect(body.isNewUser).toBe(true);
    expect(body.user).toMatchObject({ email, emailVerified: true, hasPassword: false });
    expect(body.deviceToken).toMatch(/^sadt_/);
    const claims = claimsOf(body.tokens.accessToken);
    expect(claims.amr).toEqual(["email"]);
    expect(claims.email_verified).toBe(true);
    const [login] = await s.db.auditRows({ userId: body.user.id, event: "auth.email_code_login" });
    expect(login!.metadata).toEqual({ newAccount: true, claimed: false });
    expect(JSON.stringify(login)).not.toContain(code);

    const again = await mailedCode(s, email, 2);
    expect((await signedIn(await verify(s, { email, code: again.code }))).isNewUser).toBe(false);
  });

  it("a refresh keeps the session's proof: amr email, and its auth_time, on the new access token", async () => {
    const s = testService();
    const email = uniqueEmail("refreshed");
    const { code } = await mailedCode(s, email);
    const body = (await signedIn(await verify(s, { email, code }))) as {
      tokens: { accessToken: string; refreshToken: string };
    };
    const first = claimsOf(body.tokens.accessToken);
    const tokens = await s.refreshOk(body.tokens.refreshToken);
    const claims = claimsOf(tokens.accessToken);
    expect(claims.amr).toEqual(["email"]);
    expect(claims.auth_time).toBe(first.auth_time);
  });

  it("code guessing: five wrong codes spend the code, so the right one no longer works", async () => {
    const { s, time } = clocked();
    const owner = await s.register();
    const { code } = await mailedCode(s, owner.email);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) await expectInvalidCode(await verify(s, { email: owner.email, code: wrong }));
    // The guesses also filled the account's bucket: past its lock, the code itself is spent.
    expect((await verify(s, { email: owner.email, code })).status).toBe(429);
    time.advance(60);
    await expectInvalidCode(await verify(s, { email: owner.email, code }));
  });

  it("code reuse: a code signs in once", async () => {
    const s = testService();
    const owner = await s.register();
    const { code } = await mailedCode(s, owner.email);
    await signedIn(await verify(s, { email: owner.email, code }));
    await expectInvalidCode(await verify(s, { email: owner.email, code }));
  });

  it("an older code is ended by a newer one", async () => {
    const s = testService();
    const owner = await s.register();
    const first = await mailedCode(s, owner.email, 1);
    const second = await mailedCode(s, owner.email, 2);
    await expectInvalidCode(await verify(s, { email: owner.email, code: first.code }));
    await expectInvalidCode(await verify(s, { token: first.token }));
    await signedIn(await verify(s, { email: owner.email, code: second.code }));
  });

  it("an expired code (10 minutes) signs in nobody", async () => {
    const { s, time } = clocked();
    const owner = await s.register();
    const { code, token } = await mailedCode(s, owner.email);
    time.advance(10 * 60 + 5);
    await expectInvalidCode(await verify(s, { email: owner.email, code }));
    await expectInvalidCode(await verify(s, { token }));
  });

  it("a code of address A does not sign in B", async () => {
    const s = testService();
    const a = await s.register();
    const b = await s.register();
    const codeOfA = (await mailedCode(s, a.email)).code;
    await mailedCode(s, b.email);
    await expectInvalidCode(await verify(s, { email: b.email, code: codeOfA }));
    const body = await signedIn(await verify(s, { email: a.email, code: codeOfA }));
    expect(body.user.id).toBe(a.user.id);
  });

  it("a magic link's token signs in once, and spends the code mailed with it", async () => {
    const s = testService();
    const owner = await s.register();
    const { code, token } = await mailedCode(s, owner.email);
    const body = await signedIn(await verify(s, { token }));
    expect(body.user.id).toBe(owner.user.id);
    expect(claimsOf(body.tokens.accessToken).amr).toEqual(["email"]);
    await expectInvalidCode(await verify(s, { token }));
    await expectInvalidCode(await verify(s, { email: owner.email, code }));
  });

  it("a disabled account fails exactly like a wrong code, even with its right code", async () => {
    const s = testService();
    const owner = await s.register();
    const { code } = await mailedCode(s, owner.email);
    await s.db.query("update users set status = 'disabled' where id = $1", [owner.user.id]);
    const disabled = await answerOf(await verify(s, { email: owner.email, code }));
    const stranger = await s.register();
    await mailedCode(s, stranger.email);
    const wrong = await answerOf(
      await verify(s, { email: stranger.email, code: code === "123456" ? "654321" : "123456" }),
    );
    expect(disabled).toEqual(wrong);
    expect(disabled.status).toBe(401);
  });

  it("a body with both a code and a token, or neither, is refused", async () => {
    const s = testService();
    for (const body of [{ email: uniqueEmail(), code: "123456", token: "x" }, { email: uniqueEmail() }, {}]) {
      const res = await verify(s, body);
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
  });
});

describe("the first proof of an address (pre-account hijack)", () => {
  it(
    "an unverified squatter's account is claimed by the owner's code: the squatter's sessions, password and " +
      "pending email change end, with user.claimed_by_proof",
    async () => {
      const s = testService();
      const victim = uniqueEmail("victim");
      const squatter: SignedInUser = await s.register({ email: victim });
      // A change to an address of the squatter's, asked for while the address looked proven (as before v3).
      await markVerified(s, squatter.user.id);
      const change = await s.call("POST", "/me/email", {
        token: squatter.tokens.accessToken,
        body: { newEmail: uniqueEmail("squatter-own"), currentPassword: squatter.password },
      });
      expect(change.status).toBe(202);
      await s.db.query("update users set email_verified_at = null where id = $1", [squatter.user.id]);

      const { code } = await mailedCode(s, victim);
      const body = await signedIn(await verify(s, { email: victim, code }));
      expect(body.isNewUser).toBe(false);
      expect(body.user).toMatchObject({ id: squatter.user.id, emailVerified: true, hasPassword: false });

      expect((await s.call("GET", "/auth/verify", { token: squatter.tokens.accessToken })).status).toBe(401);
      expect((await s.refresh(squatter.tokens.refreshToken)).status).toBe(401);
      expect(
        (await s.call("POST", "/auth/login", { body: { email: victim, password: squatter.password } })).status,
      ).toBe(401);
      const pending = await s.db.query(
        "select 1 from one_time_tokens where user_id = $1 and purpose = 'email_change' and used_at is null",
        [squatter.user.id],
      );
      expect(pending).toHaveLength(0);
      const [claim] = await s.db.auditRows({ userId: squatter.user.id, event: "user.claimed_by_proof" });
      expect(claim!.metadata).toMatchObject({ proof: "email_code", sessions: 1, passwordEnded: true });
      expect(JSON.stringify(claim)).not.toContain(code);
      // The owner's own session works.
      expect((await s.call("GET", "/me", { token: body.tokens.accessToken })).status).toBe(200);
    },
  );

  it("a verified account is not claimed: its password and other sessions stay", async () => {
    const s = testService();
    const owner = await s.register();
    await markVerified(s, owner.user.id);
    const { code } = await mailedCode(s, owner.email);
    const body = await signedIn(await verify(s, { email: owner.email, code }));
    expect(body.user.hasPassword).toBe(true);
    expect((await s.refresh(owner.tokens.refreshToken)).status).toBe(200);
    expect(await s.db.auditRows({ userId: owner.user.id, event: "user.claimed_by_proof" })).toHaveLength(0);
  });
});

describe("switches", () => {
  it(
    "sign-up off: an unknown address is sent nothing and no account is created, " + "a known one still signs in",
    async () => {
      const s = testService({ env: { EMAIL_SIGN_UP: "false" } });
      const unknown = uniqueEmail("nobody");
      const known = await s.register();
      const refused = await requestCode(s, unknown);
      const accepted = await requestCode(s, known.email);
      expect(await answerOf(refused)).toEqual(await answerOf(accepted));
      const { code } = secretsOf((await codeMails(known.email))[0]!);
      await inbox.none({ to: unknown });
      await expectInvalidCode(await verify(s, { email: unknown, code: "123456" }));
      expect(await s.db.query("select 1 from users where email = $1", [unknown])).toHaveLength(0);
      await signedIn(await verify(s, { email: known.email, code }));
    },
  );

  it("email sign-in off: its routes and page answer 404 as if absent, whatever the body", async () => {
    const s = testService({ env: { EMAIL_SIGN_IN: "false" } });
    const absent = await s.call("POST", "/auth/no-such-route", { rawBody: "not json" });
    for (const [method, path] of [
      ["POST", "/auth/email/code"],
      ["POST", "/auth/email/code/verify"],
      ["GET", "/magic-link"],
    ] as const) {
      const res = await s.call(method, path, { rawBody: method === "POST" ? "not json" : undefined });
      expect(res.status, path).toBe(404);
      expect(await problemOf(res)).toEqual(await problemOf(absent.clone()));
    }
  });
});

describe("second factor and browser mode", () => {
  it("an account with TOTP answers mfa_required, and the second step's amr begins with email", async () => {
    const { s, time } = clocked();
    const owner = await s.register();
    await markVerified(s, owner.user.id);
    const secret = await enrolTotp(s, time, owner.tokens.accessToken);
    const { code } = await mailedCode(s, owner.email);
    const first = await verify(s, { email: owner.email, code });
    expect(first.status).toBe(403);
    const problem = (await problemOf(first)) as { code: string; mfaToken?: string; methods?: string[] };
    expect(problem.code).toBe("mfa_required");
    expect(problem.methods).toEqual(["totp", "recovery_code"]);
    // No session was opened by the code alone, and the code is spent.
    await expectInvalidCode(await verify(s, { email: owner.email, code }));
    const second = await s.call("POST", "/auth/mfa", {
      body: { mfaToken: problem.mfaToken, code: totpCode(secret, time.now()) },
    });
    expect(second.status).toBe(200);
    const { tokens } = (await second.json()) as { tokens: TokenPair };
    expect(claimsOf(tokens.accessToken).amr).toEqual(["email", "otp", "mfa"]);
  });

  it("cookie mode sets the session cookies and keeps the refresh token out of the body", async () => {
    const s = testService();
    const owner = await s.register();
    const { code } = await mailedCode(s, owner.email);
    const res = await verify(s, { email: owner.email, code }, { "X-Auth-Mode": "cookie", Origin: APP });
    const body = await signedIn(res);
    expect(body.tokens.refreshToken).toBeUndefined();
    const cookies = res.headers.getSetCookie().map((cookie) => cookie.split("=")[0]);
    expect(cookies.sort()).toEqual(["__Host-sa_at", "__Host-sa_dev", "__Host-sa_rt"]);
  });

  it("cookie mode from an origin outside the allowlist is refused before the code is spent (login CSRF)", async () => {
    const s = testService();
    const owner = await s.register();
    const { code } = await mailedCode(s, owner.email);
    const res = await verify(
      s,
      { email: owner.email, code },
      { "X-Auth-Mode": "cookie", Origin: "https://evil.example" },
    );
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("csrf_rejected");
    await signedIn(await verify(s, { email: owner.email, code }));
  });
});
