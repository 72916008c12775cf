// v3 account recovery on the real stack (docs/account-lifecycle.md, v3): what an attacker who held an account for a
// moment, or who registered its address before its owner, keeps once the owner recovers it.
// - A pending email change ends with a password change or reset, a
//   sign-out-everywhere and any factor change, POST /me/email is recent, and
//   a completed change tells the old address.
// - An account whose address is unproven enrols no factor and requests no
//   email change; the first proof of the address by a password reset ends
//   everything the unproven holder set up (pre-account hijack).
// - POST /me/email answers a taken address exactly as a free one.
// Mail goes through the Worker's queue to the suite's SMTP server.
import { describe, expect, it } from "vitest";
import { TEST_SECRETS } from "../setup/secrets";
import { fakeClock, problemOf, testService, uniqueEmail, type SignedInUser, type TokenPair } from "../support/harness";
import { inbox, tokenIn, type ReceivedMail } from "../support/mail";
import { totpCode } from "../support/totp";
import { SoftAuthenticator } from "../support/webauthn";

const NEW_PASSWORD = "the owner's own new passphrase 5";
const WEBAUTHN = { origin: TEST_SECRETS.WEBAUTHN_ORIGINS, rpId: TEST_SECRETS.WEBAUTHN_RP_ID };
const CONFIRM_SUBJECT = "Confirm your new email address";
const TRIED_SUBJECT = "Someone tried to use your email address";

type Service = ReturnType<typeof testService>;
type Clock = ReturnType<typeof fakeClock>;

/** A service on a clock of its own, so TOTP steps and session ages are ours to move. */
function clocked() {
  const time = fakeClock(new Date());
  return { time, s: testService({ clock: time.clock }) };
}

const markVerified = (s: Service, userId: string) =>
  s.db.query("update users set email_verified_at = now() where id = $1", [userId]);
/** The state an account enrolled before v3 may be in: factors and a pending change, the address never proven. */
const markUnverified = (s: Service, userId: string) =>
  s.db.query("update users set email_verified_at = null where id = $1", [userId]);

/** A new account whose address is proven (here by the database: this file is not about the verification link). */
async function verifiedAccount(s: Service, tag = "owner"): Promise<SignedInUser> {
  const account = await s.register({ email: uniqueEmail(tag) });
  await markVerified(s, account.user.id);
  return account;
}

const requestEmailChange = (s: Service, token: string, newEmail: string, currentPassword: string) =>
  s.call("POST", "/me/email", { token, body: { newEmail, currentPassword } });

/** POST /me/email that must be accepted; the confirmation link's token mailed to `newEmail`. */
async function pendingChange(
  s: Service,
  account: { password: string },
  token: string,
  newEmail = uniqueEmail("attacker"),
): Promise<{ newEmail: string; link: string }> {
  const res = await requestEmailChange(s, token, newEmail, account.password);
  expect(res.status).toBe(202);
  return { newEmail, link: tokenIn(await inbox.waitFor({ to: newEmail, subject: CONFIRM_SUBJECT }), "/confirm-email") };
}

async function expectLinkDead(s: Service, link: string, owner: SignedInUser): Promise<void> {
  const res = await s.call("POST", "/auth/email/change", { body: { token: link } });
  expect(res.status).toBe(400);
  expect((await problemOf(res)).code).toBe("invalid_one_time_token");
  const [row] = await s.db.query<{ email: string }>("select email from users where id = $1", [owner.user.id]);
  expect(row!.email).toBe(owner.email);
}

async function enrolTotp(s: Service, time: Clock, token: string): Promise<{ secret: string }> {
  const start = await s.call("POST", "/me/mfa/totp", { token });
  expect(start.status).toBe(200);
  const { secret } = (await start.json()) as { secret: string };
  const confirm = await s.call("POST", "/me/mfa/totp/confirm", { token, body: { code: totpCode(secret, time.now()) } });
  expect(confirm.status).toBe(200);
  time.advance(30);
  return { secret };
}

/** A password and TOTP sign-in (amr pwd, otp, mfa): a session strong enough for any recent operation. */
async function mfaSignIn(
  s: Service,
  time: Clock,
  account: { email: string; password: string },
  secret: string,
): Promise<TokenPair> {
  const first = await s.call("POST", "/auth/login", { body: { email: account.email, password: account.password } });
  expect(first.status).toBe(403);
  const { mfaToken } = (await first.json()) as { mfaToken: string };
  const second = await s.call("POST", "/auth/mfa", { body: { mfaToken, code: totpCode(secret, time.now()) } });
  expect(second.status).toBe(200);
  time.advance(30);
  return ((await second.json()) as { tokens: TokenPair }).tokens;
}

async function addPasskey(s: Service, token: string): Promise<{ device: SoftAuthenticator; id: string }> {
  const device = await SoftAuthenticator.create(WEBAUTHN);
  const options = await s.call("POST", "/me/passkeys/options", { token });
  expect(options.status).toBe(200);
  const res = await s.call("POST", "/me/passkeys", {
    token,
    body: { response: await device.register((await options.json()) as { challenge: string }), name: "Key" },
  });
  expect(res.status).toBe(201);
  return { device, id: ((await res.json()) as { passkey: { id: string } }).passkey.id };
}

async function passkeySignIn(s: Service, device: SoftAuthenticator, userId: string): Promise<Response> {
  const options = (await (await s.call("POST", "/auth/passkey/options", { body: {} })).json()) as { challenge: string };
  return s.call("POST", "/auth/passkey", { body: { response: await device.assert(options, userId) } });
}

/** A passkey sign-in with user verification: a session strong enough for any recent operation. */
async function passkeyTokens(s: Service, device: SoftAuthenticator, userId: string): Promise<TokenPair> {
  const res = await passkeySignIn(s, device, userId);
  expect(res.status).toBe(200);
  return ((await res.json()) as { tokens: TokenPair }).tokens;
}

async function resetPassword(s: Service, email: string, newPassword = NEW_PASSWORD): Promise<void> {
  expect((await s.call("POST", "/auth/password/forgot", { body: { email } })).status).toBe(202);
  const token = tokenIn(await inbox.waitFor({ to: email, subject: "Reset your password" }), "/reset-password");
  expect((await s.call("POST", "/auth/password/reset", { body: { token, newPassword } })).status).toBe(204);
}

const admin = (s: Service) => s.signIn({ roles: ["admin"] });

describe("v3: a pending email change ends when the owner takes the account back", () => {
  it("an email-change link requested before a password reset no longer changes the address", async () => {
    const { s } = clocked();
    const owner = await verifiedAccount(s);
    // The attacker, with the password for a moment, asks for a change to their own address and keeps the link.
    const { link } = await pendingChange(s, owner, owner.tokens.accessToken);
    await resetPassword(s, owner.email);
    await expectLinkDead(s, link, owner);
  });

  it("an email-change link requested before a password change no longer changes the address", async () => {
    const { s } = clocked();
    const owner = await verifiedAccount(s);
    const { link } = await pendingChange(s, owner, (await s.login(owner.email, owner.password)).tokens.accessToken);
    const changed = await s.call("POST", "/auth/password", {
      token: owner.tokens.accessToken,
      body: { currentPassword: owner.password, newPassword: NEW_PASSWORD },
    });
    expect(changed.status).toBe(204);
    await expectLinkDead(s, link, owner);
  });

  it(
    "an email-change link requested before the owner signs out everywhere " +
      "(DELETE /sessions) no longer changes the address",
    async () => {
      const { s } = clocked();
      const owner = await verifiedAccount(s);
      const { link } = await pendingChange(s, owner, (await s.login(owner.email, owner.password)).tokens.accessToken);
      expect((await s.call("DELETE", "/sessions", { token: owner.tokens.accessToken })).status).toBe(204);
      await expectLinkDead(s, link, owner);
    },
  );

  it(
    "an email-change link requested before an administrator ends the " +
      "account's sessions no longer changes the address",
    async () => {
      const { s } = clocked();
      const owner = await verifiedAccount(s);
      const { link } = await pendingChange(s, owner, owner.tokens.accessToken);
      const administrator = await admin(s);
      expect(
        (await s.call("DELETE", `/admin/users/${owner.user.id}/sessions`, { token: administrator.tokens.accessToken }))
          .status,
      ).toBe(204);
      await expectLinkDead(s, link, owner);
    },
  );

  it.each([
    ["TOTP is enrolled", "enrol"],
    ["TOTP is removed", "removeTotp"],
    ["the recovery codes are regenerated", "regenerate"],
    ["a passkey is added", "addPasskey"],
    ["a passkey is removed", "removePasskey"],
    ["an administrator removes the factors", "adminRemoval"],
  ] as const)(
    "an email-change link requested before %s no longer changes the address (any factor change)",
    async (_label, change) => {
      const { s, time } = clocked();
      const owner = await verifiedAccount(s);
      let token = owner.tokens.accessToken;
      let passkeyId = "";
      if (change === "removeTotp" || change === "regenerate" || change === "adminRemoval")
        token = (await mfaSignIn(s, time, owner, (await enrolTotp(s, time, token)).secret)).accessToken;
      if (change === "removePasskey") {
        const added = await addPasskey(s, token);
        passkeyId = added.id;
        token = (await passkeyTokens(s, added.device, owner.user.id)).accessToken;
      }
      const { link } = await pendingChange(s, owner, token);

      const answers = {
        enrol: async () => {
          await enrolTotp(s, time, token);
          return 200;
        },
        removeTotp: async () => (await s.call("DELETE", "/me/mfa/totp", { token })).status,
        regenerate: async () => (await s.call("POST", "/me/mfa/recovery-codes", { token })).status,
        addPasskey: async () => {
          await addPasskey(s, token);
          return 201;
        },
        removePasskey: async () => (await s.call("DELETE", `/me/passkeys/${passkeyId}`, { token })).status,
        adminRemoval: async () =>
          (await s.call("DELETE", `/admin/users/${owner.user.id}/mfa`, { token: (await admin(s)).tokens.accessToken }))
            .status,
      };
      expect([200, 201, 204]).toContain(await answers[change]());
      await expectLinkDead(s, link, owner);
    },
  );

  it(
    "POST /me/email needs a recent sign-in: a stolen 11-minute-old session " +
      "answers reauthentication_required and mails nothing",
    async () => {
      const { s, time } = clocked();
      const owner = await verifiedAccount(s);
      time.advance(660);
      const stale = await s.refreshOk(owner.tokens.refreshToken);
      const newEmail = uniqueEmail("attacker");
      const res = await requestEmailChange(s, stale.accessToken, newEmail, owner.password);
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe("reauthentication_required");
      await inbox.none({ to: newEmail }, { forMs: 500 });
      expect(
        await s.db.query("select 1 from one_time_tokens where user_id = $1 and purpose = 'email_change'", [
          owner.user.id,
        ]),
      ).toHaveLength(0);
    },
  );

  it(
    "completing a change mails the old address that it was replaced, so a " + "takeover does not go unnoticed",
    async () => {
      const { s } = clocked();
      const owner = await verifiedAccount(s);
      const { newEmail, link } = await pendingChange(s, owner, owner.tokens.accessToken);
      expect((await s.call("POST", "/auth/email/change", { body: { token: link } })).status).toBe(200);
      const notice = await inbox.waitFor({ to: owner.email, subject: "Your email address was changed" });
      expect(notice.text).toContain(newEmail);
      expect(notice.text).not.toContain("token=");
      expect(await inbox.all({ to: newEmail })).toHaveLength(1);
    },
  );
});

describe("v3: pre-account hijack", () => {
  it(
    "an unverified account cannot enrol TOTP, add a passkey or request an " +
      "email change: 403 email_not_verified, nothing stored",
    async () => {
      const { s, time } = clocked();
      // The attacker registers the victim's address and never proves it.
      const squatter = await s.register({ email: uniqueEmail("victim") });
      const token = squatter.tokens.accessToken;
      const refused = async (res: Response) => {
        expect(res.status).toBe(403);
        expect((await problemOf(res)).code).toBe("email_not_verified");
      };
      await refused(await s.call("POST", "/me/mfa/totp", { token }));
      await refused(await s.call("POST", "/me/passkeys/options", { token }));
      const newEmail = uniqueEmail("attacker");
      await refused(await requestEmailChange(s, token, newEmail, squatter.password));

      // What a session started before the address went unproven holds (a pending enrolment, passkey options) is refused
      // too.
      await markVerified(s, squatter.user.id);
      const { secret } = (await (await s.call("POST", "/me/mfa/totp", { token })).json()) as { secret: string };
      const options = (await (await s.call("POST", "/me/passkeys/options", { token })).json()) as { challenge: string };
      await markUnverified(s, squatter.user.id);
      await refused(
        await s.call("POST", "/me/mfa/totp/confirm", { token, body: { code: totpCode(secret, time.now()) } }),
      );
      const device = await SoftAuthenticator.create(WEBAUTHN);
      await refused(
        await s.call("POST", "/me/passkeys", { token, body: { response: await device.register(options) } }),
      );

      expect(
        await s.db.query("select 1 from totp_factors where user_id = $1 and confirmed_at is not null", [
          squatter.user.id,
        ]),
      ).toHaveLength(0);
      expect(await s.db.query("select 1 from passkeys where user_id = $1", [squatter.user.id])).toHaveLength(0);
      expect(
        await s.db.query("select 1 from one_time_tokens where user_id = $1 and purpose = 'email_change'", [
          squatter.user.id,
        ]),
      ).toHaveLength(0);
      await inbox.none({ to: newEmail }, { forMs: 300 });
    },
  );

  it(
    "the owner's password reset ends everything the squatter set up before " +
      "v3: sessions, TOTP, passkey, pending change, mfa sign-in, device " +
      "tokens; the owner signs in with no mfa_required",
    async () => {
      const { s, time } = clocked();
      const victimEmail = uniqueEmail("victim");
      const squatter = await s.register({ email: victimEmail });
      // The legacy state: factors and a pending change made while the address was unproven (v2 let them through).
      await markVerified(s, squatter.user.id);
      const { device } = await addPasskey(s, squatter.tokens.accessToken);
      const strong = await passkeyTokens(s, device, squatter.user.id);
      const { secret } = await enrolTotp(s, time, strong.accessToken);
      const { link } = await pendingChange(s, squatter, strong.accessToken);
      const second = await mfaSignIn(s, time, squatter, secret);
      const pendingSignIn = await s.call("POST", "/auth/login", {
        body: { email: victimEmail, password: squatter.password },
      });
      const { mfaToken } = (await pendingSignIn.json()) as { mfaToken: string };
      await markUnverified(s, squatter.user.id);
      const [{ device_generation: generationBefore }] = (await s.db.query<{ device_generation: number }>(
        "select device_generation from users where id = $1",
        [squatter.user.id],
      )) as [{ device_generation: number }];

      // The owner of the mailbox takes the account over.
      await resetPassword(s, victimEmail);

      for (const tokens of [squatter.tokens, strong, second]) {
        expect((await s.call("GET", "/auth/verify", { token: tokens.accessToken })).status).toBe(401);
        expect((await s.refresh(tokens.refreshToken)).status).toBe(401);
      }
      const passkey = await passkeySignIn(s, device, squatter.user.id);
      expect(passkey.status).toBe(401);
      expect((await problemOf(passkey)).code).toBe("invalid_credentials");
      const mfa = await s.call("POST", "/auth/mfa", { body: { mfaToken, code: totpCode(secret, time.now()) } });
      expect(mfa.status).toBe(401);
      expect((await problemOf(mfa)).code).toBe("invalid_mfa_token");
      const change = await s.call("POST", "/auth/email/change", { body: { token: link } });
      expect(change.status).toBe(400);
      expect((await problemOf(change)).code).toBe("invalid_one_time_token");

      for (const table of ["totp_factors", "recovery_codes", "passkeys"])
        expect(await s.db.query(`select 1 from ${table} where user_id = $1`, [squatter.user.id])).toHaveLength(0);
      expect(
        await s.db.query("select 1 from one_time_tokens where user_id = $1 and used_at is null", [squatter.user.id]),
      ).toHaveLength(0);
      expect(
        await s.db.query("select 1 from auth_challenges where user_id = $1 and used_at is null", [squatter.user.id]),
      ).toHaveLength(0);
      const [{ device_generation: generationAfter }] = (await s.db.query<{ device_generation: number }>(
        "select device_generation from users where id = $1",
        [squatter.user.id],
      )) as [{ device_generation: number }];
      // A new device generation: every device token issued before counts no more (whatever else advances it too).
      expect(generationAfter).toBeGreaterThan(generationBefore);

      const owner = await s.call("POST", "/auth/login", { body: { email: victimEmail, password: NEW_PASSWORD } });
      expect(owner.status).toBe(200);
      const { user } = (await owner.json()) as {
        user: { id: string; email: string; emailVerified: boolean; mfa: unknown };
      };
      expect(user).toMatchObject({
        id: squatter.user.id,
        email: victimEmail,
        emailVerified: true,
        mfa: { totp: false, passkeys: 0 },
      });

      const [claim] = await s.db.auditRows({ userId: squatter.user.id, event: "user.claimed_by_proof" });
      expect(claim!.metadata).toEqual({
        proof: "password_reset",
        sessions: 3,
        oneTimeTokens: 2,
        totp: 1,
        recoveryCodes: 10,
        passkeys: 1,
        identities: 0,
        challenges: 1,
        passwordEnded: false,
      });
      expect(JSON.stringify(claim)).not.toContain(link);
      const [reset] = await s.db.auditRows({ userId: squatter.user.id, event: "user.password_reset" });
      expect(reset!.metadata).toEqual({ endedSessions: 3 });
    },
  );

  it(
    "in the moments after the owner's reset, while the edge may still accept " +
      "the squatter's token, the squatter's session adds no factor, passkey or " +
      "email change",
    async () => {
      const { s } = clocked();
      const victimEmail = uniqueEmail("victim");
      const squatter = await s.register({ email: victimEmail });
      await resetPassword(s, victimEmail);
      // Past the edge (as in another location, before the revocation reaches it): the services themselves, on Postgres.
      const { services, close } = await s.runtime();
      try {
        const actor = {
          userId: squatter.user.id,
          sessionId: squatter.tokens.sessionId,
          origin: { ip: null, userAgent: null },
        };
        for (const attempt of [
          () => services.secondFactors().startTotp(actor),
          () => services.passkeys().registrationOptions(actor),
          () =>
            services
              .lifecycle()
              .requestEmailChange(
                { ...actor, newEmail: uniqueEmail("attacker"), currentPassword: NEW_PASSWORD },
                actor.origin,
              ),
        ]) {
          await expect(attempt()).rejects.toMatchObject({ code: "invalid_token" });
        }
      } finally {
        await close();
      }
      expect(await s.db.query("select 1 from totp_factors where user_id = $1", [squatter.user.id])).toHaveLength(0);
      expect(
        await s.db.query("select 1 from one_time_tokens where user_id = $1 and purpose = 'email_change'", [
          squatter.user.id,
        ]),
      ).toHaveLength(0);
    },
  );

  it(
    "a reset of an account whose address was already proven keeps its " + "factors: only the first proof claims",
    async () => {
      const { s, time } = clocked();
      const owner = await verifiedAccount(s);
      await enrolTotp(s, time, owner.tokens.accessToken);
      await resetPassword(s, owner.email);
      expect(
        (await s.call("POST", "/auth/login", { body: { email: owner.email, password: NEW_PASSWORD } })).status,
      ).toBe(403);
      expect(await s.db.auditRows({ userId: owner.user.id, event: "user.claimed_by_proof" })).toHaveLength(0);
    },
  );

  it(
    "a followed verification link keeps the registering session, and its " +
      "mail says to ignore a registration you did not make",
    async () => {
      const { s } = clocked();
      const alice = await s.register({ email: uniqueEmail("alice") });
      const mail = await inbox.waitFor({ to: alice.email, subject: "Verify your email address" });
      expect(mail.text).toContain("confirms an account created with this email address");
      expect(mail.text).toContain("If you did not create an account, ignore this message");
      expect(
        (await s.call("POST", "/auth/email/verify", { body: { token: tokenIn(mail, "/verify-email") } })).status,
      ).toBe(200);
      expect((await s.call("GET", "/auth/verify", { token: alice.tokens.accessToken })).status).toBe(200);
      expect((await s.refresh(alice.tokens.refreshToken)).status).toBe(200);
      expect(await s.db.auditRows({ userId: alice.user.id, event: "user.claimed_by_proof" })).toHaveLength(0);
    },
  );
});

describe("v3: POST /me/email is no account-existence oracle", () => {
  /** Status, body and headers but the date. */
  async function answerOf(res: Response) {
    return {
      status: res.status,
      body: await res.text(),
      headers: [...res.headers.entries()].filter(([name]) => name !== "date"),
    };
  }

  it(
    "answers a taken address exactly as a free one; the taken address gets a " +
      "mail with no link, and nobody a link to it",
    async () => {
      const { s } = clocked();
      const prober = await verifiedAccount(s, "prober");
      const holder = await s.register({ email: uniqueEmail("holder") });
      const free = await answerOf(
        await requestEmailChange(s, prober.tokens.accessToken, uniqueEmail("free"), prober.password),
      );
      const taken = await answerOf(
        await requestEmailChange(s, prober.tokens.accessToken, holder.email.toUpperCase(), prober.password),
      );
      const own = await answerOf(await requestEmailChange(s, prober.tokens.accessToken, prober.email, prober.password));
      expect(free).toMatchObject({ status: 202, body: "{}" });
      expect(taken).toEqual(free);
      expect(own).toEqual(free);

      for (const address of [holder.email, prober.email]) {
        const tried = await inbox.waitFor({ to: address, subject: TRIED_SUBJECT });
        expect(tried.text).not.toMatch(/https?:\/\//);
      }
      expect(
        (await inbox.all({ to: holder.email })).filter((m: ReceivedMail) => m.subject === CONFIRM_SUBJECT),
      ).toHaveLength(0);
      expect(
        await s.db.query(
          "select 1 from one_time_tokens where user_id = $1 and purpose = 'email_change' and used_at is null",
          [prober.user.id],
        ),
      ).toHaveLength(0);
    },
  );

  it(
    "a taken address counts toward the hourly limit like a free one, so the " + "sixth request's 429 tells nothing",
    async () => {
      const { s } = clocked();
      const prober = await verifiedAccount(s, "prober");
      const holder = await s.register({ email: uniqueEmail("holder") });
      for (let i = 0; i < 5; i++)
        expect((await requestEmailChange(s, prober.tokens.accessToken, holder.email, prober.password)).status).toBe(
          202,
        );
      const sixth = await requestEmailChange(s, prober.tokens.accessToken, uniqueEmail("free"), prober.password);
      expect(sixth.status).toBe(429);
    },
  );

  it(
    "a request for a taken address ends an earlier pending link as one for a " +
      "free address does, so the earlier link tells nothing",
    async () => {
      const { s } = clocked();
      const prober = await verifiedAccount(s, "prober");
      const holder = await s.register({ email: uniqueEmail("holder") });
      const { link } = await pendingChange(s, prober, prober.tokens.accessToken);
      expect((await requestEmailChange(s, prober.tokens.accessToken, holder.email, prober.password)).status).toBe(202);
      await expectLinkDead(s, link, prober);
    },
  );
});
