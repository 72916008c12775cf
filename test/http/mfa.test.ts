// Second factors on the real stack (docs/second-factors.md):
// TOTP enrolment, sign-in with a second step, recovery codes,
// re-authentication and the administrator's removal. Each rule has a test
// named after what it stops: a stolen password that signs in, a code that
// works twice, an mfaToken that outlives its five minutes or its five
// guesses, a stolen access token that removes a factor, a wrong password
// that tells whether a factor exists. TOTP codes come from an independent
// implementation (test/support/totp.ts, the otpauth package).
import { describe, expect, it } from "vitest";
import { captureConsole } from "../support/logs";
import {
  claimsOf,
  fakeClock,
  problemOf,
  STRONG_PASSWORD,
  testService,
  uniqueEmail,
  type TokenPair,
} from "../support/harness";
import { renderSVG } from "uqr";
import { totpCode } from "../support/totp";

type Service = ReturnType<typeof testService>;
type MfaRequired = { code: string; mfaToken: string; methods: string[] };
type LoggedIn = {
  user: { id: string; mfa: { totp: boolean; passkeys: number } };
  tokens: TokenPair;
  deviceToken: string;
};

/** A service on its own clock, so time steps and expiries are ours to move. */
function clockedService(env?: Record<string, unknown>) {
  const time = fakeClock(new Date());
  return { time, service: testService({ clock: time.clock, env }) };
}

/**
 * A new account whose address is proven (v3: only such an account enrols a
 * factor; proven here by the database, as these tests are not about the
 * verification link), signed in.
 */
async function registerVerified(s: Service, email: string): Promise<LoggedIn> {
  const body = (await (
    await s.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } })
  ).json()) as LoggedIn;
  await s.db.query("update users set email_verified_at = now() where id = $1", [body.user.id]);
  return body;
}

/** A new account with TOTP enrolled; the clock moves one step on, so the next code is fresh. */
async function enrolled(s: Service, time: ReturnType<typeof fakeClock>) {
  const email = uniqueEmail("mfa");
  const { user, tokens } = await registerVerified(s, email);
  const start = await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken });
  expect(start.status).toBe(200);
  const { secret } = (await start.json()) as { secret: string; otpauthUri: string };
  const confirm = await s.call("POST", "/me/mfa/totp/confirm", {
    token: tokens.accessToken,
    body: { code: totpCode(secret, time.now()) },
  });
  expect(confirm.status).toBe(200);
  const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
  time.advance(30);
  return { email, user, tokens, secret, recoveryCodes };
}

/**
 * The session re-authenticated with the password and a TOTP code (v3: what a recent operation needs once TOTP is on);
 * the clock moves a step on.
 */
async function twoFactorToken(
  s: Service,
  time: ReturnType<typeof fakeClock>,
  accessToken: string,
  secret: string,
): Promise<string> {
  const res = await s.call("POST", "/auth/reauthenticate", {
    token: accessToken,
    body: { currentPassword: STRONG_PASSWORD, code: totpCode(secret, time.now()) },
  });
  expect(res.status).toBe(200);
  time.advance(30);
  return ((await res.json()) as { tokens: TokenPair }).tokens.accessToken;
}

async function passwordStep(s: Service, email: string, password = STRONG_PASSWORD): Promise<Response> {
  return s.call("POST", "/auth/login", { body: { email, password } });
}

async function mfaToken(s: Service, email: string): Promise<string> {
  const res = await passwordStep(s, email);
  expect(res.status).toBe(403);
  return ((await res.json()) as MfaRequired).mfaToken;
}

async function liveSessions(s: Service, userId: string): Promise<number> {
  const [row] = await s.db.query<{ n: number }>(
    "select count(*)::int as n from sessions where user_id = $1 and revoked_at is null",
    [userId],
  );
  return row!.n;
}

describe("TOTP enrolment", () => {
  it(
    "enrols with a secret and otpauth URI, confirms with a first code, and " + "answers ten recovery codes once",
    async () => {
      const { service: s, time } = clockedService();
      const email = uniqueEmail("enrol");
      const { user, tokens } = await registerVerified(s, email);

      const start = await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken });
      expect(start.status).toBe(200);
      expect(start.headers.get("Cache-Control")).toContain("no-store");
      const { secret, otpauthUri } = (await start.json()) as { secret: string; otpauthUri: string };
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(otpauthUri);
      expect(uri.protocol).toBe("otpauth:");
      expect(uri.searchParams.get("secret")).toBe(secret);
      expect(decodeURIComponent(uri.pathname)).toContain(email);
      // Pending: not required at sign-in yet.
      expect((await passwordStep(s, email)).status).toBe(200);

      const confirm = await s.call("POST", "/me/mfa/totp/confirm", {
        token: tokens.accessToken,
        body: { code: totpCode(secret, time.now()) },
      });
      expect(confirm.status).toBe(200);
      const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);

      const me = (await (await s.call("GET", "/me", { token: tokens.accessToken })).json()) as {
        user: { mfa: { totp: boolean } };
      };
      expect(me.user.mfa).toEqual({ totp: true, passkeys: 0 });
      const [audit] = await s.db.auditRows({ userId: user.id, event: "mfa.totp_enrolled" });
      expect(audit).toBeDefined();
      expect(JSON.stringify(audit)).not.toContain(secret);
      for (const code of recoveryCodes) expect(JSON.stringify(audit)).not.toContain(code);
    },
  );

  it("the secret is stored only encrypted, and recovery codes only hashed", async () => {
    const { service: s, time } = clockedService();
    const { user, secret, recoveryCodes } = await enrolled(s, time);
    const [factor] = await s.db.query<{ secret_ciphertext: string }>(
      "select secret_ciphertext from totp_factors where user_id = $1",
      [user.id],
    );
    expect(factor!.secret_ciphertext.startsWith("v1.")).toBe(true);
    expect(factor!.secret_ciphertext).not.toContain(secret);
    const codes = await s.db.query<{ code_hash: string }>("select code_hash from recovery_codes where user_id = $1", [
      user.id,
    ]);
    expect(codes).toHaveLength(10);
    for (const { code_hash } of codes)
      for (const code of recoveryCodes) expect(code_hash).not.toContain(code.replace(/-/g, ""));
  });

  it("the pending secret is also a QR code of its otpauth URI, and never once the factor is confirmed", async () => {
    const { service: s, time } = clockedService();
    const { tokens } = await registerVerified(s, uniqueEmail("qr"));
    expect((await s.call("GET", "/me/mfa/totp/qr", { token: tokens.accessToken })).status).toBe(404);
    const { secret, otpauthUri } = (await (
      await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken })
    ).json()) as { secret: string; otpauthUri: string };
    const res = await s.call("GET", "/me/mfa/totp/qr", { token: tokens.accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toContain("no-store");
    const { svg } = (await res.json()) as { svg: string };
    // The same URI the enrolment answered, drawn by the QR library the route uses.
    expect(svg).toBe(renderSVG(otpauthUri));
    expect(svg.startsWith("<svg")).toBe(true);
    await s.call("POST", "/me/mfa/totp/confirm", {
      token: tokens.accessToken,
      body: { code: totpCode(secret, time.now()) },
    });
    time.advance(30);
    // Now that TOTP is on, the QR route (recent) needs a two-factor proof; then there is nothing pending to show.
    expect((await s.call("GET", "/me/mfa/totp/qr", { token: tokens.accessToken })).status).toBe(403);
    expect(
      (await s.call("GET", "/me/mfa/totp/qr", { token: await twoFactorToken(s, time, tokens.accessToken, secret) }))
        .status,
    ).toBe(404);
  });

  it("a wrong confirmation code enrols nothing", async () => {
    const { service: s } = clockedService();
    const email = uniqueEmail("wrong");
    const { tokens } = await registerVerified(s, email);
    await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken });
    const res = await s.call("POST", "/me/mfa/totp/confirm", { token: tokens.accessToken, body: { code: "000000" } });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_mfa_code");
    expect((await passwordStep(s, email)).status).toBe(200);
  });

  it(
    "a stolen access token cannot enrol over an existing factor: a new " + "enrolment is refused while TOTP is on",
    async () => {
      const { service: s, time } = clockedService();
      const { tokens, secret } = await enrolled(s, time);
      // The password session is not enough any more (v3), and a two-factor one is still refused.
      expect((await problemOf(await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken }))).code).toBe(
        "reauthentication_required",
      );
      const res = await s.call("POST", "/me/mfa/totp", {
        token: await twoFactorToken(s, time, tokens.accessToken, secret),
      });
      expect(res.status).toBe(400);
      // The enrolled secret still works.
      await twoFactorToken(s, time, tokens.accessToken, secret);
    },
  );

  it("a second start replaces the pending secret: the first one's codes do not confirm", async () => {
    const { service: s, time } = clockedService();
    const { tokens } = await registerVerified(s, uniqueEmail("re"));
    const first = (
      (await (await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken })).json()) as { secret: string }
    ).secret;
    const second = (
      (await (await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken })).json()) as { secret: string }
    ).secret;
    expect(second).not.toBe(first);
    expect(
      (
        await s.call("POST", "/me/mfa/totp/confirm", {
          token: tokens.accessToken,
          body: { code: totpCode(first, time.now()) },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await s.call("POST", "/me/mfa/totp/confirm", {
          token: tokens.accessToken,
          body: { code: totpCode(second, time.now()) },
        })
      ).status,
    ).toBe(200);
  });
});

describe("sign-in with a second factor", () => {
  it(
    "a stolen password alone opens no session: the right password answers " +
      "403 mfa_required with an mfaToken and the methods",
    async () => {
      const { service: s, time } = clockedService();
      const { email, user } = await enrolled(s, time);
      const before = await liveSessions(s, user.id);
      const res = await passwordStep(s, email);
      expect(res.status).toBe(403);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
      expect(res.headers.get("Cache-Control")).toContain("no-store");
      const body = (await res.json()) as MfaRequired;
      expect(body.code).toBe("mfa_required");
      expect(body.mfaToken).toMatch(/^samfa_[A-Za-z0-9_-]{43}$/);
      expect(body.methods).toEqual(["totp", "recovery_code"]);
      expect(body).not.toHaveProperty("tokens");
      expect(await liveSessions(s, user.id)).toBe(before);
    },
  );

  it("a wrong password answers exactly like any wrong password: no hint that a factor exists", async () => {
    const { service: s, time } = clockedService();
    const { email } = await enrolled(s, time);
    const plain = uniqueEmail("plain");
    await s.call("POST", "/auth/register", { body: { email: plain, password: STRONG_PASSWORD } });
    const withFactor = await passwordStep(s, email, "wrong password, long enough");
    const without = await passwordStep(s, plain, "wrong password, long enough");
    expect(withFactor.status).toBe(401);
    expect(without.status).toBe(401);
    expect(await withFactor.json()).toEqual(await without.json());
  });

  it("the TOTP code completes it: tokens with amr pwd+otp+mfa and auth_time, which a refresh keeps", async () => {
    const { service: s, time } = clockedService();
    const { email, user, secret } = await enrolled(s, time);
    const token = await mfaToken(s, email);
    const res = await s.call("POST", "/auth/mfa", {
      body: { mfaToken: token, code: totpCode(secret, time.now()), deviceName: "Laptop" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toContain("no-store");
    const body = (await res.json()) as LoggedIn;
    expect(body.user.id).toBe(user.id);
    expect(body.deviceToken).toMatch(/^sadt_/);
    const claims = claimsOf(body.tokens.accessToken);
    expect(claims.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(claims.auth_time).toBe(Math.floor(time.now().getTime() / 1000));

    time.advance(120);
    const refreshed = await s.refreshOk(body.tokens.refreshToken);
    const after = claimsOf(refreshed.accessToken);
    expect(after.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(after.auth_time).toBe(claims.auth_time);
    expect(after.iat).toBeGreaterThan(claims.iat!);

    const [session] = await s.db.query<{ device: { name?: string } }>("select device from sessions where id = $1", [
      body.tokens.sessionId,
    ]);
    expect(session!.device.name).toBe("Laptop");
    const [row] = await s.db.auditRows({
      userId: user.id,
      event: "auth.login_succeeded",
      sessionId: body.tokens.sessionId,
    });
    expect(row!.metadata).toEqual({ amr: ["pwd", "otp", "mfa"] });
  });

  it("a replayed code is refused: a code works once, even with a new mfaToken in the same time step", async () => {
    const { service: s, time } = clockedService();
    const { email, secret } = await enrolled(s, time);
    const code = totpCode(secret, time.now());
    expect((await s.call("POST", "/auth/mfa", { body: { mfaToken: await mfaToken(s, email), code } })).status).toBe(
      200,
    );
    const replay = await s.call("POST", "/auth/mfa", { body: { mfaToken: await mfaToken(s, email), code } });
    expect(replay.status).toBe(401);
    expect((await problemOf(replay)).code).toBe("invalid_mfa_code");
    // Nor does the code of the step before, once a later one was accepted.
    const older = await s.call("POST", "/auth/mfa", {
      body: { mfaToken: await mfaToken(s, email), code: totpCode(secret, new Date(time.now().getTime() - 30_000)) },
    });
    expect(older.status).toBe(401);
  });

  it("two completions racing with one code: exactly one signs in", async () => {
    const { service: s, time } = clockedService();
    const { email, user, secret } = await enrolled(s, time);
    const code = totpCode(secret, time.now());
    const [a, b] = await Promise.all([mfaToken(s, email), mfaToken(s, email)]);
    const before = await liveSessions(s, user.id);
    const answers = await Promise.all([a, b].map((t) => s.call("POST", "/auth/mfa", { body: { mfaToken: t, code } })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await liveSessions(s, user.id)).toBe(before + 1);
  });

  it("an mfaToken works once", async () => {
    const { service: s, time } = clockedService();
    const { email, secret } = await enrolled(s, time);
    const token = await mfaToken(s, email);
    expect(
      (await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: totpCode(secret, time.now()) } })).status,
    ).toBe(200);
    time.advance(30);
    const again = await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: totpCode(secret, time.now()) } });
    expect(again.status).toBe(401);
    expect((await problemOf(again)).code).toBe("invalid_mfa_token");
  });

  it("an mfaToken expires after 5 minutes", async () => {
    const { service: s, time } = clockedService();
    const { email, secret } = await enrolled(s, time);
    const token = await mfaToken(s, email);
    time.advance(301);
    const res = await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: totpCode(secret, time.now()) } });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_mfa_token");
  });

  it("guessing the code: five wrong codes spend the mfaToken, and the right one no longer helps", async () => {
    // A higher sign-in limit, so this test sees the token's own limit rather than the account's.
    const { service: s, time } = clockedService({ LOGIN_MAX_FAILURES: "50" });
    const { email, user, secret } = await enrolled(s, time);
    const token = await mfaToken(s, email);
    for (let i = 0; i < 5; i++) {
      const res = await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: String(100000 + i) } });
      expect((await problemOf(res)).code).toBe("invalid_mfa_code");
    }
    const right = await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: totpCode(secret, time.now()) } });
    expect(right.status).toBe(401);
    expect((await problemOf(right)).code).toBe("invalid_mfa_token");
    const failures = await s.db.auditRows({ userId: user.id, event: "mfa.challenge_failed" });
    expect(failures).toHaveLength(5);
    expect(failures[0]!.metadata).toEqual({ method: "totp" });
  });

  it(
    "second-factor attempts count in the account's throttle: after the " +
      "limit, 429 with Retry-After even with a fresh mfaToken",
    async () => {
      const { service: s, time } = clockedService();
      const { email, secret } = await enrolled(s, time);
      // LOGIN_MAX_FAILURES is 5: the password step counted one, four wrong codes fill the bucket.
      const token = await mfaToken(s, email);
      for (let i = 0; i < 4; i++)
        await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: String(200000 + i) } });
      const locked = await s.call("POST", "/auth/mfa", {
        body: { mfaToken: token, code: totpCode(secret, time.now()) },
      });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
    },
  );

  it("a completed sign-in clears the bucket it counted in", async () => {
    const { service: s, time } = clockedService();
    const { email, secret } = await enrolled(s, time);
    const token = await mfaToken(s, email);
    await s.call("POST", "/auth/mfa", {
      body: { mfaToken: token, code: "123456" === totpCode(secret, time.now()) ? "654321" : "123456" },
    });
    expect(
      (await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: totpCode(secret, time.now()) } })).status,
    ).toBe(200);
    const [row] = await s.db.query<{ n: number }>(
      "select count(*)::int as n from login_throttles where key = encode(sha256(convert_to('login:' || $1, " +
        "'UTF8')), 'hex')",
      [email],
    );
    expect(row!.n).toBe(0);
  });

  it("a sign-in proved with the old password cannot be completed after the password changes", async () => {
    const { service: s, time } = clockedService();
    const { email, tokens, secret } = await enrolled(s, time);
    const token = await mfaToken(s, email);
    const change = await s.call("POST", "/auth/password", {
      token: tokens.accessToken,
      body: { currentPassword: STRONG_PASSWORD, newPassword: "an entirely new passphrase 9" },
    });
    expect(change.status).toBe(204);
    const res = await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: totpCode(secret, time.now()) } });
    expect((await problemOf(res)).code).toBe("invalid_mfa_token");
  });

  it("a disabled account's pending sign-in cannot be completed", async () => {
    const { service: s, time } = clockedService();
    const { email, user, secret } = await enrolled(s, time);
    const token = await mfaToken(s, email);
    await s.db.query("update users set status = 'disabled' where id = $1", [user.id]);
    const res = await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: totpCode(secret, time.now()) } });
    expect(res.status).toBe(401);
  });

  it("junk in place of an mfaToken is invalid_mfa_token; a body with neither code is a validation error", async () => {
    const { service: s } = clockedService();
    for (const junk of ["x", `samfa_${"A".repeat(43)}`]) {
      const res = await s.call("POST", "/auth/mfa", { body: { mfaToken: junk, code: "123456" } });
      expect((await problemOf(res)).code).toBe("invalid_mfa_token");
    }
    const none = await s.call("POST", "/auth/mfa", { body: { mfaToken: "x" } });
    expect((await problemOf(none)).code).toBe("validation_failed");
  });
});

describe("recovery codes", () => {
  it("a recovery code completes a sign-in once, audited without the code", async () => {
    const { service: s, time } = clockedService();
    const { email, user, recoveryCodes } = await enrolled(s, time);
    const code = recoveryCodes[3]!;
    const ok = await s.call("POST", "/auth/mfa", {
      body: { mfaToken: await mfaToken(s, email), recoveryCode: code.toUpperCase() },
    });
    expect(ok.status).toBe(200);
    expect(claimsOf(((await ok.json()) as LoggedIn).tokens.accessToken).amr).toEqual(["pwd", "otp", "mfa"]);
    const again = await s.call("POST", "/auth/mfa", {
      body: { mfaToken: await mfaToken(s, email), recoveryCode: code },
    });
    expect(again.status).toBe(401);
    expect((await problemOf(again)).code).toBe("invalid_mfa_code");
    const rows = await s.db.auditRows({ userId: user.id, event: "mfa.recovery_code_used" });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(code);
  });

  it("regenerating ends the earlier codes", async () => {
    const { service: s, time } = clockedService();
    const { email, tokens, recoveryCodes, secret } = await enrolled(s, time);
    const res = await s.call("POST", "/me/mfa/recovery-codes", {
      token: await twoFactorToken(s, time, tokens.accessToken, secret),
    });
    expect(res.status).toBe(200);
    const fresh = ((await res.json()) as { recoveryCodes: string[] }).recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(
      (
        await s.call("POST", "/auth/mfa", {
          body: { mfaToken: await mfaToken(s, email), recoveryCode: recoveryCodes[0] },
        })
      ).status,
    ).toBe(401);
    expect(
      (await s.call("POST", "/auth/mfa", { body: { mfaToken: await mfaToken(s, email), recoveryCode: fresh[0] } }))
        .status,
    ).toBe(200);
  });

  it("another user's recovery code does not work", async () => {
    const { service: s, time } = clockedService();
    const alice = await enrolled(s, time);
    const bob = await enrolled(s, time);
    const res = await s.call("POST", "/auth/mfa", {
      body: { mfaToken: await mfaToken(s, alice.email), recoveryCode: bob.recoveryCodes[0] },
    });
    expect(res.status).toBe(401);
  });
});

describe("removing TOTP", () => {
  it("removes the factor and its recovery codes: the password alone signs in again", async () => {
    const { service: s, time } = clockedService();
    const { email, user, tokens, secret } = await enrolled(s, time);
    const token = await twoFactorToken(s, time, tokens.accessToken, secret);
    const res = await s.call("DELETE", "/me/mfa/totp", { token });
    expect(res.status).toBe(204);
    expect(await s.db.query("select 1 from recovery_codes where user_id = $1", [user.id])).toHaveLength(0);
    expect((await passwordStep(s, email)).status).toBe(200);
    expect(await s.db.auditRows({ userId: user.id, event: "mfa.totp_removed" })).toHaveLength(1);
    // Without a factor left, the password proof is enough again: nothing to remove.
    expect((await s.call("DELETE", "/me/mfa/totp", { token: tokens.accessToken })).status).toBe(404);
  });
});

describe("re-authentication", () => {
  it(
    "a stolen old access token cannot remove a factor: recent operations " + "need auth_time within REAUTH_MAX_AGE",
    async () => {
      const { service: s, time } = clockedService();
      const { email, user, tokens, secret } = await enrolled(s, time);
      time.advance(601);
      const fresh = await s.refreshOk(tokens.refreshToken);
      for (const [method, path] of [
        ["DELETE", "/me/mfa/totp"],
        ["POST", "/me/mfa/recovery-codes"],
        ["POST", "/me/mfa/totp"],
      ] as const) {
        const res = await s.call(method, path, { token: fresh.accessToken });
        expect(res.status).toBe(403);
        expect((await problemOf(res)).code).toBe("reauthentication_required");
      }
      const deleteMe = await s.call("DELETE", "/me", {
        token: fresh.accessToken,
        body: { currentPassword: STRONG_PASSWORD },
      });
      expect((await problemOf(deleteMe)).code).toBe("reauthentication_required");
      // Nothing was removed.
      expect((await passwordStep(s, email)).status).toBe(403);
      expect(await s.db.query("select 1 from users where id = $1", [user.id])).toHaveLength(1);
      void secret;
    },
  );

  it("re-authenticating with the password renews auth_time for the same session; refreshes keep it", async () => {
    const { service: s, time } = clockedService();
    const email = uniqueEmail("reauth");
    const { user, tokens } = await registerVerified(s, email);
    time.advance(700);
    const stale = await s.refreshOk(tokens.refreshToken);
    expect((await s.call("POST", "/me/mfa/totp", { token: stale.accessToken })).status).toBe(403);
    const res = await s.call("POST", "/auth/reauthenticate", {
      token: stale.accessToken,
      body: { currentPassword: STRONG_PASSWORD },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toContain("no-store");
    const body = (await res.json()) as { tokens: Omit<TokenPair, "refreshToken"> };
    expect(body.tokens.sessionId).toBe(tokens.sessionId);
    expect(body.tokens).not.toHaveProperty("refreshToken");
    const claims = claimsOf(body.tokens.accessToken);
    expect(claims.auth_time).toBe(Math.floor(time.now().getTime() / 1000));
    expect(claims.amr).toEqual(["pwd"]);
    expect(claims.sid).toBe(tokens.sessionId);
    expect((await s.call("POST", "/me/mfa/totp", { token: body.tokens.accessToken })).status).toBe(200);
    // The refresh token the client holds still works, and carries the new proof.
    const refreshed = claimsOf((await s.refreshOk(stale.refreshToken)).accessToken);
    expect(refreshed.auth_time).toBe(claims.auth_time);
    expect(await s.db.auditRows({ userId: user.id, event: "auth.reauthenticated" })).toHaveLength(1);
  });

  it(
    "re-authenticating with the password and a TOTP code works when TOTP is " +
      "enrolled, and a wrong password counts as a guess",
    async () => {
      const { service: s, time } = clockedService();
      const { user, tokens, secret } = await enrolled(s, time);
      const wrong = await s.call("POST", "/auth/reauthenticate", {
        token: tokens.accessToken,
        body: { currentPassword: "not the password at all" },
      });
      expect(wrong.status).toBe(401);
      expect((await s.db.auditRows({ userId: user.id, event: "auth.login_failed" })).length).toBeGreaterThan(0);
      const res = await s.call("POST", "/auth/reauthenticate", {
        token: tokens.accessToken,
        body: { currentPassword: STRONG_PASSWORD, code: totpCode(secret, time.now()) },
      });
      expect(res.status).toBe(200);
      expect(claimsOf(((await res.json()) as { tokens: TokenPair }).tokens.accessToken).amr).toEqual([
        "pwd",
        "otp",
        "mfa",
      ]);
    },
  );

  it("a code cannot re-authenticate an account without TOTP", async () => {
    const { service: s } = clockedService();
    const { tokens } = (await (
      await s.call("POST", "/auth/register", { body: { email: uniqueEmail("nocode"), password: STRONG_PASSWORD } })
    ).json()) as LoggedIn;
    const res = await s.call("POST", "/auth/reauthenticate", {
      token: tokens.accessToken,
      body: { currentPassword: STRONG_PASSWORD, code: "123456" },
    });
    expect(res.status).toBe(400);
  });

  it("a revoked session cannot re-authenticate", async () => {
    const { service: s } = clockedService();
    const { tokens } = (await (
      await s.call("POST", "/auth/register", { body: { email: uniqueEmail("gone"), password: STRONG_PASSWORD } })
    ).json()) as LoggedIn;
    await s.call("POST", "/auth/logout", { token: tokens.accessToken });
    const res = await s.call("POST", "/auth/reauthenticate", {
      token: tokens.accessToken,
      body: { currentPassword: STRONG_PASSWORD },
    });
    expect(res.status).toBe(401);
  });
});

describe("administration", () => {
  it(
    "an administrator removes a user's factors (audited with the " +
      "administrator as actor); the owner signs in with the password",
    async () => {
      const { service: s, time } = clockedService();
      const { email, user } = await enrolled(s, time);
      const adminEmail = uniqueEmail("admin");
      const admin = (await (
        await s.call("POST", "/auth/register", { body: { email: adminEmail, password: STRONG_PASSWORD } })
      ).json()) as LoggedIn;
      await s.db.query("insert into user_roles (user_id, role_name) values ($1, 'admin')", [admin.user.id]);
      const adminToken = ((await (await passwordStep(s, adminEmail)).json()) as LoggedIn).tokens.accessToken;

      const res = await s.call("DELETE", `/admin/users/${user.id.toUpperCase()}/mfa`, { token: adminToken });
      expect(res.status).toBe(204);
      expect((await passwordStep(s, email)).status).toBe(200);
      const [row] = await s.db.auditRows({ userId: user.id, event: "mfa.removed" });
      expect(row!.actor_id).toBe(admin.user.id);
      expect((await s.call("DELETE", `/admin/users/${user.id}/mfa`, { token: adminToken })).status).toBe(404);
      expect((await s.call("DELETE", `/admin/users/${admin.user.id}/mfa`, { token: adminToken })).status).toBe(403);
    },
  );

  it("a plain user cannot remove anyone's factors", async () => {
    const { service: s, time } = clockedService();
    const { user } = await enrolled(s, time);
    const other = (await (
      await s.call("POST", "/auth/register", { body: { email: uniqueEmail("other"), password: STRONG_PASSWORD } })
    ).json()) as LoggedIn;
    const res = await s.call("DELETE", `/admin/users/${user.id}/mfa`, { token: other.tokens.accessToken });
    expect(res.status).toBe(403);
    expect(await s.db.query("select 1 from totp_factors where user_id = $1", [user.id])).toHaveLength(1);
  });
});

describe("secrets stay out of logs and audit rows", () => {
  it("no TOTP secret, code, recovery code or mfaToken in any log line or audit row", async () => {
    const { lines, restore } = captureConsole();
    const secrets: string[] = [];
    let userId = "";
    try {
      const { service: s, time } = clockedService();
      const account = await enrolled(s, time);
      userId = account.user.id;
      secrets.push(account.secret, ...account.recoveryCodes);
      const token = await mfaToken(s, account.email);
      secrets.push(token);
      await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code: "999999" } });
      const code = totpCode(account.secret, time.now());
      secrets.push(code);
      await s.call("POST", "/auth/mfa", { body: { mfaToken: token, code } });
      await s.call("POST", "/auth/mfa", {
        body: { mfaToken: await mfaToken(s, account.email), recoveryCode: account.recoveryCodes[0] },
      });
    } finally {
      restore();
    }
    const audit = JSON.stringify(await testService().db.auditRows({ userId }));
    for (const secret of secrets) {
      for (const line of lines) expect(line).not.toContain(secret);
      if (secret.length > 6) expect(audit).not.toContain(secret);
    }
  });
});
