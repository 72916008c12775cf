// Re-authentication by email code, for accounts without a password (a
// provider's or an email code's): POST /auth/reauthenticate/email mails a
// 6-digit code to the caller's verified address, bound to the calling
// session, and POST /auth/reauthenticate {emailCode} renews that session's
// proof (amr ["email"]). Each test is named after the attack it stops.
import { describe, expect, it } from "vitest";
import { claimsOf, fakeClock, problemOf, STRONG_PASSWORD, testService, uniqueEmail } from "../support/harness";
import { inbox, type ReceivedMail } from "../support/mail";
import { totpCode } from "../support/totp";

type Service = ReturnType<typeof testService>;
type Session = { userId: string; email: string; accessToken: string; refreshToken: string; sessionId: string };

const REAUTH_SUBJECT = / is your confirmation code$/;
const SIGN_IN_SUBJECT = / is your sign-in code$/;

function clocked() {
  const time = fakeClock(new Date());
  return { time, s: testService({ clock: time.clock }) };
}

async function mailsTo(to: string, subject: RegExp, count: number): Promise<ReceivedMail[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const mails = (await inbox.all({ to })).filter((m) => subject.test(m.subject));
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) throw new Error(`expected ${count} mails to ${to}, got ${mails.length}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const codeIn = (mail: ReceivedMail): string => {
  const code = /\b(\d{6})\b/.exec(mail.subject)?.[1];
  if (!code) throw new Error("no code in the mail");
  return code;
};

/** A passwordless account made by an email code sign-up, signed in. */
async function passwordless(s: Service, email = uniqueEmail("reauth-email")): Promise<Session> {
  expect((await s.call("POST", "/auth/email/code", { body: { email } })).status).toBe(202);
  const code = /Your sign-in code is (\d{6})\./.exec((await mailsTo(email, SIGN_IN_SUBJECT, 1))[0]!.text)![1]!;
  const res = await s.call("POST", "/auth/email/code/verify", { body: { email, code } });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as {
    user: { id: string; hasPassword: boolean };
    tokens: { accessToken: string; refreshToken: string; sessionId: string };
  };
  expect(body.user.hasPassword).toBe(false);
  return { userId: body.user.id, email, ...body.tokens };
}

const sendCode = (s: Service, token: string) => s.call("POST", "/auth/reauthenticate/email", { token });
const reauthenticate = (s: Service, token: string, body: Record<string, unknown>) =>
  s.call("POST", "/auth/reauthenticate", { token, body });

/** Asks for a code and reads the `nth` confirmation mail to `email`. */
async function mailedCode(s: Service, session: Session, nth = 1): Promise<string> {
  const res = await sendCode(s, session.accessToken);
  expect(res.status, await res.clone().text()).toBe(202);
  return codeIn((await mailsTo(session.email, REAUTH_SUBJECT, nth))[nth - 1]!);
}

/** A code that is not `code`. */
const wrongOf = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("re-authentication by email code", () => {
  it("a passwordless account's stale session gets methods [email_code], then a mailed code renews it", async () => {
    const { time, s } = clocked();
    const alice = await passwordless(s);
    time.advance(601);
    const stale = await s.call("POST", "/me/mfa/totp", { token: alice.accessToken });
    expect(stale.status).toBe(403);
    expect(await problemOf(stale)).toMatchObject({ code: "reauthentication_required", methods: ["email_code"] });

    const code = await mailedCode(s, alice);
    const res = await reauthenticate(s, alice.accessToken, { emailCode: code });
    expect(res.status, await res.clone().text()).toBe(200);
    const { tokens } = (await res.json()) as { tokens: { accessToken: string; sessionId: string } };
    expect(tokens.sessionId).toBe(alice.sessionId);
    const claims = claimsOf(tokens.accessToken);
    expect(claims.amr).toEqual(["email"]);
    expect(claims.auth_time).toBe(Math.floor(time.now().getTime() / 1000));
    const [row] = await s.db.auditRows({ userId: alice.userId, event: "auth.reauthenticated" });
    expect(row).toMatchObject({ metadata: { amr: ["email"] } });
    expect(JSON.stringify(row)).not.toContain(code);
    // The refresh keeps the new proof.
    const refreshed = await s.refreshOk(alice.refreshToken);
    expect(claimsOf(refreshed.accessToken).amr).toEqual(["email"]);
  });

  it("the code is only mailed to the verified address: an unverified passwordless account gets none", async () => {
    const { s } = clocked();
    const alice = await passwordless(s);
    await s.db.query("update users set email_verified_at = null where id = $1", [alice.userId]);
    const res = await sendCode(s, alice.accessToken);
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("email_not_verified");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await inbox.all({ to: alice.email })).filter((m) => REAUTH_SUBJECT.test(m.subject))).toHaveLength(0);
  });

  it("the code goes to the account's own address and nowhere else, with no link", async () => {
    const { s } = clocked();
    const alice = await passwordless(s);
    await mailedCode(s, alice);
    const [mail] = await mailsTo(alice.email, REAUTH_SUBJECT, 1);
    expect(mail!.to).toContain(alice.email);
    expect(mail!.text).not.toContain("?token=");
  });

  it("a password account cannot use the email path: 400 validation_failed, no mail, no proof", async () => {
    const { s } = clocked();
    const bob = await s.register();
    const send = await sendCode(s, bob.tokens.accessToken);
    expect(send.status).toBe(400);
    expect((await problemOf(send)).code).toBe("validation_failed");
    const prove = await reauthenticate(s, bob.tokens.accessToken, { emailCode: "123456" });
    expect(prove.status).toBe(400);
    expect((await problemOf(prove)).code).toBe("validation_failed");
    expect(await s.db.auditRows({ userId: bob.user.id, event: "auth.reauthenticated" })).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await inbox.all({ to: bob.email })).filter((m) => REAUTH_SUBJECT.test(m.subject))).toHaveLength(0);
  });

  it("a code for another user's session is refused, and another session of the same user too", async () => {
    const { s } = clocked();
    const alice = await passwordless(s);
    const mallory = await passwordless(s);
    const aliceCode = await mailedCode(s, alice);
    const stolen = await reauthenticate(s, mallory.accessToken, { emailCode: aliceCode });
    expect(stolen.status).toBe(401);
    expect((await problemOf(stolen)).code).toBe("invalid_email_code");
    // Alice's other session (signed in again by email code) cannot spend the code mailed for the first one.
    expect((await s.call("POST", "/auth/email/code", { body: { email: alice.email } })).status).toBe(202);
    const signIn = /Your sign-in code is (\d{6})\./.exec(
      (await mailsTo(alice.email, SIGN_IN_SUBJECT, 2))[1]!.text,
    )![1]!;
    const other = (await (
      await s.call("POST", "/auth/email/code/verify", { body: { email: alice.email, code: signIn } })
    ).json()) as { tokens: { accessToken: string } };
    const elsewhere = await reauthenticate(s, other.tokens.accessToken, { emailCode: aliceCode });
    expect((await problemOf(elsewhere)).code).toBe("invalid_email_code");
    // Nor does a re-authentication code sign anyone in.
    const asSignIn = await s.call("POST", "/auth/email/code/verify", { body: { email: alice.email, code: aliceCode } });
    expect((await problemOf(asSignIn)).code).toBe("invalid_email_code");
    // The owner's session still can.
    expect((await reauthenticate(s, alice.accessToken, { emailCode: aliceCode })).status).toBe(200);
  });

  it("a spent code is refused: single use", async () => {
    const { s } = clocked();
    const alice = await passwordless(s);
    const code = await mailedCode(s, alice);
    expect((await reauthenticate(s, alice.accessToken, { emailCode: code })).status).toBe(200);
    const again = await reauthenticate(s, alice.accessToken, { emailCode: code });
    expect(again.status).toBe(401);
    expect((await problemOf(again)).code).toBe("invalid_email_code");
  });

  it("a code older than 10 minutes is refused, and a newer code ends the older one", async () => {
    const { time, s } = clocked();
    const alice = await passwordless(s);
    const first = await mailedCode(s, alice, 1);
    const second = await mailedCode(s, alice, 2);
    expect((await problemOf(await reauthenticate(s, alice.accessToken, { emailCode: first }))).code).toBe(
      "invalid_email_code",
    );
    time.advance(10 * 60 + 1);
    const fresh = await s.refreshOk(alice.refreshToken);
    expect((await problemOf(await reauthenticate(s, fresh.accessToken, { emailCode: second }))).code).toBe(
      "invalid_email_code",
    );
  });

  it("five wrong codes spend it: the right one fails after them", async () => {
    const { s } = clocked();
    const alice = await passwordless(s);
    const code = await mailedCode(s, alice);
    for (let i = 0; i < 5; i++) {
      const wrong = await reauthenticate(s, alice.accessToken, { emailCode: wrongOf(code) });
      expect((await problemOf(wrong)).code).toBe("invalid_email_code");
    }
    // Refused whichever gives first: the session's bucket (locked after as many) or the spent code.
    const late = await reauthenticate(s, alice.accessToken, { emailCode: code });
    expect([401, 429]).toContain(late.status);
    const [row] = await s.db.query<{ ended_reason: string; failures: number }>(
      "select ended_reason, failures from email_sign_in_codes where session_id = $1",
      [alice.sessionId],
    );
    expect(row).toEqual({ ended_reason: "failures", failures: 5 });
  });

  it("codes count in the calling session's own bucket: a stranger filling the account's stops nothing", async () => {
    const { s } = clocked();
    const alice = await passwordless(s);
    for (let i = 0; i < 6; i++) {
      await s.call("POST", "/auth/email/code/verify", { body: { email: alice.email, code: "000000" } });
    }
    const code = await mailedCode(s, alice);
    expect((await reauthenticate(s, alice.accessToken, { emailCode: code })).status).toBe(200);
  });

  it("an account with a second factor: the email code alone is not enough, with TOTP it is two factors", async () => {
    const { time, s } = clocked();
    const alice = await passwordless(s);
    const start = await s.call("POST", "/me/mfa/totp", { token: alice.accessToken });
    const { secret } = (await start.json()) as { secret: string };
    const confirm = await s.call("POST", "/me/mfa/totp/confirm", {
      token: alice.accessToken,
      body: { code: totpCode(secret, time.now()) },
    });
    expect(confirm.status).toBe(200);
    time.advance(30);
    const gate = await s.call("DELETE", "/me/mfa/totp", { token: alice.accessToken });
    expect(await problemOf(gate)).toMatchObject({
      code: "reauthentication_required",
      methods: ["email_code+totp", "email_code+recovery_code"],
    });
    const alone = await reauthenticate(s, alice.accessToken, { emailCode: await mailedCode(s, alice, 1) });
    expect((await problemOf(alone)).code).toBe("reauthentication_required");
    const both = await reauthenticate(s, alice.accessToken, {
      emailCode: await mailedCode(s, alice, 2),
      code: totpCode(secret, time.now()),
    });
    expect(both.status, await both.clone().text()).toBe(200);
    const { tokens } = (await both.json()) as { tokens: { accessToken: string } };
    expect(claimsOf(tokens.accessToken).amr).toEqual(["email", "otp", "mfa"]);
    expect((await s.call("DELETE", "/me/mfa/totp", { token: tokens.accessToken })).status).toBe(204);
  });

  it("a password account's methods still offer the password, never email_code", async () => {
    const { time, s } = clocked();
    const bob = await s.register({ password: STRONG_PASSWORD });
    time.advance(601);
    const stale = await s.call("POST", "/me/mfa/totp", { token: bob.tokens.accessToken });
    expect(await problemOf(stale)).toMatchObject({ code: "reauthentication_required", methods: ["password"] });
  });
});
