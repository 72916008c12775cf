// The token service without HTTP: key loading, issuing, verifying with a
// fixed clock, the full check with edge revocation, and Bearer header parsing.
import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/core/clock";
import { type Config, type Env, loadConfig, parseConfig } from "../../src/config";
import { ConfigError, InvalidToken } from "../../src/core/errors";
import { parseBearerToken } from "../../src/http/authenticate";
import { RecordingRevocationList } from "../support/fakes";
import { AccessTokens } from "../../src/features/tokens/access-tokens";
import { signAccessToken } from "../../src/features/tokens/issue";
import { type KeySet, loadKeySet } from "../../src/features/tokens/keys";
import { type AccessTokenSubject, MAX_ACCESS_TOKEN_LENGTH } from "../../src/features/tokens/types";
import { verifyAccessToken } from "../../src/features/tokens/verify";
import { TEST_SECRETS, TEST_SIGNING_KEYS } from "../setup/secrets";
import { claimsOf, mintAccessToken } from "../support/harness";

type TestJwk = (typeof TEST_SIGNING_KEYS)[number];

const workerEnv = env as unknown as Env;
const config = loadConfig(workerEnv);
const CURRENT = TEST_SIGNING_KEYS[0] as TestJwk;
const PREVIOUS = TEST_SIGNING_KEYS[1] as TestJwk;
const NOW = new Date("2026-11-26T12:00:00.000Z");
const T = Math.floor(NOW.getTime() / 1000);
const fixed = (date: Date) => () => date;
const at = (seconds: number) => fixed(new Date(NOW.getTime() + seconds * 1000));

const subject: AccessTokenSubject = {
  userId: "7f1c2a4e-1b7d-4c5e-9a55-0c1f2d3e4f50",
  sessionId: "0b6e8f1a-2c3d-4e5f-8a9b-1c2d3e4f5a6b",
  roles: ["user"],
  permissions: ["profile:read", "sessions:read"],
  grantsVersion: 3,
  emailVerified: true,
  authTime: new Date(NOW.getTime() - 120_000),
  amr: ["pwd", "otp", "mfa"],
};

function configWithKeys(keys: unknown[]): Config {
  return parseConfig({ ...workerEnv, JWT_SIGNING_KEYS: JSON.stringify(keys) });
}

/** A token signed by the current test key, issued at NOW for `subject`, with these claims (undefined removes one). */
const mint = (overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  mintAccessToken(
    { sub: subject.userId, sid: subject.sessionId, permissions: ["profile:read"], ...overrides },
    { header, now: NOW },
  );

/** The service's AccessTokens over the test keys and config, at `clock`, with this revocation list. */
async function accessTokens(
  clock: Clock = fixed(NOW),
  revocations: Pick<RecordingRevocationList, "refuses"> = { refuses: async () => false },
) {
  return new AccessTokens(await loadKeySet(config), config, clock, revocations);
}

/** The InvalidToken a verification throws, with its cause. */
async function refusal(promise: Promise<unknown>): Promise<InvalidToken> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidToken);
  const invalid = error as InvalidToken;
  expect(invalid.code).toBe("invalid_token");
  expect(invalid.headers).toEqual({ "WWW-Authenticate": 'Bearer error="invalid_token"' });
  return invalid;
}

const causeOf = (error: InvalidToken) => String((error.cause as Error | undefined)?.message ?? error.cause);

describe("loadKeySet", () => {
  it("signs with the first key, verifies with every key, and imports once per key list", async () => {
    const keys = await loadKeySet(config);
    expect(keys.signing.kid).toBe(CURRENT.kid);
    expect([...keys.verifying.keys()]).toEqual([CURRENT.kid, PREVIOUS.kid]);
    expect(await loadKeySet(config)).toBe(keys);
    expect(loadKeySet(config)).toBe(loadKeySet(config));
  });

  it("holds the private key as non-extractable, usable only to sign", async () => {
    const { signing, verifying } = await loadKeySet(config);
    expect(signing.key.type).toBe("private");
    expect(signing.key.extractable).toBe(false);
    expect(signing.key.usages).toEqual(["sign"]);
    for (const key of verifying.values()) {
      expect(key.type).toBe("public");
      expect(key.usages).toEqual(["verify"]);
    }
  });

  it("publishes only kty, crv, x, kid, alg and use for each key", async () => {
    const { jwks } = await loadKeySet(config);
    expect(jwks.keys).toEqual(
      TEST_SIGNING_KEYS.map(({ x, kid }) => ({ kty: "OKP", crv: "Ed25519", x, kid, alg: "EdDSA", use: "sig" })),
    );
  });

  it("ignores alg, use and key_ops in the secret", async () => {
    const keys = await loadKeySet(configWithKeys([{ ...CURRENT, alg: "HS256", use: "enc", key_ops: ["encrypt"] }]));
    expect(keys.jwks.keys[0]).toEqual({
      kty: "OKP",
      crv: "Ed25519",
      x: CURRENT.x,
      kid: CURRENT.kid,
      alg: "EdDSA",
      use: "sig",
    });
  });

  it("refuses to start with a key whose private half does not match its public x", async () => {
    const mismatched = configWithKeys([{ ...CURRENT, d: PREVIOUS.d }]);
    await expect(loadKeySet(mismatched)).rejects.toThrow(ConfigError);
    await expect(loadKeySet(mismatched)).rejects.toThrow(/entry 0 has a d that does not match its x/);
  });

  it("refuses to start with key material that is not an Ed25519 key", async () => {
    await expect(loadKeySet(configWithKeys([CURRENT, { ...PREVIOUS, x: "AAAA" }]))).rejects.toThrow(
      /entry 1 is not a valid Ed25519 key/,
    );
  });
});

describe("signAccessToken (AccessTokens.issue)", () => {
  const issuerAt = (clock = fixed(NOW)) => accessTokens(clock);

  it("signs an EdDSA at+jwt naming the current key", async () => {
    const { accessToken } = await (await issuerAt()).issue(subject);
    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: "EdDSA", kid: CURRENT.kid, typ: "at+jwt" });
  });

  it("carries exactly the claims of the API contract, timed by the injected clock", async () => {
    const { accessToken, expiresIn, claims } = await (await issuerAt()).issue(subject);
    expect(expiresIn).toBe(config.accessTokenTtl);
    expect(claims).toEqual({
      iss: TEST_SECRETS.JWT_ISSUER,
      aud: TEST_SECRETS.JWT_AUDIENCE,
      sub: subject.userId,
      sid: subject.sessionId,
      jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      iat: T,
      exp: T + config.accessTokenTtl,
      client_id: "secureauth",
      roles: ["user"],
      permissions: ["profile:read", "sessions:read"],
      auth_time: T - 120,
      amr: ["pwd", "otp", "mfa"],
      email_verified: true,
    });
    expect(await verifyAccessToken(accessToken, await loadKeySet(config), config, fixed(NOW))).toEqual({
      claims,
      grantsVersion: subject.grantsVersion,
    });
  });

  it(
    "signs the grants version as the private gv claim, outside the claims of " + "the API contract it returns",
    async () => {
      const { accessToken, claims } = await (await issuerAt()).issue(subject);
      expect(claimsOf(accessToken).gv).toBe(3);
      expect(claims).not.toHaveProperty("gv");
    },
  );

  it("signs idp only for a subject a provider signed in", async () => {
    const issuer = await issuerAt();
    const federated = await issuer.issue({ ...subject, amr: ["fed"], idp: "acme" });
    expect(federated.claims.idp).toBe("acme");
    expect(claimsOf(federated.accessToken).idp).toBe("acme");
    expect(
      (await verifyAccessToken(federated.accessToken, await loadKeySet(config), config, fixed(NOW))).claims.idp,
    ).toBe("acme");
    const plain = await issuer.issue(subject);
    expect(claimsOf(plain.accessToken)).not.toHaveProperty("idp");
  });

  it("signAccessToken times the token by the instant it is given", async () => {
    const later = new Date(NOW.getTime() + 90_000);
    const { claims } = await signAccessToken(subject, await loadKeySet(config), { ...config, now: later });
    expect(claims).toMatchObject({ iat: T + 90, exp: T + 90 + config.accessTokenTtl });
  });

  it("gives every token a unique jti", async () => {
    const issuer = await issuerAt();
    const [a, b] = await Promise.all([issuer.issue(subject), issuer.issue(subject)]);
    expect(a.claims.jti).not.toBe(b.claims.jti);
  });

  it("copies roles and permissions, so later changes to the subject do not leak into the claims", async () => {
    const roles = ["user"];
    const { claims } = await (await issuerAt()).issue({ ...subject, roles });
    roles.push("admin");
    expect(claims.roles).toEqual(["user"]);
  });

  it("refuses to issue a token longer than verification accepts", async () => {
    const permissions = Array.from({ length: 400 }, (_, i) => `permission:${i}:${"x".repeat(20)}`);
    await expect((await issuerAt()).issue({ ...subject, permissions })).rejects.toThrow(RangeError);
  });
});

describe("verifyAccessToken", () => {
  let keys: KeySet;
  const verify = async (token: string, clock = fixed(NOW)) =>
    verifyAccessToken(token, (keys ??= await loadKeySet(config)), config, clock);

  it("returns exactly the claims the API contract defines, dropping any others", async () => {
    const { claims } = await verify(await mint({ extra: "dropped", nbf: T }));
    expect(Object.keys(claims).sort()).toEqual([
      "amr",
      "aud",
      "auth_time",
      "client_id",
      "email_verified",
      "exp",
      "iat",
      "iss",
      "jti",
      "permissions",
      "roles",
      "sid",
      "sub",
    ]);
  });

  it(
    "returns auth_time and amr as signed; a token that predates them is " +
      "never recent (auth_time 0) and proved a password",
    async () => {
      const signed = (await verify(await mint({ auth_time: T - 60, amr: ["hwk"] }))).claims;
      expect([signed.auth_time, signed.amr]).toEqual([T - 60, ["hwk"]]);
      const old = (await verify(await mint({ auth_time: undefined, amr: undefined }))).claims;
      expect([old.auth_time, old.amr]).toEqual([0, ["pwd"]]);
    },
  );

  it.each([
    ["a string auth_time", { auth_time: "1" }, /auth_time must be a whole number/],
    ["a fractional auth_time", { auth_time: 1.5 }, /auth_time must be a whole number/],
    ["an amr that is not an array of strings", { amr: "pwd" }, /amr must be an array of strings/],
    ["an amr holding a number", { amr: ["pwd", 1] }, /amr must be an array of strings/],
  ])("refuses %s", async (_label, claims, reason) => {
    expect(causeOf(await refusal(verify(await mint(claims))))).toMatch(reason);
  });

  it("returns email_verified as signed, and false for a token that predates the claim", async () => {
    expect((await verify(await mint({ email_verified: true }))).claims.email_verified).toBe(true);
    expect((await verify(await mint({ email_verified: false }))).claims.email_verified).toBe(false);
    expect((await verify(await mint({ email_verified: undefined }))).claims.email_verified).toBe(false);
  });

  it.each([
    ["a string", "true"],
    ["a number", 1],
    ["null", null],
  ])("refuses an email_verified that is %s", async (_label, email_verified) => {
    expect(causeOf(await refusal(verify(await mint({ email_verified }))))).toMatch(/email_verified must be a boolean/);
  });

  it("returns idp as signed, and no idp for a token without one", async () => {
    expect((await verify(await mint({ idp: "google" }))).claims.idp).toBe("google");
    expect((await verify(await mint())).claims).not.toHaveProperty("idp");
  });

  it.each([
    ["a number", 1],
    ["an array", ["google"]],
    ["an object", { id: "google" }],
    ["null", null],
    ["empty", ""],
  ])("forged idp: refuses an idp that is %s", async (_label, idp) => {
    expect(causeOf(await refusal(verify(await mint({ idp }))))).toMatch(/idp must be a non-empty string/);
  });

  it("returns the grants version from gv, and 0 for a token that predates it", async () => {
    expect((await verify(await mint({ gv: 7 }))).grantsVersion).toBe(7);
    expect((await verify(await mint({ gv: undefined }))).grantsVersion).toBe(0);
  });

  it.each([
    ["negative", -1],
    ["fractional", 1.5],
    ["a string", "2"],
  ])("refuses a gv that is %s", async (_label, gv) => {
    expect(causeOf(await refusal(verify(await mint({ gv }))))).toMatch(/gv must be a whole number/);
  });

  it("reads the time from the clock it is given, not the system clock", async () => {
    const token = await mint({ iat: T, exp: T + 60 }); // long expired by the system clock
    await expect(verify(token, at(30))).resolves.toMatchObject({ claims: { sub: subject.userId } });
    await refusal(verify(token, () => new Date()));
  });

  it("allows 30 s of clock skew past exp and not a second more", async () => {
    const token = await mint({ iat: T - 60, exp: T });
    await expect(verify(token, at(29))).resolves.toBeDefined();
    const error = await refusal(verify(token, at(30)));
    expect(causeOf(error)).toMatch(/"exp" claim timestamp check failed/);
  });

  it("refuses a token older than the configured lifetime whatever its exp says", async () => {
    const token = await mint({ iat: T - config.accessTokenTtl - 31, exp: T + 86400 });
    expect(causeOf(await refusal(verify(token)))).toMatch(/"iat" claim timestamp check failed/);
  });

  it("refuses a token issued in the future beyond the tolerance", async () => {
    await expect(verify(await mint({ iat: T + 30, exp: T + 90 }))).resolves.toBeDefined();
    await refusal(verify(await mint({ iat: T + 31, exp: T + 91 })));
  });

  it("refuses a token that is not yet valid (nbf)", async () => {
    await refusal(verify(await mint({ nbf: T + 31 })));
  });

  it("refuses a token over the size cap before parsing it", async () => {
    const oversized = "x".repeat(MAX_ACCESS_TOKEN_LENGTH + 1);
    expect(causeOf(await refusal(verify(oversized)))).toMatch(/longer than 8192 characters/);
    const signedButHuge = await mint({ padding: "A".repeat(MAX_ACCESS_TOKEN_LENGTH) });
    expect(causeOf(await refusal(verify(signedButHuge)))).toMatch(/longer than/);
  });

  it("refuses a kid that names no key of the service, saying so only in the cause", async () => {
    const error = await refusal(verify(await mint({}, { kid: "../../etc/passwd" })));
    expect(causeOf(error)).toMatch(/kid does not name a key of this service/);
    expect(error.message).toBe("Invalid access token");
  });

  it("refuses a value that is not a string", async () => {
    await refusal(verify(undefined as never));
    await refusal(verify({ toString: () => "a.b.c" } as never));
  });

  it.each(["exp", "iat", "sub", "sid", "jti", "iss", "aud"])("requires the %s claim", async (claim) => {
    await refusal(verify(await mint({ [claim]: undefined })));
  });

  it.each([
    ["roles is a string", { roles: "admin" }],
    ["roles holds a non-string", { roles: ["user", 1] }],
    ["permissions is missing", { permissions: undefined }],
    ["permissions is an object", { permissions: { "users:write": true } }],
    ["permissions holds null", { permissions: [null] }],
  ])("refuses a token whose %s", async (_label, overrides) => {
    const error = await refusal(verify(await mint(overrides)));
    expect(causeOf(error)).toMatch(/roles and permissions must be arrays of strings/);
  });

  it.each([
    ["sub is a number", { sub: 42 }],
    ["sid is empty", { sid: "" }],
    ["jti is an object", { jti: {} }],
    ["client_id is missing", { client_id: undefined }],
    ["aud is a list, even one holding ours", { aud: [TEST_SECRETS.JWT_AUDIENCE] }],
    ["iat is fractional", { iat: T + 0.5 }],
  ])("refuses a token whose %s", async (_label, overrides) => {
    await refusal(verify(await mint(overrides)));
  });

  describe("tokens verified before", () => {
    it("still refuses one that has since expired", async () => {
      const token = await mint({ iat: T - 60, exp: T });
      await expect(verify(token, at(0))).resolves.toBeDefined();
      await expect(verify(token, at(0))).resolves.toBeDefined();
      expect(causeOf(await refusal(verify(token, at(30))))).toMatch(/"exp" claim timestamp check failed/);
    });

    it("refuses a copy with one character of the signature changed", async () => {
      const token = await mint();
      await expect(verify(token)).resolves.toBeDefined();
      const last = token.at(-2) === "A" ? "B" : "A";
      await refusal(verify(token.slice(0, -2) + last + token.at(-1)));
    });

    it("hands out copies, so a caller cannot change what the next one gets", async () => {
      const token = await mint();
      const first = (await verify(token)).claims;
      first.permissions.push("users:write");
      first.roles.push("admin");
      const second = (await verify(token)).claims;
      expect(second.permissions).toEqual(["profile:read"]);
      expect(second.roles).toEqual(["user"]);
    });

    it("are not trusted under another issuer or audience", async () => {
      const token = await mint();
      await expect(verify(token)).resolves.toBeDefined();
      const other = { ...config, audience: "someone-else" };
      await refusal(verifyAccessToken(token, keys, other, fixed(NOW)));
    });
  });

  it("accepts typ in its media-type form (application/at+jwt) and refuses JWT", async () => {
    await expect(verify(await mint({}, { typ: "application/at+jwt" }))).resolves.toBeDefined();
    await refusal(verify(await mint({}, { typ: "JWT" })));
  });
});

describe("AccessTokens.authenticate", () => {
  const revocations = new RecordingRevocationList();
  const now = () => new Date();

  it("returns the claims of a valid token of a live session", async () => {
    const tokens = await accessTokens(now, revocations);
    const { accessToken, claims } = await tokens.issue({
      ...subject,
      userId: crypto.randomUUID(),
      sessionId: crypto.randomUUID(),
    });
    expect(await tokens.authenticate(accessToken)).toEqual(claims);
  });

  it("refuses a valid token whose session is in the revocation list", async () => {
    const tokens = await accessTokens(now, revocations);
    const sessionId = crypto.randomUUID();
    const { accessToken } = await tokens.issue({ ...subject, sessionId });
    await revocations.publish([{ kind: "session", subject: sessionId }]);
    const error = await refusal(tokens.authenticate(accessToken));
    expect(causeOf(error)).toMatch(/session has ended/);
  });

  it(
    "refuses a valid token carrying an older grants version than the user's " + "latest, and accepts the latest",
    async () => {
      const tokens = await accessTokens(now, revocations);
      const userId = crypto.randomUUID();
      const stale = await tokens.issue({ ...subject, userId, sessionId: crypto.randomUUID(), grantsVersion: 1 });
      await revocations.publish([{ kind: "user", subject: userId, version: 2 }]);
      expect(causeOf(await refusal(tokens.authenticate(stale.accessToken)))).toMatch(/roles changed/);
      const current = await tokens.issue({ ...subject, userId, sessionId: crypto.randomUUID(), grantsVersion: 2 });
      expect(await tokens.authenticate(current.accessToken)).toEqual(current.claims);
    },
  );

  it("does not consult the revocation list for a token that fails verification", async () => {
    let lookups = 0;
    const counting = {
      refuses: async () => {
        lookups++;
        return false;
      },
    };
    await refusal((await accessTokens(now, counting)).authenticate("a.b.c"));
    expect(lookups).toBe(0);
  });
});

describe("parseBearerToken", () => {
  it.each([
    ["Bearer abc.def.ghi", "abc.def.ghi"],
    ["bearer abc.def.ghi", "abc.def.ghi"],
    ["BEARER abc-_.~+/=", "abc-_.~+/="],
    ["Bearer sart_AbC", "sart_AbC"],
  ])("reads %j", (header, token) => {
    expect(parseBearerToken(header)).toBe(token);
  });

  it.each([
    undefined,
    null,
    "",
    "Bearer",
    "Bearer ",
    "Basic abc",
    "Bearer a b",
    "Bearer a,b",
    "Bearer =abc",
    "Bearerabc",
    "Token abc",
    "Bearer a\tb",
  ])("finds no Bearer credential in %j", (header) => {
    expect(parseBearerToken(header)).toBeUndefined();
  });
});
