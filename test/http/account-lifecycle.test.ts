// The account lifecycle by email on the real stack (docs/account-lifecycle.md): the Worker enqueues, its own queue
// consumer sends over real SMTP to the suite's mail server, and the tests read the messages there. Each rule has a test
// named after what it stops: links that work twice, outlive their expiry or serve another purpose, a reset that leaves
// a thief's session alive, a forgot-password that tells which addresses exist, an email change that skips the new
// address's owner.
import { describe, expect, it } from "vitest";
import { captureConsole } from "../support/logs";
import { TEST_SECRETS } from "../setup/secrets";
import { inbox, linkIn, tokenIn, type ReceivedMail } from "../support/mail";
import {
  call,
  claimsOf,
  db,
  fakeClock,
  login,
  problemOf,
  refresh,
  refreshOk,
  register,
  signIn,
  STRONG_PASSWORD,
  testService,
  uniqueEmail,
} from "../support/harness";

const NEW_PASSWORD = "a different long passphrase 7";

const verificationMail = (to: string) => inbox.waitFor({ to, subject: "Verify your email address" });
const resetMail = (to: string) => inbox.waitFor({ to, subject: "Reset your password" });

async function expectInvalidOneTimeToken(res: Response): Promise<void> {
  expect(res.status).toBe(400);
  expect((await problemOf(res)).code).toBe("invalid_one_time_token");
}

/** Mails sent to `to` so far with `subject`. */
async function mailsTo(to: string, subject: string): Promise<ReceivedMail[]> {
  return (await inbox.all({ to })).filter((m) => m.subject === subject);
}

async function forgot(email: string, service = { call }) {
  return service.call("POST", "/auth/password/forgot", { body: { email } });
}

describe("email verification", () => {
  it("registration mails a verification link to the new address, and following it verifies the email", async () => {
    const alice = await register();
    expect(alice.user.emailVerified).toBe(false);
    expect(claimsOf(alice.tokens.accessToken).email_verified).toBe(false);

    const mail = await verificationMail(alice.email);
    expect(mail.to).toEqual([alice.email]);
    expect(mail.from).toContain("no-reply@auth.test.secureauth.dev");
    const link = linkIn(mail, "/verify-email");
    expect(link.startsWith(`${TEST_SECRETS.APP_URL}/verify-email?token=`)).toBe(true);
    expect(mail.html).toContain("/verify-email?token=");

    const res = await call("POST", "/auth/email/verify", { body: { token: tokenIn(mail, "/verify-email") } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { emailVerified: boolean } }).user.emailVerified).toBe(true);
    // The next access token says so.
    expect(claimsOf((await refreshOk(alice.tokens.refreshToken)).accessToken).email_verified).toBe(true);
    const events = (await db.auditRows({ userId: alice.user.id })).map((row) => row.event);
    expect(events).toEqual(expect.arrayContaining(["user.email_verification_sent", "user.email_verified"]));
  });

  it("a verification link works once: replaying it changes nothing", async () => {
    const alice = await register();
    const token = tokenIn(await verificationMail(alice.email), "/verify-email");
    expect((await call("POST", "/auth/email/verify", { body: { token } })).status).toBe(200);
    await expectInvalidOneTimeToken(await call("POST", "/auth/email/verify", { body: { token } }));
    expect(await db.auditRows({ userId: alice.user.id, event: "user.email_verified" })).toHaveLength(1);
  });

  it("an unknown or malformed token is refused with invalid_one_time_token, not a hint", async () => {
    for (const token of ["x", "A".repeat(43), "../../etc/passwd"]) {
      await expectInvalidOneTimeToken(await call("POST", "/auth/email/verify", { body: { token } }));
    }
    expect((await problemOf(await call("POST", "/auth/email/verify", { body: {} }))).code).toBe("validation_failed");
  });

  it("a verification link expires after 24 hours", async () => {
    const time = fakeClock();
    const service = testService({ clock: time.clock });
    const alice = await service.register();
    const token = tokenIn(await verificationMail(alice.email), "/verify-email");
    time.advance(24 * 3600 + 1);
    await expectInvalidOneTimeToken(await service.call("POST", "/auth/email/verify", { body: { token } }));
    const [user] = await db.query<{ email_verified_at: Date | null }>(
      "select email_verified_at from users where id = $1",
      [alice.user.id],
    );
    expect(user!.email_verified_at).toBeNull();
  });

  it("a new verification link ends the earlier one", async () => {
    const alice = await register();
    const first = tokenIn(await verificationMail(alice.email), "/verify-email");
    expect((await call("POST", "/auth/email/verification", { token: alice.tokens.accessToken })).status).toBe(202);
    const deadline = Date.now() + 10_000;
    while ((await mailsTo(alice.email, "Verify your email address")).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const mails = await mailsTo(alice.email, "Verify your email address");
    expect(mails).toHaveLength(2);
    const second = mails.map((m) => tokenIn(m, "/verify-email")).find((t) => t !== first)!;
    await expectInvalidOneTimeToken(await call("POST", "/auth/email/verify", { body: { token: first } }));
    expect((await call("POST", "/auth/email/verify", { body: { token: second } })).status).toBe(200);
  });

  it("verification mail is limited to 5 an hour per user (mail bombing), then 429 with Retry-After", async () => {
    const alice = await register(); // the verification mail is the first of the 5
    for (let i = 0; i < 4; i++) {
      expect((await call("POST", "/auth/email/verification", { token: alice.tokens.accessToken })).status).toBe(202);
    }
    const refused = await call("POST", "/auth/email/verification", { token: alice.tokens.accessToken });
    expect(refused.status).toBe(429);
    expect((await problemOf(refused)).code).toBe("rate_limited");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(3000);
    expect(await db.auditRows({ userId: alice.user.id, event: "user.email_verification_sent" })).toHaveLength(5);
  });

  it("asking again once verified sends nothing", async () => {
    const alice = await register();
    await call("POST", "/auth/email/verify", {
      body: { token: tokenIn(await verificationMail(alice.email), "/verify-email") },
    });
    const res = await call("POST", "/auth/email/verification", { token: alice.tokens.accessToken });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({});
    expect(await db.auditRows({ userId: alice.user.id, event: "user.email_verification_sent" })).toHaveLength(1);
  });

  it("needs an access token", async () => {
    const res = await call("POST", "/auth/email/verification");
    expect(res.status).toBe(401);
  });
});

describe("REQUIRE_VERIFIED_EMAIL=true", () => {
  const strict = testService({ env: { REQUIRE_VERIFIED_EMAIL: "true" } });

  it("register answers the user without tokens and opens no session; login waits for verification", async () => {
    const email = uniqueEmail();
    const res = await strict.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { user: { id: string; emailVerified: boolean }; tokens?: unknown };
    expect(body.tokens).toBeUndefined();
    expect(body.user.emailVerified).toBe(false);
    expect(await db.query("select 1 from sessions where user_id = $1", [body.user.id])).toHaveLength(0);

    const refused = await strict.call("POST", "/auth/login", { body: { email, password: STRONG_PASSWORD } });
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).code).toBe("email_not_verified");

    await strict.call("POST", "/auth/email/verify", {
      body: { token: tokenIn(await verificationMail(email), "/verify-email") },
    });
    expect((await strict.call("POST", "/auth/login", { body: { email, password: STRONG_PASSWORD } })).status).toBe(200);
  });

  it("a wrong password for an unverified account answers like any wrong password (no account probing)", async () => {
    const email = uniqueEmail();
    await strict.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } });
    const wrong = await strict.call("POST", "/auth/login", { body: { email, password: "not the password at all" } });
    const unknown = await strict.call("POST", "/auth/login", {
      body: { email: uniqueEmail(), password: "not the password at all" },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it(
    "refresh of an unverified account's session answers email_not_verified " +
      "and keeps the token usable for after verification",
    async () => {
      const alice = await register(); // signed in while the flag was off
      const refused = await strict.refresh(alice.tokens.refreshToken);
      expect(refused.status).toBe(403);
      expect((await problemOf(refused)).code).toBe("email_not_verified");
      await call("POST", "/auth/email/verify", {
        body: { token: tokenIn(await verificationMail(alice.email), "/verify-email") },
      });
      expect((await strict.refresh(alice.tokens.refreshToken)).status).toBe(200);
    },
  );
});

describe("password reset", () => {
  it("forgot-password mails an active account a reset link and records the request without the token", async () => {
    const alice = await register();
    const res = await forgot(alice.email);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({});
    const mail = await resetMail(alice.email);
    const token = tokenIn(mail, "/reset-password");
    const [row] = await db.auditRows({ userId: alice.user.id, event: "user.password_reset_requested" });
    expect(row).toBeDefined();
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it(
    "forgot-password answers an unknown, a disabled and an existing account " +
      "identically, and mails only the existing one (enumeration)",
    async () => {
      const existing = await register();
      const disabled = await register();
      await db.query("update users set status = 'disabled' where id = $1", [disabled.user.id]);
      const unknown = uniqueEmail("nobody");

      const answers = [];
      for (const email of [unknown, disabled.email, existing.email]) {
        const res = await forgot(email);
        const headers = [...res.headers.entries()].filter(([name]) => name !== "date");
        answers.push({ status: res.status, body: await res.text(), headers });
      }
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);

      await resetMail(existing.email);
      expect(await mailsTo(unknown, "Reset your password")).toHaveLength(0);
      expect(await mailsTo(disabled.email, "Reset your password")).toHaveLength(0);
      expect(await db.auditRows({ userId: disabled.user.id, event: "user.password_reset_requested" })).toHaveLength(0);
    },
  );

  it(
    "a reset sets the password, ends every session at the edge at once, " + "clears the lockout and verifies the email",
    async () => {
      const alice = await register();
      const thief = await login(alice.email, alice.password); // a second session, say a stolen one
      // Lock the account: five wrong passwords.
      for (let i = 0; i < 5; i++)
        await call("POST", "/auth/login", { body: { email: alice.email, password: "wrong password guess" } });
      expect(
        (await call("POST", "/auth/login", { body: { email: alice.email, password: alice.password } })).status,
      ).toBe(429);

      await forgot(alice.email);
      const token = tokenIn(await resetMail(alice.email), "/reset-password");
      const res = await call("POST", "/auth/password/reset", { body: { token, newPassword: NEW_PASSWORD } });
      expect(res.status).toBe(204);

      // Every session's access token stops now, at the edge (no database read on /auth/verify).
      for (const tokens of [alice.tokens, thief.tokens]) {
        expect((await call("GET", "/auth/verify", { token: tokens.accessToken })).status).toBe(401);
        expect((await refresh(tokens.refreshToken)).status).toBe(401);
      }
      expect(
        (await call("POST", "/auth/login", { body: { email: alice.email, password: alice.password } })).status,
      ).toBe(401);
      const signedIn = await login(alice.email, NEW_PASSWORD);
      expect(signedIn.user.emailVerified).toBe(true);
      const [row] = await db.auditRows({ userId: alice.user.id, event: "user.password_reset" });
      expect(row!.metadata).toEqual({ endedSessions: 2 });
      expect(JSON.stringify(row)).not.toContain(token);
    },
  );

  it("a reset link works once", async () => {
    const alice = await register();
    await forgot(alice.email);
    const token = tokenIn(await resetMail(alice.email), "/reset-password");
    expect((await call("POST", "/auth/password/reset", { body: { token, newPassword: NEW_PASSWORD } })).status).toBe(
      204,
    );
    await expectInvalidOneTimeToken(
      await call("POST", "/auth/password/reset", { body: { token, newPassword: "yet another passphrase 99" } }),
    );
    await login(alice.email, NEW_PASSWORD);
  });

  it("a refused new password leaves the link usable and the password unchanged", async () => {
    const alice = await register();
    await forgot(alice.email);
    const token = tokenIn(await resetMail(alice.email), "/reset-password");
    const weak = await call("POST", "/auth/password/reset", { body: { token, newPassword: "short" } });
    expect(weak.status).toBe(400);
    expect((await problemOf(weak)).code).toBe("validation_failed");
    await login(alice.email, alice.password);
    expect((await call("POST", "/auth/password/reset", { body: { token, newPassword: NEW_PASSWORD } })).status).toBe(
      204,
    );
  });

  it("a reset link expires after 30 minutes", async () => {
    const time = fakeClock();
    const service = testService({ clock: time.clock });
    const alice = await service.register();
    await forgot(alice.email, service);
    const token = tokenIn(await resetMail(alice.email), "/reset-password");
    // The queue consumer minted it on the system clock, a moment after the fake one started.
    const [row] = await db.query<{ lifetime: number }>(
      "select extract(epoch from expires_at - created_at)::int as lifetime from one_time_tokens where user_id = $1 " +
        "and purpose = 'password_reset'",
      [alice.user.id],
    );
    expect(row!.lifetime).toBe(30 * 60);
    time.advance(31 * 60);
    await expectInvalidOneTimeToken(
      await service.call("POST", "/auth/password/reset", { body: { token, newPassword: NEW_PASSWORD } }),
    );
    await login(alice.email, alice.password);
  });

  it("a verification token cannot reset a password, nor a reset token verify an email (wrong purpose)", async () => {
    const alice = await register();
    const verification = tokenIn(await verificationMail(alice.email), "/verify-email");
    await expectInvalidOneTimeToken(
      await call("POST", "/auth/password/reset", { body: { token: verification, newPassword: NEW_PASSWORD } }),
    );
    await forgot(alice.email);
    const reset = tokenIn(await resetMail(alice.email), "/reset-password");
    await expectInvalidOneTimeToken(await call("POST", "/auth/email/verify", { body: { token: reset } }));
    await expectInvalidOneTimeToken(await call("POST", "/auth/email/change", { body: { token: reset } }));
    // Both still serve their own purpose.
    expect((await call("POST", "/auth/email/verify", { body: { token: verification } })).status).toBe(200);
    expect(
      (await call("POST", "/auth/password/reset", { body: { token: reset, newPassword: NEW_PASSWORD } })).status,
    ).toBe(204);
  });

  it("a reset link dies when the password is changed another way", async () => {
    const alice = await register();
    await forgot(alice.email);
    const token = tokenIn(await resetMail(alice.email), "/reset-password");
    const changed = await call("POST", "/auth/password", {
      token: alice.tokens.accessToken,
      body: { currentPassword: alice.password, newPassword: NEW_PASSWORD },
    });
    expect(changed.status).toBe(204);
    await expectInvalidOneTimeToken(
      await call("POST", "/auth/password/reset", { body: { token, newPassword: "an attacker's passphrase 1" } }),
    );
    await login(alice.email, NEW_PASSWORD);
  });

  it("a new reset link ends the earlier one", async () => {
    const alice = await register();
    await forgot(alice.email);
    const first = tokenIn(await resetMail(alice.email), "/reset-password");
    await forgot(alice.email);
    const deadline = Date.now() + 10_000;
    while ((await mailsTo(alice.email, "Reset your password")).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const second = (await mailsTo(alice.email, "Reset your password"))
      .map((m) => tokenIn(m, "/reset-password"))
      .find((t) => t !== first)!;
    await expectInvalidOneTimeToken(
      await call("POST", "/auth/password/reset", { body: { token: first, newPassword: NEW_PASSWORD } }),
    );
    expect(
      (await call("POST", "/auth/password/reset", { body: { token: second, newPassword: NEW_PASSWORD } })).status,
    ).toBe(204);
  });

  it("a reset link of an account disabled since it was sent does nothing", async () => {
    const alice = await register();
    await forgot(alice.email);
    const token = tokenIn(await resetMail(alice.email), "/reset-password");
    await db.query("update users set status = 'disabled' where id = $1", [alice.user.id]);
    await expectInvalidOneTimeToken(
      await call("POST", "/auth/password/reset", { body: { token, newPassword: NEW_PASSWORD } }),
    );
  });
});

describe("email change", () => {
  const changeEmail = (token: string, body: Record<string, unknown>) => call("POST", "/me/email", { token, body });
  /**
   * v3: only an account whose address is proven may move it; proven here by the database, as these tests are about the
   * change.
   */
  const verified = async (account: { email?: string } = {}) => {
    const registered = await register(account);
    await db.query("update users set email_verified_at = now() where id = $1", [registered.user.id]);
    return registered;
  };

  it(
    "needs the current password, mails the new address a confirmation and " +
      "the old one a notice, and changes on confirmation",
    async () => {
      const alice = await verified();
      const newEmail = uniqueEmail("alice-new");
      const wrong = await changeEmail(alice.tokens.accessToken, {
        newEmail,
        currentPassword: "not the password at all",
      });
      expect(wrong.status).toBe(401);
      expect((await problemOf(wrong)).code).toBe("invalid_credentials");

      expect((await changeEmail(alice.tokens.accessToken, { newEmail, currentPassword: alice.password })).status).toBe(
        202,
      );
      const confirmation = await inbox.waitFor({ to: newEmail, subject: "Confirm your new email address" });
      const notice = await inbox.waitFor({ to: alice.email, subject: "Your email address is changing" });
      expect(notice.text).toContain(newEmail);
      expect(notice.text).not.toContain("token=");
      // Nothing changes until the new address's owner confirms.
      expect((await login(alice.email, alice.password)).user.email).toBe(alice.email);

      const token = tokenIn(confirmation, "/confirm-email");
      const res = await call("POST", "/auth/email/change", { body: { token } });
      expect(res.status).toBe(200);
      const { user } = (await res.json()) as { user: { email: string; emailVerified: boolean } };
      expect(user).toMatchObject({ email: newEmail, emailVerified: true });
      await login(newEmail, alice.password);
      expect(
        (await call("POST", "/auth/login", { body: { email: alice.email, password: alice.password } })).status,
      ).toBe(401);
      await expectInvalidOneTimeToken(await call("POST", "/auth/email/change", { body: { token } }));
      const events = (await db.auditRows({ userId: alice.user.id })).map((row) => row.event);
      expect(events).toEqual(expect.arrayContaining(["user.email_change_requested", "user.email_changed"]));
    },
  );

  it("the owner's right password does not count toward their sign-in lockout (self-lockout)", async () => {
    const alice = await verified();
    for (let i = 0; i < 5; i++) {
      expect(
        (
          await changeEmail(alice.tokens.accessToken, {
            newEmail: uniqueEmail("retry"),
            currentPassword: alice.password,
          })
        ).status,
      ).toBe(202);
    }
    expect((await call("POST", "/auth/login", { body: { email: alice.email, password: alice.password } })).status).toBe(
      200,
    );
  });

  it("a wrong current password counts like a sign-in guess: the sixth in a row is throttled", async () => {
    const alice = await verified();
    for (let i = 0; i < 5; i++) {
      expect(
        (
          await changeEmail(alice.tokens.accessToken, {
            newEmail: uniqueEmail("guess"),
            currentPassword: `wrong guess number ${i}`,
          })
        ).status,
      ).toBe(401);
    }
    expect(
      (await changeEmail(alice.tokens.accessToken, { newEmail: uniqueEmail("guess"), currentPassword: alice.password }))
        .status,
    ).toBe(429);
  });

  it(
    "answers 202 for an address another account has (v3: no 409, no oracle), " + "and mails its holder no link",
    async () => {
      const alice = await verified();
      const bob = await register();
      const res = await changeEmail(alice.tokens.accessToken, {
        newEmail: bob.email.toUpperCase(),
        currentPassword: alice.password,
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({});
      const tried = await inbox.waitFor({ to: bob.email, subject: "Someone tried to use your email address" });
      expect(tried.text).not.toContain("token=");
      expect(await mailsTo(bob.email, "Confirm your new email address")).toHaveLength(0);
    },
  );

  it(
    "an address taken between the request and the confirmation answers 409 " + "and the account keeps its address",
    async () => {
      const alice = await verified();
      const newEmail = uniqueEmail("contested");
      await changeEmail(alice.tokens.accessToken, { newEmail, currentPassword: alice.password });
      const token = tokenIn(
        await inbox.waitFor({ to: newEmail, subject: "Confirm your new email address" }),
        "/confirm-email",
      );
      await register({ email: newEmail });
      const res = await call("POST", "/auth/email/change", { body: { token } });
      expect(res.status).toBe(409);
      expect((await login(alice.email, alice.password)).user.email).toBe(alice.email);
    },
  );

  it(
    "a link mailed to the old address dies with it: the old verification " + "link cannot verify the new address",
    async () => {
      const alice = await verified();
      const oldVerification = tokenIn(await verificationMail(alice.email), "/verify-email");
      const newEmail = uniqueEmail("moved");
      await changeEmail(alice.tokens.accessToken, { newEmail, currentPassword: alice.password });
      await call("POST", "/auth/email/change", {
        body: {
          token: tokenIn(
            await inbox.waitFor({ to: newEmail, subject: "Confirm your new email address" }),
            "/confirm-email",
          ),
        },
      });
      await expectInvalidOneTimeToken(await call("POST", "/auth/email/verify", { body: { token: oldVerification } }));
    },
  );
});

describe("profile", () => {
  it("PATCH /me changes the display name and records user.updated", async () => {
    const alice = await register();
    const res = await call("PATCH", "/me", { token: alice.tokens.accessToken, body: { name: "  Alice Liddell " } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { name: string } }).user.name).toBe("Alice Liddell");
    expect(await db.auditRows({ userId: alice.user.id, event: "user.updated" })).toHaveLength(1);
    const cleared = await call("PATCH", "/me", { token: alice.tokens.accessToken, body: { name: "" } });
    expect(((await cleared.json()) as { user: { name: string | null } }).user.name).toBeNull();
  });

  it("PATCH /me refuses an email or a privileged field instead of dropping it silently", async () => {
    const alice = await register();
    for (const body of [{ email: "mallory@example.com" }, { roles: ["admin"] }, { name: "x", status: "active" }]) {
      const res = await call("PATCH", "/me", { token: alice.tokens.accessToken, body });
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
    const [row] = await db.query<{ email: string }>("select email from users where id = $1", [alice.user.id]);
    expect(row!.email).toBe(alice.email);
  });
});

describe("account deletion", () => {
  it("DELETE /me needs the current password; a wrong one deletes nothing", async () => {
    const alice = await register();
    const res = await call("DELETE", "/me", {
      token: alice.tokens.accessToken,
      body: { currentPassword: "not the password at all" },
    });
    expect(res.status).toBe(401);
    expect(await db.query("select 1 from users where id = $1", [alice.user.id])).toHaveLength(1);
  });

  it(
    "DELETE /me removes the account with its sessions and tokens, stops its " +
      "access tokens at once, keeps its audit rows without the email, and " +
      "frees the address",
    async () => {
      const alice = await register();
      const other = await login(alice.email, alice.password);
      await forgot(alice.email);
      await resetMail(alice.email);

      const res = await call("DELETE", "/me", {
        token: alice.tokens.accessToken,
        body: { currentPassword: alice.password },
      });
      expect(res.status).toBe(204);

      for (const tokens of [alice.tokens, other.tokens]) {
        expect((await call("GET", "/auth/verify", { token: tokens.accessToken })).status).toBe(401);
        expect((await refresh(tokens.refreshToken)).status).toBe(401);
      }
      expect(await db.query("select 1 from users where id = $1", [alice.user.id])).toHaveLength(0);
      expect(await db.query("select 1 from sessions where user_id = $1", [alice.user.id])).toHaveLength(0);
      expect(await db.query("select 1 from one_time_tokens where user_id = $1", [alice.user.id])).toHaveLength(0);
      expect(await db.query("select 1 from user_roles where user_id = $1", [alice.user.id])).toHaveLength(0);

      const rows = await db.auditRows({ userId: alice.user.id });
      expect(rows.map((row) => row.event)).toEqual(
        expect.arrayContaining(["user.registered", "auth.login_succeeded", "user.deleted"]),
      );
      expect(JSON.stringify(rows)).not.toContain(alice.email);

      // The address may register again, as a new account.
      const again = await register({ email: alice.email });
      expect(again.user.id).not.toBe(alice.user.id);
    },
  );

  it("an administrator deletes an account as DELETE /me does, audited with the administrator as actor", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const bob = await register();
    const res = await call("DELETE", `/admin/users/${bob.user.id.toUpperCase()}`, { token: admin.tokens.accessToken });
    expect(res.status).toBe(204);
    expect((await call("GET", "/auth/verify", { token: bob.tokens.accessToken })).status).toBe(401);
    expect(await db.query("select 1 from users where id = $1", [bob.user.id])).toHaveLength(0);
    const [row] = await db.auditRows({ userId: bob.user.id, event: "user.deleted" });
    expect(row!.actor_id).toBe(admin.user.id);
    expect((await call("DELETE", `/admin/users/${bob.user.id}`, { token: admin.tokens.accessToken })).status).toBe(404);
  });

  it("nobody deletes themselves through the admin API, and a user without users:write deletes nobody", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const self = await call("DELETE", `/admin/users/${admin.user.id}`, { token: admin.tokens.accessToken });
    expect(self.status).toBe(403);
    const mallory = await register();
    const res = await call("DELETE", `/admin/users/${admin.user.id}`, { token: mallory.tokens.accessToken });
    expect(res.status).toBe(403);
    expect(await db.query("select 1 from users where id = $1", [admin.user.id])).toHaveLength(1);
  });

  it("a holder of users:write alone cannot delete an administrator (privilege stripping by deletion)", async () => {
    await db.query("insert into roles (name) values ('support') on conflict do nothing");
    await db.query(
      "insert into role_permissions (role_name, permission_name) values ('support', 'users:write') on conflict do " +
        "nothing",
    );
    const support = await signIn({ roles: ["support"] });
    const admin = await signIn({ roles: ["admin"] });
    const res = await call("DELETE", `/admin/users/${admin.user.id}`, { token: support.tokens.accessToken });
    expect(res.status).toBe(403);
    expect(await db.query("select 1 from users where id = $1", [admin.user.id])).toHaveLength(1);
  });
});

describe("secrets stay out of logs", () => {
  it("no one-time token appears in any log line of a forgot, reset and verify flow", async () => {
    const { lines, restore } = captureConsole();
    let tokens: string[] = [];
    try {
      const alice = await register();
      await forgot(alice.email);
      const reset = tokenIn(await resetMail(alice.email), "/reset-password");
      const verification = tokenIn(await verificationMail(alice.email), "/verify-email");
      tokens = [reset, verification];
      await call("POST", "/auth/password/reset", { body: { token: reset, newPassword: NEW_PASSWORD } });
      await call("POST", "/auth/password/reset", { body: { token: reset, newPassword: NEW_PASSWORD } });
      await call("POST", "/auth/email/verify", { body: { token: verification } });
    } finally {
      restore();
    }
    for (const token of tokens) expect(lines.join("\n")).not.toContain(token);
  });
});

describe("forgot-password throttling", () => {
  const freshIPv4 = () =>
    `100.${64 + Math.floor(Math.random() * 64)}.${Math.floor(Math.random() * 256)}.` +
    `${1 + Math.floor(Math.random() * 250)}`;
  /**
   * The limiters count in fixed 60 s windows of the wall clock: start a burst whose count matters in a window with room
   * for it.
   */
  const windowWithRoomFor = async (seconds: number) => {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < seconds * 1000) await new Promise((resolve) => setTimeout(resolve, left + 250));
  };

  it(
    "is limited per address from each client network, known or not, with the " +
      "same answer for both (no enumeration through the limit)",
    async () => {
      const alice = await register();
      const unknown = uniqueEmail("nobody");
      const answers: { status: number; body: string }[][] = [[], []];
      const ip = freshIPv4();
      await windowWithRoomFor(15);
      for (let i = 0; i < 6; i++) {
        for (const [n, email] of [alice.email, unknown].entries()) {
          const res = await call("POST", "/auth/password/forgot", {
            body: { email },
            headers: { "CF-Connecting-IP": ip },
          });
          answers[n]!.push({ status: res.status, body: await res.text() });
        }
      }
      expect(answers[0]!.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 429]);
      expect(answers[1]).toEqual(answers[0]);
      // Another network's requests for the same address are counted apart (v3): a stranger cannot use up the owner's.
      expect(
        (
          await call("POST", "/auth/password/forgot", {
            body: { email: alice.email },
            headers: { "CF-Connecting-IP": freshIPv4() },
          })
        ).status,
      ).toBe(202);
    },
  );

  it("is limited per client network", async () => {
    const ip = freshIPv4();
    const statuses: number[] = [];
    await windowWithRoomFor(20);
    for (let i = 0; i < 31; i++) {
      statuses.push(
        (
          await call("POST", "/auth/password/forgot", {
            body: { email: uniqueEmail("spray") },
            headers: { "CF-Connecting-IP": ip },
          })
        ).status,
      );
    }
    expect(statuses.slice(0, 30).every((status) => status === 202)).toBe(true);
    expect(statuses[30]).toBe(429);
  });
});
