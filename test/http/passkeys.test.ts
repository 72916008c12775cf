// Passkeys on the real stack (docs/second-factors.md), with a
// software authenticator (test/support/webauthn.ts) that makes real WebAuthn
// responses, so each rule is tested against what an attacker can forge: a
// replayed challenge, another origin or relying party, no user
// verification, a credential never registered, another user's passkey, a
// cloned authenticator whose counter goes backwards, an old session.
// Chromium with a virtual authenticator runs the same flows end to end
// (test/e2e/passkeys.test.ts).
import { describe, expect, it } from "vitest";
import { captureConsole } from "../support/logs";
import { TEST_SECRETS } from "../setup/secrets";
import {
  claimsOf,
  fakeClock,
  problemOf,
  STRONG_PASSWORD,
  testService,
  uniqueEmail,
  type TokenPair,
} from "../support/harness";
import { totpCode } from "../support/totp";
import { SoftAuthenticator } from "../support/webauthn";

const ORIGIN = TEST_SECRETS.WEBAUTHN_ORIGINS;
const RP_ID = TEST_SECRETS.WEBAUTHN_RP_ID;

type Service = ReturnType<typeof testService>;
type LoggedIn = {
  user: { id: string; mfa: { totp: boolean; passkeys: number } };
  tokens: TokenPair;
  deviceToken: string;
};

function clocked() {
  const time = fakeClock(new Date());
  return { time, s: testService({ clock: time.clock }) };
}

/**
 * A new account whose address is proven (v3: only such an account adds a passkey; proven here by the database), signed
 * in.
 */
async function account(s: Service) {
  const email = uniqueEmail("passkey");
  const res = await s.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } });
  const body = (await res.json()) as LoggedIn;
  await s.db.query("update users set email_verified_at = now() where id = $1", [body.user.id]);
  return { email, ...body };
}

async function creationOptions(s: Service, token: string) {
  const res = await s.call("POST", "/me/passkeys/options", { token });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    challenge: string;
    rp: { id: string; name: string };
    user: { id: string; name: string };
    excludeCredentials: { id: string }[];
    authenticatorSelection: Record<string, unknown>;
  };
}

async function addPasskey(s: Service, token: string, authenticator?: SoftAuthenticator) {
  const device = authenticator ?? (await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID }));
  const options = await creationOptions(s, token);
  const res = await s.call("POST", "/me/passkeys", {
    token,
    body: { response: await device.register(options), name: "Laptop" },
  });
  expect(res.status).toBe(201);
  return {
    device,
    passkey: (
      (await res.json()) as { passkey: { id: string; name: string; createdAt: string; lastUsedAt: string | null } }
    ).passkey,
  };
}

async function requestOptions(s: Service, body: unknown = {}) {
  const res = await s.call("POST", "/auth/passkey/options", { body });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    challenge: string;
    rpId: string;
    userVerification: string;
    allowCredentials?: unknown[];
  };
}

const passkeySignIn = (s: Service, body: unknown) => s.call("POST", "/auth/passkey", { body });

/** The session re-authenticated with its passkey (v3: what a recent operation needs once a passkey is registered). */
async function passkeyProof(s: Service, token: string, device: SoftAuthenticator, userId: string): Promise<string> {
  const options = await s.call("POST", "/auth/reauthenticate/options", { token });
  expect(options.status).toBe(200);
  const res = await s.call("POST", "/auth/reauthenticate", {
    token,
    body: { response: await device.assert((await options.json()) as { challenge: string }, userId) },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { tokens: TokenPair }).tokens.accessToken;
}

describe("registering a passkey", () => {
  it("options ask for a discoverable credential with user verification, for this relying party and user", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const options = await creationOptions(s, alice.tokens.accessToken);
    expect(options.rp).toEqual({ id: RP_ID, name: TEST_SECRETS.WEBAUTHN_RP_NAME });
    expect(options.user.name).toBe(alice.email);
    expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it(
    "registers, lists, and signs in with the passkey alone: amr hwk+mfa " +
      "(user verification makes it two factors), the counter and lastUsedAt " +
      "kept, audited without key material",
    async () => {
      const { s } = clocked();
      const alice = await account(s);
      const { device, passkey } = await addPasskey(s, alice.tokens.accessToken);
      expect(passkey).toMatchObject({ name: "Laptop", lastUsedAt: null });
      const list = (await (await s.call("GET", "/me/passkeys", { token: alice.tokens.accessToken })).json()) as {
        passkeys: { id: string }[];
      };
      expect(list.passkeys.map((p) => p.id)).toEqual([passkey.id]);
      const [row] = await s.db.query<{
        public_key: string;
        credential_id: string;
        counter: number;
        backed_up: boolean;
      }>("select * from passkeys where id = $1", [passkey.id]);
      const [audit] = await s.db.auditRows({ userId: alice.user.id, event: "passkey.registered" });
      expect(JSON.stringify(audit)).not.toContain(row!.public_key);
      expect(JSON.stringify(audit)).not.toContain(row!.credential_id);

      const options = await requestOptions(s);
      const res = await passkeySignIn(s, {
        response: await device.assert(options, alice.user.id),
        deviceName: "Phone",
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as LoggedIn;
      expect(body.user.id).toBe(alice.user.id);
      expect(body.user.mfa.passkeys).toBe(1);
      // A relying party reading ["hwk"] alone would take it for one factor: v3 says what it is.
      expect(claimsOf(body.tokens.accessToken).amr).toEqual(["hwk", "mfa"]);
      const [used] = await s.db.query<{ counter: string; last_used_at: Date | null }>(
        "select counter, last_used_at from passkeys where id = $1",
        [passkey.id],
      );
      expect(Number(used!.counter)).toBe(1);
      expect(used!.last_used_at).not.toBeNull();
      const [signIn] = await s.db.auditRows({
        userId: alice.user.id,
        event: "auth.login_succeeded",
        sessionId: body.tokens.sessionId,
      });
      expect(signIn!.metadata).toEqual({ amr: ["hwk", "mfa"] });
      // The session keeps its proof: a refresh carries the same amr.
      expect(claimsOf((await s.refreshOk(body.tokens.refreshToken)).accessToken).amr).toEqual(["hwk", "mfa"]);
    },
  );

  it(
    "a replayed registration response is refused: its challenge was used " + "once, and nothing more is stored",
    async () => {
      const { s } = clocked();
      const alice = await account(s);
      const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
      const options = await creationOptions(s, alice.tokens.accessToken);
      const response = await device.register(options);
      expect(
        (await s.call("POST", "/me/passkeys", { token: alice.tokens.accessToken, body: { response } })).status,
      ).toBe(201);
      const replay = await s.call("POST", "/me/passkeys", { token: alice.tokens.accessToken, body: { response } });
      expect(replay.status).toBe(400);
      expect((await problemOf(replay)).errors?.[0]?.path).toBe("response");
      expect(await s.db.query("select 1 from passkeys where user_id = $1", [alice.user.id])).toHaveLength(1);
    },
  );

  it("another user's registration challenge does not register a passkey for you", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const mallory = await account(s);
    const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
    const aliceOptions = await creationOptions(s, alice.tokens.accessToken);
    const res = await s.call("POST", "/me/passkeys", {
      token: mallory.tokens.accessToken,
      body: { response: await device.register(aliceOptions) },
    });
    expect(res.status).toBe(400);
    expect(
      await s.db.query("select 1 from passkeys where user_id in ($1, $2)", [alice.user.id, mallory.user.id]),
    ).toHaveLength(0);
  });

  it.each([
    ["a phishing origin", { origin: "https://app.example.com.evil.net" }],
    ["another relying party", { rpId: "evil.example.net" }],
    ["no user verification", { userVerified: false }],
    ["an assertion type in place of a creation", { type: "webauthn.get" }],
  ])("refuses a registration from %s, storing nothing", async (_label, ceremony) => {
    const { s } = clocked();
    const alice = await account(s);
    const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
    const options = await creationOptions(s, alice.tokens.accessToken);
    const res = await s.call("POST", "/me/passkeys", {
      token: alice.tokens.accessToken,
      body: { response: await device.register(options, ceremony) },
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
    expect(await s.db.query("select 1 from passkeys where user_id = $1", [alice.user.id])).toHaveLength(0);
  });

  it("an expired challenge (over 5 minutes) is refused", async () => {
    const { s, time } = clocked();
    const alice = await account(s);
    const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
    const options = await creationOptions(s, alice.tokens.accessToken);
    time.advance(301);
    const res = await s.call("POST", "/me/passkeys", {
      token: alice.tokens.accessToken,
      body: { response: await device.register(options) },
    });
    expect(res.status).toBe(400);
  });

  it("the same authenticator cannot be registered twice; the options exclude it", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    const token = await passkeyProof(s, alice.tokens.accessToken, device, alice.user.id);
    const options = await creationOptions(s, token);
    expect(options.excludeCredentials.map((c) => c.id)).toEqual([device.id]);
    const res = await s.call("POST", "/me/passkeys", { token, body: { response: await device.register(options) } });
    expect(res.status).toBe(400);
  });

  it("options need a recent sign-in: an 11-minute-old session's token answers reauthentication_required", async () => {
    const { s, time } = clocked();
    const alice = await account(s);
    time.advance(660);
    const fresh = await s.refreshOk(alice.tokens.refreshToken);
    const res = await s.call("POST", "/me/passkeys/options", { token: fresh.accessToken });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("reauthentication_required");
  });
});

describe("signing in with a passkey", () => {
  it("options are the same shape for no email, an unknown email and a known one, and list no credentials", async () => {
    const { s } = clocked();
    const alice = await account(s);
    await addPasskey(s, alice.tokens.accessToken);
    const shapes = await Promise.all(
      [{}, { email: "nobody@example.com" }, { email: alice.email }].map(async (body) =>
        Object.keys(await requestOptions(s, body)).sort(),
      ),
    );
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
    const options = await requestOptions(s, { email: alice.email });
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(options).toMatchObject({ rpId: RP_ID, userVerification: "required" });
  });

  it("a replayed assertion is refused: the challenge is single use", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    const response = await device.assert(await requestOptions(s), alice.user.id);
    expect((await passkeySignIn(s, { response })).status).toBe(200);
    const replay = await passkeySignIn(s, { response });
    expect(replay.status).toBe(401);
    expect((await problemOf(replay)).code).toBe("invalid_credentials");
  });

  it("a credential never registered (a foreign one) answers invalid_credentials", async () => {
    const { s } = clocked();
    const stranger = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
    const res = await passkeySignIn(s, {
      response: await stranger.assert(await requestOptions(s), crypto.randomUUID()),
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_credentials");
  });

  it.each([
    ["a phishing origin", { origin: "https://evil.example.net" }],
    ["another relying party", { rpId: "evil.example.net" }],
    ["no user verification", { userVerified: false }],
  ])("refuses an assertion from %s", async (_label, ceremony) => {
    const { s } = clocked();
    const alice = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    const res = await passkeySignIn(s, {
      response: await device.assert(await requestOptions(s), alice.user.id, ceremony),
    });
    expect(res.status).toBe(401);
  });

  it("a user handle naming someone else is refused", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const bob = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    const res = await passkeySignIn(s, { response: await device.assert(await requestOptions(s), bob.user.id) });
    expect(res.status).toBe(401);
  });

  it("a cloned authenticator (its counter going backwards) is refused", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    device.setCounter(10);
    expect(
      (await passkeySignIn(s, { response: await device.assert(await requestOptions(s), alice.user.id) })).status,
    ).toBe(200);
    device.setCounter(3);
    const res = await passkeySignIn(s, { response: await device.assert(await requestOptions(s), alice.user.id) });
    expect(res.status).toBe(401);
  });

  it("a disabled account's passkey does not sign in", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    await s.db.query("update users set status = 'disabled' where id = $1", [alice.user.id]);
    const res = await passkeySignIn(s, { response: await device.assert(await requestOptions(s), alice.user.id) });
    expect(res.status).toBe(401);
  });
});

describe("a passkey as the second factor", () => {
  it(
    "a password sign-in of an account with a passkey answers mfa_required " +
      "with passkey among the methods; the passkey completes it (amr " +
      "pwd+hwk+mfa), once",
    async () => {
      const { s } = clocked();
      const alice = await account(s);
      const { device } = await addPasskey(s, alice.tokens.accessToken);
      const login = await s.call("POST", "/auth/login", { body: { email: alice.email, password: STRONG_PASSWORD } });
      expect(login.status).toBe(403);
      const { mfaToken, methods } = (await login.json()) as { mfaToken: string; methods: string[] };
      expect(methods).toEqual(["passkey"]);
      const res = await passkeySignIn(s, {
        response: await device.assert(await requestOptions(s), alice.user.id),
        mfaToken,
      });
      expect(res.status).toBe(200);
      expect(claimsOf(((await res.json()) as LoggedIn).tokens.accessToken).amr).toEqual(["pwd", "hwk", "mfa"]);
      const again = await passkeySignIn(s, {
        response: await device.assert(await requestOptions(s), alice.user.id),
        mfaToken,
      });
      expect((await problemOf(again)).code).toBe("invalid_mfa_token");
    },
  );

  it("another user's passkey cannot complete the sign-in, and counts as a failure of it", async () => {
    const { s } = clocked();
    const alice = await account(s);
    await addPasskey(s, alice.tokens.accessToken);
    const mallory = await account(s);
    const { device: malloryDevice } = await addPasskey(s, mallory.tokens.accessToken);
    const login = await s.call("POST", "/auth/login", { body: { email: alice.email, password: STRONG_PASSWORD } });
    const { mfaToken } = (await login.json()) as { mfaToken: string };
    const res = await passkeySignIn(s, {
      response: await malloryDevice.assert(await requestOptions(s), mallory.user.id),
      mfaToken,
    });
    expect(res.status).toBe(401);
    expect(await s.db.auditRows({ userId: alice.user.id, event: "mfa.challenge_failed" })).toHaveLength(1);
  });

  it("with TOTP and a passkey, both are offered", async () => {
    const { s, time } = clocked();
    const alice = await account(s);
    const { device } = await addPasskey(s, alice.tokens.accessToken);
    const token = await passkeyProof(s, alice.tokens.accessToken, device, alice.user.id);
    const { secret } = (await (await s.call("POST", "/me/mfa/totp", { token })).json()) as { secret: string };
    await s.call("POST", "/me/mfa/totp/confirm", { token, body: { code: totpCode(secret, time.now()) } });
    const login = await s.call("POST", "/auth/login", { body: { email: alice.email, password: STRONG_PASSWORD } });
    expect(((await login.json()) as { methods: string[] }).methods).toEqual(["totp", "recovery_code", "passkey"]);
  });
});

describe("the permission the /me/passkeys and /me/mfa routes need", () => {
  it("is profile:write: an account holding profile:read alone cannot list, add or enrol", async () => {
    const { s } = clocked();
    const reader = await account(s);
    await s.db.query(
      "insert into roles (name, description) values ('profile-reader', 'created by a test') on conflict do nothing",
    );
    await s.db.query(
      "insert into role_permissions (role_name, permission_name) values ('profile-reader', 'profile:read') on " +
        "conflict do nothing",
    );
    await s.db.query("delete from user_roles where user_id = $1", [reader.user.id]);
    await s.db.query("insert into user_roles (user_id, role_name) values ($1, 'profile-reader')", [reader.user.id]);
    const login = (await (
      await s.call("POST", "/auth/login", { body: { email: reader.email, password: STRONG_PASSWORD } })
    ).json()) as LoggedIn;
    for (const [method, path] of [
      ["GET", "/me/passkeys"],
      ["POST", "/me/passkeys/options"],
      ["POST", "/me/mfa/totp"],
      ["GET", "/me/mfa/totp/qr"],
    ] as const) {
      const res = await s.call(method, path, { token: login.tokens.accessToken });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
    }
    expect((await s.call("GET", "/me", { token: login.tokens.accessToken })).status).toBe(200);
  });
});

describe("removing a passkey", () => {
  it("removes your own (audited), after which it no longer signs in", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const { device, passkey } = await addPasskey(s, alice.tokens.accessToken);
    const token = await passkeyProof(s, alice.tokens.accessToken, device, alice.user.id);
    const res = await s.call("DELETE", `/me/passkeys/${passkey.id.toUpperCase()}`, { token });
    expect(res.status).toBe(204);
    expect(await s.db.auditRows({ userId: alice.user.id, event: "passkey.removed" })).toHaveLength(1);
    expect(
      (await passkeySignIn(s, { response: await device.assert(await requestOptions(s), alice.user.id) })).status,
    ).toBe(401);
  });

  it("another user's passkey id answers 404, and the passkey stays", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const mallory = await account(s);
    const { passkey } = await addPasskey(s, alice.tokens.accessToken);
    for (const id of [passkey.id, crypto.randomUUID(), "not-a-uuid"]) {
      const res = await s.call("DELETE", `/me/passkeys/${id}`, { token: mallory.tokens.accessToken });
      expect(res.status).toBe(404);
    }
    expect(await s.db.query("select 1 from passkeys where id = $1", [passkey.id])).toHaveLength(1);
  });

  it("removal needs a recent sign-in", async () => {
    const { s, time } = clocked();
    const alice = await account(s);
    const { passkey } = await addPasskey(s, alice.tokens.accessToken);
    time.advance(660);
    const fresh = await s.refreshOk(alice.tokens.refreshToken);
    const res = await s.call("DELETE", `/me/passkeys/${passkey.id}`, { token: fresh.accessToken });
    expect((await problemOf(res)).code).toBe("reauthentication_required");
  });

  it("an administrator's factor removal takes the passkeys too", async () => {
    const { s } = clocked();
    const alice = await account(s);
    await addPasskey(s, alice.tokens.accessToken);
    const admin = await account(s);
    await s.db.query("insert into user_roles (user_id, role_name) values ($1, 'admin')", [admin.user.id]);
    const adminLogin = (await (
      await s.call("POST", "/auth/login", { body: { email: admin.email, password: STRONG_PASSWORD } })
    ).json()) as LoggedIn;
    expect(
      (await s.call("DELETE", `/admin/users/${alice.user.id}/mfa`, { token: adminLogin.tokens.accessToken })).status,
    ).toBe(204);
    expect(await s.db.query("select 1 from passkeys where user_id = $1", [alice.user.id])).toHaveLength(0);
    expect(
      (await s.call("POST", "/auth/login", { body: { email: alice.email, password: STRONG_PASSWORD } })).status,
    ).toBe(200);
  });
});

describe("what the client sends is judged, never trusted", () => {
  it(
    "a malformed user handle (not base64url text, not a string) answers " + "invalid_credentials, never a 500",
    async () => {
      const { s } = clocked();
      const alice = await account(s);
      const { device } = await addPasskey(s, alice.tokens.accessToken);
      for (const handle of ["!!!*", 5, { id: alice.user.id }, "_w"]) {
        const response = await device.assert(await requestOptions(s), alice.user.id);
        (response.response as Record<string, unknown>).userHandle = handle;
        const res = await passkeySignIn(s, { response });
        expect(res.status, JSON.stringify(handle)).toBe(401);
        expect((await problemOf(res)).code).toBe("invalid_credentials");
      }
    },
  );

  it(
    "the transports a registration claims are stored only as the names " + "WebAuthn defines, and a non-list is no 500",
    async () => {
      const { s } = clocked();
      const out: unknown[] = [];
      for (const transports of [["usb", "bogus", 5, "usb", "internal"], "usb", { length: 1 }]) {
        const alice = await account(s);
        const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
        const response = await device.register(await creationOptions(s, alice.tokens.accessToken));
        (response.response as Record<string, unknown>).transports = transports;
        const res = await s.call("POST", "/me/passkeys", { token: alice.tokens.accessToken, body: { response } });
        expect(res.status).toBe(201);
        const [row] = await s.db.query<{ transports: string[] }>("select transports from passkeys where user_id = $1", [
          alice.user.id,
        ]);
        out.push(row!.transports);
      }
      expect(out).toEqual([["usb", "internal"], [], []]);
    },
  );

  it("a passkey name over 64 characters is refused, storing nothing", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
    const response = await device.register(await creationOptions(s, alice.tokens.accessToken));
    const res = await s.call("POST", "/me/passkeys", {
      token: alice.tokens.accessToken,
      body: { response, name: "x".repeat(65) },
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe("name");
    expect(await s.db.query("select 1 from passkeys where user_id = $1", [alice.user.id])).toHaveLength(0);
  });

  it(
    "a thief with the password gets no more guesses through passkeys: " +
      "second-step attempts count in the sign-in's throttle bucket",
    async () => {
      const { s } = clocked();
      const alice = await account(s);
      const { device } = await addPasskey(s, alice.tokens.accessToken);
      const login = await s.call("POST", "/auth/login", { body: { email: alice.email, password: STRONG_PASSWORD } });
      const { mfaToken } = (await login.json()) as { mfaToken: string };
      const statuses: number[] = [];
      // The password step counted once; LOGIN_MAX_FAILURES (5) attempts in all lock the bucket.
      for (let i = 0; i < Number(TEST_SECRETS.LOGIN_MAX_FAILURES); i++) {
        const stranger = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
        statuses.push(
          (
            await passkeySignIn(s, {
              response: await stranger.assert(await requestOptions(s), alice.user.id),
              mfaToken,
            })
          ).status,
        );
      }
      expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
      expect(statuses[4]).toBe(429);
      // Locked: even the right passkey waits.
      const locked = await passkeySignIn(s, {
        response: await device.assert(await requestOptions(s), alice.user.id),
        mfaToken,
      });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
    },
  );
});

describe("secrets stay out of logs and audit rows", () => {
  it("audit rows name the passkey by its row id and name only", async () => {
    const { s } = clocked();
    const alice = await account(s);
    const { device, passkey } = await addPasskey(s, alice.tokens.accessToken);
    const token = await passkeyProof(s, alice.tokens.accessToken, device, alice.user.id);
    expect((await s.call("DELETE", `/me/passkeys/${passkey.id}`, { token })).status).toBe(204);
    const [registered] = await s.db.auditRows({ userId: alice.user.id, event: "passkey.registered" });
    const [removed] = await s.db.auditRows({ userId: alice.user.id, event: "passkey.removed" });
    expect(registered!.metadata).toEqual({ passkeyId: passkey.id, name: "Laptop" });
    expect(removed!.metadata).toEqual({ passkeyId: passkey.id });
    expect(registered!.session_id).toBe(alice.tokens.sessionId);
  });

  it("no challenge, public key, credential id, signature, mfaToken or token in any log line or audit row", async () => {
    const { lines, restore } = captureConsole();
    const secrets: string[] = [];
    let userId = "";
    try {
      const { s } = clocked();
      const alice = await account(s);
      userId = alice.user.id;
      const device = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
      const creation = await creationOptions(s, alice.tokens.accessToken);
      const registration = await device.register(creation);
      await s.call("POST", "/me/passkeys", { token: alice.tokens.accessToken, body: { response: registration } });
      // Replayed: refused.
      await s.call("POST", "/me/passkeys", { token: alice.tokens.accessToken, body: { response: registration } });
      const request = await requestOptions(s);
      const assertion = await device.assert(request, alice.user.id);
      const signedIn = (await (await passkeySignIn(s, { response: assertion })).json()) as LoggedIn;
      await passkeySignIn(s, { response: assertion }); // replayed: refused
      const login = (await (
        await s.call("POST", "/auth/login", { body: { email: alice.email, password: STRONG_PASSWORD } })
      ).json()) as { mfaToken: string };
      const stranger = await SoftAuthenticator.create({ origin: ORIGIN, rpId: RP_ID });
      const foreign = await stranger.assert(await requestOptions(s), alice.user.id);
      await passkeySignIn(s, { response: foreign, mfaToken: login.mfaToken }); // refused, counted
      const malformed = await device.assert(await requestOptions(s), alice.user.id);
      (malformed.response as Record<string, unknown>).userHandle = "!!!*";
      await passkeySignIn(s, { response: malformed });
      const [row] = await s.db.query<{ public_key: string; credential_id: string }>(
        "select public_key, credential_id from passkeys where user_id = $1",
        [alice.user.id],
      );
      secrets.push(
        creation.challenge,
        request.challenge,
        row!.public_key,
        row!.credential_id,
        assertion.response.signature,
        login.mfaToken,
      );
      secrets.push(signedIn.tokens.accessToken, signedIn.tokens.refreshToken!, signedIn.deviceToken);
    } finally {
      restore();
    }
    const audit = JSON.stringify(await testService().db.auditRows({ userId }));
    for (const secret of secrets) {
      for (const line of lines) expect(line).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
  });
});
