// Re-authentication that matches the account's strength (v3,
// docs/second-factors.md, re-authentication): with a second factor
// enrolled, a recent operation needs a two-factor proof (`mfa` in amr), so
// a stolen session plus a phished password can no longer remove a factor,
// and 403 reauthentication_required says what would be enough (`methods`).
// Passkey assertions come from the software authenticator of
// test/support/webauthn.ts, TOTP codes from the otpauth package.
import { describe, expect, it } from "vitest";
import { TEST_SECRETS } from "../setup/secrets";
import { claimsOf, fakeClock, STRONG_PASSWORD, testService, uniqueEmail, type TokenPair } from "../support/harness";
import { totpCode } from "../support/totp";
import { SoftAuthenticator } from "../support/webauthn";

const ORIGIN = TEST_SECRETS.WEBAUTHN_ORIGINS;
const RP_ID = TEST_SECRETS.WEBAUTHN_RP_ID;
const APP = "https://app.example.com";

type Service = ReturnType<typeof testService>;
type Time = ReturnType<typeof fakeClock>;
type Registered = { user: { id: string }; tokens: TokenPair };
type Reauthenticated = { tokens: Omit<TokenPair, "refreshToken"> };
type ProblemWithMethods = { code: string; status: number; methods?: string[] };

function clocked() {
  const time = fakeClock(new Date());
  return { time, s: testService({ clock: time.clock }) };
}

async function account(s: Service) {
  const email = uniqueEmail("reauth3");
  const res = await s.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } });
  expect(res.status).toBe(201);
  const registered = (await res.json()) as Registered;
  // v3: only a proven address enrols factors.
  await s.db.markEmailVerified(registered.user.id);
  return { email, ...registered };
}

/**
 * A new account that enrolled TOTP from its fresh password session; the clock moves a step on, so the next code is
 * fresh.
 */
async function withTotp(s: Service, time: Time) {
  const alice = await account(s);
  const start = await s.call("POST", "/me/mfa/totp", { token: alice.tokens.accessToken });
  expect(start.status).toBe(200);
  const { secret } = (await start.json()) as { secret: string };
  const confirm = await s.call("POST", "/me/mfa/totp/confirm", {
    token: alice.tokens.accessToken,
    body: { code: totpCode(secret, time.now()) },
  });
  expect(confirm.status).toBe(200);
  const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
  time.advance(30);
  return { ...alice, secret, recoveryCodes };
}

/** A passkey registered from the account's fresh password session (before any factor, so a password was enough). */
async function addPasskey(s: Service, token: string) {
  const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
  const options = await s.call("POST", "/me/passkeys/options", { token });
  expect(options.status).toBe(200);
  const res = await s.call("POST", "/me/passkeys", {
    token,
    body: { response: await device.register((await options.json()) as { challenge: string }) },
  });
  expect(res.status).toBe(201);
  return { device, passkey: ((await res.json()) as { passkey: { id: string } }).passkey };
}

const reauthenticate = (s: Service, token: string, body: unknown, headers?: Record<string, string>) =>
  s.call("POST", "/auth/reauthenticate", { token, body, headers });

async function reauthOptions(s: Service, token: string) {
  const res = await s.call("POST", "/auth/reauthenticate/options", { token });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    challenge: string;
    rpId: string;
    userVerification: string;
    allowCredentials?: { id: string; type: string }[];
  };
}

async function problem(res: Response): Promise<ProblemWithMethods> {
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  return (await res.json()) as ProblemWithMethods;
}

async function tokenOf(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  return ((await res.json()) as Reauthenticated).tokens.accessToken;
}

const TOTP_METHODS = ["password+totp", "password+recovery_code"];

describe("a second factor needs a two-factor re-authentication", () => {
  it("a stolen session plus the password alone cannot remove TOTP", async () => {
    const { s, time } = clocked();
    const alice = await withTotp(s, time);
    // The thief holds the fresh session and has phished the password.
    const removal = await s.call("DELETE", "/me/mfa/totp", { token: alice.tokens.accessToken });
    expect(removal.status).toBe(403);
    expect(await problem(removal)).toMatchObject({ code: "reauthentication_required", methods: TOTP_METHODS });
    const passwordOnly = await reauthenticate(s, alice.tokens.accessToken, { currentPassword: STRONG_PASSWORD });
    expect(passwordOnly.status).toBe(403);
    expect(await problem(passwordOnly)).toMatchObject({ code: "reauthentication_required", methods: TOTP_METHODS });
    expect(
      await s.db.query("select 1 from totp_factors where user_id = $1 and confirmed_at is not null", [alice.user.id]),
    ).toHaveLength(1);
    expect(await s.db.auditRows({ userId: alice.user.id, event: "auth.reauthenticated" })).toHaveLength(0);

    // The owner, with the authenticator app: the same session, now proved by two factors.
    const proved = await reauthenticate(s, alice.tokens.accessToken, {
      currentPassword: STRONG_PASSWORD,
      code: totpCode(alice.secret, time.now()),
    });
    const token = await tokenOf(proved);
    expect(claimsOf(token)).toMatchObject({
      sid: alice.tokens.sessionId,
      amr: ["pwd", "otp", "mfa"],
      auth_time: Math.floor(time.now().getTime() / 1000),
    });
    expect((await s.call("DELETE", "/me/mfa/totp", { token })).status).toBe(204);
  });

  it("a stolen session plus the password alone cannot remove a passkey", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const { device, passkey } = await addPasskey(s, alice.tokens.accessToken);
    const removal = await s.call("DELETE", `/me/passkeys/${passkey.id}`, { token: alice.tokens.accessToken });
    expect(removal.status).toBe(403);
    expect(await problem(removal)).toMatchObject({ code: "reauthentication_required", methods: ["passkey"] });
    const passwordOnly = await reauthenticate(s, alice.tokens.accessToken, { currentPassword: STRONG_PASSWORD });
    expect(await problem(passwordOnly)).toMatchObject({
      status: 403,
      code: "reauthentication_required",
      methods: ["passkey"],
    });
    // Nor add a passkey of their own next to it.
    expect((await s.call("POST", "/me/passkeys/options", { token: alice.tokens.accessToken })).status).toBe(403);
    expect(await s.db.query("select 1 from passkeys where id = $1", [passkey.id])).toHaveLength(1);

    // The owner's passkey, for options that list the account's credentials.
    const options = await reauthOptions(s, alice.tokens.accessToken);
    expect(options).toMatchObject({ rpId: RP_ID, userVerification: "required" });
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([device.id]);
    const token = await tokenOf(
      await reauthenticate(s, alice.tokens.accessToken, { response: await device.assert(options, alice.user.id) }),
    );
    expect(claimsOf(token)).toMatchObject({ sid: alice.tokens.sessionId, amr: ["hwk", "mfa"] });
    expect((await s.call("DELETE", `/me/passkeys/${passkey.id}`, { token })).status).toBe(204);
  });

  it("a stolen session plus the password alone cannot regenerate recovery codes", async () => {
    const { s, time } = clocked();
    const alice = await withTotp(s, time);
    const regenerate = await s.call("POST", "/me/mfa/recovery-codes", { token: alice.tokens.accessToken });
    expect(await problem(regenerate)).toMatchObject({
      status: 403,
      code: "reauthentication_required",
      methods: TOTP_METHODS,
    });
    const passwordOnly = await reauthenticate(s, alice.tokens.accessToken, { currentPassword: STRONG_PASSWORD });
    expect(await problem(passwordOnly)).toMatchObject({
      status: 403,
      code: "reauthentication_required",
      methods: TOTP_METHODS,
    });

    // The owner, with a recovery code: spent by it.
    const token = await tokenOf(
      await reauthenticate(s, alice.tokens.accessToken, {
        currentPassword: STRONG_PASSWORD,
        recoveryCode: alice.recoveryCodes[0],
      }),
    );
    expect(claimsOf(token).amr).toEqual(["pwd", "otp", "mfa"]);
    expect(await s.db.auditRows({ userId: alice.user.id, event: "mfa.recovery_code_used" })).toHaveLength(1);
    const again = await reauthenticate(s, alice.tokens.accessToken, {
      currentPassword: STRONG_PASSWORD,
      recoveryCode: alice.recoveryCodes[0],
    });
    expect(await problem(again)).toMatchObject({ status: 401, code: "invalid_mfa_code" });
    expect((await s.call("POST", "/me/mfa/recovery-codes", { token })).status).toBe(200);
  });

  it(
    "a session signed in with two factors is recent without " +
      "re-authenticating; once stale, it needs two factors again",
    async () => {
      const { s, time } = clocked();
      const alice = await withTotp(s, time);
      const login = await s.call("POST", "/auth/login", { body: { email: alice.email, password: STRONG_PASSWORD } });
      const { mfaToken } = (await login.json()) as { mfaToken: string };
      const signedIn = (await (
        await s.call("POST", "/auth/mfa", { body: { mfaToken, code: totpCode(alice.secret, time.now()) } })
      ).json()) as { tokens: TokenPair };
      expect((await s.call("POST", "/me/mfa/recovery-codes", { token: signedIn.tokens.accessToken })).status).toBe(200);
      time.advance(601);
      const stale = await s.refreshOk(signedIn.tokens.refreshToken);
      expect(await problem(await s.call("POST", "/me/mfa/recovery-codes", { token: stale.accessToken }))).toMatchObject(
        {
          code: "reauthentication_required",
          methods: TOTP_METHODS,
        },
      );
    },
  );

  it("with TOTP and a passkey, every way that is enough is offered", async () => {
    const { s, time } = clocked();
    const alice = await account(s);
    const { secret } = (await (await s.call("POST", "/me/mfa/totp", { token: alice.tokens.accessToken })).json()) as {
      secret: string;
    };
    expect(
      (
        await s.call("POST", "/me/mfa/totp/confirm", {
          token: alice.tokens.accessToken,
          body: { code: totpCode(secret, time.now()) },
        })
      ).status,
    ).toBe(200);
    const res = await s.call("DELETE", "/me/mfa/totp", { token: alice.tokens.accessToken });
    expect(await problem(res)).toMatchObject({
      code: "reauthentication_required",
      methods: ["password+totp", "password+recovery_code"],
    });
    await s.db.query(
      "insert into passkeys (user_id, credential_id, public_key, counter, transports, device_type, backed_up) " +
        "values ($1, $2, 'x', 0, '{}', 'singleDevice', false)",
      [alice.user.id, crypto.randomUUID()],
    );
    const both = await s.call("DELETE", "/me/mfa/totp", { token: alice.tokens.accessToken });
    expect(await problem(both)).toMatchObject({
      code: "reauthentication_required",
      methods: ["password+totp", "password+recovery_code", "passkey"],
    });
  });
});

describe("what re-authentication accepts", () => {
  it(
    "without a factor the password is enough: a stale session is told " +
      "methods [password], and the password renews it",
    async () => {
      const { s, time } = clocked();
      const alice = await account(s);
      time.advance(601);
      const stale = await s.refreshOk(alice.tokens.refreshToken);
      const refused = await s.call("POST", "/me/mfa/totp", { token: stale.accessToken });
      expect(await problem(refused)).toMatchObject({
        status: 403,
        code: "reauthentication_required",
        methods: ["password"],
      });
      const token = await tokenOf(await reauthenticate(s, stale.accessToken, { currentPassword: STRONG_PASSWORD }));
      expect(claimsOf(token).amr).toEqual(["pwd"]);
      expect((await s.call("POST", "/me/mfa/totp", { token })).status).toBe(200);
    },
  );

  it(
    "the password is checked first and counted: wrong answers " + "invalid_credentials, right asks for the factor",
    async () => {
      const { s, time } = clocked();
      const alice = await withTotp(s, time);
      const wrong = await reauthenticate(s, alice.tokens.accessToken, {
        currentPassword: "not the password at all",
        code: totpCode(alice.secret, time.now()),
      });
      expect(await problem(wrong)).toMatchObject({ status: 401, code: "invalid_credentials" });
      expect(await s.db.auditRows({ userId: alice.user.id, event: "auth.login_failed" })).toHaveLength(1);
      const wrongAlone = await reauthenticate(s, alice.tokens.accessToken, {
        currentPassword: "not the password at all",
      });
      expect(await problem(wrongAlone)).toMatchObject({ status: 401, code: "invalid_credentials" });
      // The code a wrong password came with was not spent: it still proves the owner.
      await tokenOf(
        await reauthenticate(s, alice.tokens.accessToken, {
          currentPassword: STRONG_PASSWORD,
          code: totpCode(alice.secret, time.now()),
        }),
      );
    },
  );

  it(
    "a thief with the password gets no free guesses at the code: wrong codes " +
      "write mfa.challenge_failed and count until 429",
    async () => {
      const { s, time } = clocked();
      const alice = await withTotp(s, time);
      const statuses: number[] = [];
      // Each attempt counts the password and the code; however they are counted, the limit comes within twice the
      // maximum.
      for (let i = 0; i <= 2 * Number(TEST_SECRETS.LOGIN_MAX_FAILURES); i++) {
        const res = await reauthenticate(s, alice.tokens.accessToken, {
          currentPassword: STRONG_PASSWORD,
          code: "000000",
        });
        statuses.push(res.status);
        if (res.status === 429) break;
        expect((await problem(res)).code).toBe("invalid_mfa_code");
      }
      expect(statuses.at(-1)).toBe(429);
      const failed = await s.db.auditRows({ userId: alice.user.id, event: "mfa.challenge_failed" });
      expect(failed.length).toBe(statuses.length - 1);
      expect(failed[0]!.metadata).toMatchObject({ method: "totp", reauthentication: true });
      expect(await s.db.auditRows({ userId: alice.user.id, event: "auth.reauthenticated" })).toHaveLength(0);
    },
  );

  it("a code without the password, or a code for an account without TOTP, is no re-authentication", async () => {
    const { s, time } = clocked();
    const alice = await withTotp(s, time);
    const codeOnly = await reauthenticate(s, alice.tokens.accessToken, { code: totpCode(alice.secret, time.now()) });
    expect(await problem(codeOnly)).toMatchObject({ status: 400, code: "validation_failed" });
    const bob = await account(s);
    const noTotp = await reauthenticate(s, bob.tokens.accessToken, {
      currentPassword: STRONG_PASSWORD,
      code: "123456",
    });
    expect(await problem(noTotp)).toMatchObject({ status: 400, code: "validation_failed" });
  });

  it("works in cookie mode: the access cookie carries the new proof", async () => {
    const { s, time } = clocked();
    const alice = await withTotp(s, time);
    const res = await reauthenticate(
      s,
      alice.tokens.accessToken,
      { currentPassword: STRONG_PASSWORD, code: totpCode(alice.secret, time.now()) },
      { "X-Auth-Mode": "cookie", Origin: APP },
    );
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().find((line) => line.startsWith("__Host-sa_at="));
    expect(cookie).toBeDefined();
    const body = (await res.json()) as Reauthenticated;
    expect(decodeURIComponent(cookie!.split(";")[0]!.slice("__Host-sa_at=".length))).toBe(body.tokens.accessToken);
    expect(claimsOf(body.tokens.accessToken).amr).toEqual(["pwd", "otp", "mfa"]);
  });
});

describe("the passkey re-authentication challenge", () => {
  it(
    "is bound to its caller: another user's options, a sign-in's options and " + "a replay do not re-authenticate",
    async () => {
      const { s } = clocked();
      const alice = await account(s);
      const { device } = await addPasskey(s, alice.tokens.accessToken);
      const mallory = await account(s);
      await addPasskey(s, mallory.tokens.accessToken);

      const mallorysOptions = await reauthOptions(s, mallory.tokens.accessToken);
      const foreign = await reauthenticate(s, alice.tokens.accessToken, {
        response: await device.assert(mallorysOptions, alice.user.id),
      });
      expect(await problem(foreign)).toMatchObject({ status: 401, code: "invalid_credentials" });

      const signInOptions = (await (await s.call("POST", "/auth/passkey/options", { body: {} })).json()) as {
        challenge: string;
      };
      const fromSignIn = await reauthenticate(s, alice.tokens.accessToken, {
        response: await device.assert(signInOptions, alice.user.id),
      });
      expect(fromSignIn.status).toBe(401);

      const response = await device.assert(await reauthOptions(s, alice.tokens.accessToken), alice.user.id);
      await tokenOf(await reauthenticate(s, alice.tokens.accessToken, { response }));
      expect((await reauthenticate(s, alice.tokens.accessToken, { response })).status).toBe(401);
      // A re-authentication challenge signs nobody in either.
      const reauthChallenge = await device.assert(await reauthOptions(s, alice.tokens.accessToken), alice.user.id);
      expect((await s.call("POST", "/auth/passkey", { body: { response: reauthChallenge } })).status).toBe(401);
      const failed = await s.db.auditRows({ userId: alice.user.id, event: "mfa.challenge_failed" });
      expect(failed.length).toBeGreaterThanOrEqual(3);
      expect(failed[0]!.metadata).toMatchObject({ method: "passkey", reauthentication: true });
    },
  );

  it("another user's passkey does not re-authenticate you, even for your own challenge", async () => {
    const { s } = clocked();
    const alice = await account(s);
    await addPasskey(s, alice.tokens.accessToken);
    const mallory = await account(s);
    const { device: mallorysDevice } = await addPasskey(s, mallory.tokens.accessToken);
    const res = await reauthenticate(s, alice.tokens.accessToken, {
      response: await mallorysDevice.assert(await reauthOptions(s, alice.tokens.accessToken), mallory.user.id),
    });
    expect(res.status).toBe(401);
  });

  it("lives 5 minutes", async () => {
    const { s, time } = clocked();
    const alice = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    const options = await reauthOptions(s, alice.tokens.accessToken);
    time.advance(301);
    const fresh = await s.refreshOk(alice.tokens.refreshToken);
    expect(
      (await reauthenticate(s, fresh.accessToken, { response: await device.assert(options, alice.user.id) })).status,
    ).toBe(401);
  });

  it("options need an access token", async () => {
    const { s } = clocked();
    expect((await s.call("POST", "/auth/reauthenticate/options")).status).toBe(401);
  });
});
