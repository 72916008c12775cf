// Every known way of forging or bending an access token, each sent to the
// protected GET /auth/verify through the Worker's fetch, and to a tiny app
// behind authenticate() whose handler must never run. Each refusal must be a
// bare 401 invalid_token problem (no claims, no reason) with the RFC 6750
// WWW-Authenticate header. Tokens that jose would sign come from the
// harness's mintAccessToken; forgeries (alg none, HS256 over a public key,
// tampered or non-object payloads, unknown crit) are signed by hand below,
// over the harness's claims, with the test keys of test/setup/secrets.ts or
// with an attacker's own keys.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { Hono } from "hono";
import { base64url } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Clock } from "../../src/core/clock";
import type { AppEnv } from "../../src/http/context";
import { authenticate } from "../../src/http/authenticate";
import { onError } from "../../src/http/errors";
import { TEST_SECRETS, TEST_SIGNING_KEYS } from "../setup/secrets";
import {
  accessTokenClaims,
  call,
  fakeClock,
  mintAccessToken,
  problemOf,
  randomRefreshToken,
  revocations,
  testService,
} from "../support/harness";

type Json = Record<string, unknown>;
type TestJwk = (typeof TEST_SIGNING_KEYS)[number];

const ACCESS_TOKEN_TTL = Number(TEST_SECRETS.ACCESS_TOKEN_TTL);
const CURRENT = TEST_SIGNING_KEYS[0] as TestJwk;
const PREVIOUS = TEST_SIGNING_KEYS[1] as TestJwk;
const encoder = new TextEncoder();

const INVALID_TOKEN_PROBLEM = {
  type: "https://secureauth.dev/errors/invalid_token",
  title: "Invalid access token",
  status: 401,
  code: "invalid_token",
};

// ---- minting -------------------------------------------------------------

const segment = (value: unknown) => base64url.encode(typeof value === "string" ? value : JSON.stringify(value));

function header(overrides: Json = {}): Json {
  return { alg: "EdDSA", kid: CURRENT.kid, typ: "at+jwt", ...overrides };
}

/** Valid claims for the test issuer and audience (the harness's); an override of undefined removes a claim. */
const claims = (overrides: Json = {}): Json => accessTokenClaims(overrides);

async function importPrivate(jwk: TestJwk): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d },
    { name: "Ed25519" },
    false,
    ["sign"],
  );
}

/** Signs whatever header and payload it is given, exactly as given. */
async function signEdDSA(head: Json, payload: unknown, key: CryptoKey): Promise<string> {
  const input = `${segment(head)}.${segment(payload)}`;
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, encoder.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

/** HMAC-SHA256 by hand (WebCrypto refuses an empty HMAC key). */
function signHS256(head: Json, payload: unknown, secret: Uint8Array | string): string {
  const input = `${segment(head)}.${segment(payload)}`;
  const key = typeof secret === "string" ? encoder.encode(secret) : secret;
  return `${input}.${base64url.encode(hmac(sha256, key, encoder.encode(input)))}`;
}

/** A token signed with the service's current key: valid unless the overrides or the header make it not. */
const realToken = (overrides: Json = {}, head: Json = header()) => mintAccessToken(overrides, { header: head });

async function attackerEd25519(): Promise<{ privateKey: CryptoKey; publicJwk: JsonWebKey & { kid: string } }> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const exported = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  return {
    privateKey: pair.privateKey,
    publicJwk: { kty: "OKP", crv: "Ed25519", x: exported.x, kid: "attacker-key", alg: "EdDSA", use: "sig" },
  };
}

// ---- asserting ------------------------------------------------------------

/**
 * A tiny app with one protected route behind authenticate(), given the
 * service's access tokens (its keys, config, revocation list and this
 * clock); `ran` tells whether its handler ran.
 */
async function probeApp(clock?: Clock) {
  const { tokens } = await testService(clock ? { clock } : {}).runtime();
  const state = { ran: false };
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.use(async (c, next) => {
    c.set("tokens", tokens);
    await next();
  });
  app.get("/probe", authenticate(), (c) => {
    state.ran = true;
    return c.json({ claims: c.var.auth });
  });
  return { app, state };
}

/** GET /auth/verify through the Worker, with the system clock or this one. */
const verify = (options: { headers?: Record<string, string>; token?: string }, clock?: Clock) =>
  (clock ? testService({ clock }).call : call)("GET", "/auth/verify", options);

async function expectRefusedWith(
  headers: Record<string, string>,
  bearerError: "invalid_token" | "invalid_request",
  clock?: Clock,
): Promise<void> {
  const res = await verify({ headers }, clock);
  expect(res.status).toBe(401);
  expect(res.headers.get("WWW-Authenticate")).toBe(`Bearer error="${bearerError}"`);
  expect(await problemOf(res)).toEqual(INVALID_TOKEN_PROBLEM); // exactly: no claims, no reason

  const probe = await probeApp(clock);
  const probeRes = await probe.app.request("/probe", { headers });
  expect(probeRes.status).toBe(401);
  expect(probeRes.headers.get("WWW-Authenticate")).toBe(`Bearer error="${bearerError}"`);
  expect(probe.state.ran).toBe(false);
}

const expectRefused = (token: string, clock?: Clock) =>
  expectRefusedWith({ Authorization: `Bearer ${token}` }, "invalid_token", clock);

async function expectAccepted(token: string, clock?: Clock): Promise<Json> {
  const res = await verify({ token }, clock);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { claims: Json }).claims;
}

// ---- the attacks ----------------------------------------------------------

describe("control: a token minted by hand with the service's current key", () => {
  it("is accepted, so every refusal below is down to the one thing each attack changes", async () => {
    const payload = claims();
    const got = await expectAccepted(await signEdDSA(header(), payload, await importPrivate(CURRENT)));
    // Exactly the signed claims, less the private grants version, which is never handed out.
    const { gv: _gv, ...published } = payload;
    expect(got).toEqual(published);
  });
});

describe("alg none (unsigned token)", () => {
  it.each(["none", "None", "NONE", "nOnE"])("refuses alg %s with an empty signature", async (alg) => {
    await expectRefused(`${segment(header({ alg }))}.${segment(claims())}.`);
  });

  it.each(["none", "None", "NONE", "nOnE"])("refuses alg %s carrying a real token's signature", async (alg) => {
    const signature = (await realToken()).split(".")[2];
    await expectRefused(`${segment(header({ alg }))}.${segment(claims())}.${signature}`);
  });
});

describe("stripped and truncated signatures", () => {
  it("refuses a token with its signature stripped (trailing dot kept)", async () => {
    const [h, p] = (await realToken()).split(".");
    await expectRefused(`${h}.${p}.`);
  });

  it("refuses a token with its signature and its dot stripped", async () => {
    const [h, p] = (await realToken()).split(".");
    await expectRefused(`${h}.${p}`);
  });

  it.each([1, 4, 43])("refuses a token whose signature lost its last %i characters", async (cut) => {
    const token = await realToken();
    await expectRefused(token.slice(0, -cut));
  });

  it("refuses a token carrying another valid token's signature", async () => {
    const [h, p] = (await realToken()).split(".");
    const otherSignature = (await realToken()).split(".")[2];
    await expectRefused(`${h}.${p}.${otherSignature}`);
  });
});

describe("tampered claims", () => {
  it("refuses a valid token whose roles and permissions were changed to admin", async () => {
    const payload = claims();
    const [h, , s] = (await signEdDSA(header(), payload, await importPrivate(CURRENT))).split(".");
    const escalated = {
      ...payload,
      roles: ["admin"],
      permissions: ["users:read", "users:write", "roles:assign", "audit:read"],
    };
    await expectRefused(`${h}.${segment(escalated)}.${s}`);
  });

  it("refuses a valid token whose sub was changed to another user", async () => {
    const payload = claims();
    const [h, , s] = (await signEdDSA(header(), payload, await importPrivate(CURRENT))).split(".");
    await expectRefused(`${h}.${segment({ ...payload, sub: crypto.randomUUID() })}.${s}`);
  });

  it("refuses a valid token whose exp was pushed a year ahead", async () => {
    const payload = claims();
    const [h, , s] = (await signEdDSA(header(), payload, await importPrivate(CURRENT))).split(".");
    await expectRefused(`${h}.${segment({ ...payload, exp: (payload.exp as number) + 365 * 86400 })}.${s}`);
  });

  it("refuses a valid token whose header was swapped for one naming the other key", async () => {
    const [, p, s] = (await realToken()).split(".");
    await expectRefused(`${segment(header({ kid: PREVIOUS.kid }))}.${p}.${s}`);
  });
});

describe("algorithm confusion: HS256 signed with the public key", () => {
  it("refuses HS256 keyed with the raw public key bytes (x)", async () => {
    await expectRefused(signHS256(header({ alg: "HS256" }), claims(), base64url.decode(CURRENT.x)));
  });

  it("refuses HS256 keyed with the base64url text of x", async () => {
    await expectRefused(signHS256(header({ alg: "HS256" }), claims(), CURRENT.x));
  });

  it("refuses HS256 keyed with the JWK JSON exactly as /.well-known/jwks.json serves it", async () => {
    const jwks = (await (await call("GET", "/.well-known/jwks.json")).json()) as { keys: Json[] };
    const served = jwks.keys.find((key) => key.kid === CURRENT.kid);
    expect(served).toBeDefined();
    await expectRefused(signHS256(header({ alg: "HS256" }), claims(), JSON.stringify(served)));
    await expectRefused(
      signHS256(header({ alg: "HS256" }), claims(), JSON.stringify({ crv: "Ed25519", kty: "OKP", x: CURRENT.x })),
    );
  });

  it("refuses HS256 keyed with the PEM SPKI of the public key", async () => {
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", x: CURRENT.x },
      { name: "Ed25519" },
      true,
      ["verify"],
    );
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", publicKey)) as ArrayBuffer);
    const body = btoa(String.fromCharCode(...spki)).replace(/.{1,64}/g, "$&\n");
    const pem = `-----BEGIN PUBLIC KEY-----\n${body}-----END PUBLIC KEY-----`;
    await expectRefused(signHS256(header({ alg: "HS256" }), claims(), pem));
    await expectRefused(signHS256(header({ alg: "HS256" }), claims(), `${pem}\n`));
  });
});

describe("HS256 with an empty or common secret", () => {
  it.each([
    ["an empty secret", ""],
    ["the secret 'secret'", "secret"],
    ["jwt.io's default secret", "your-256-bit-secret"],
    ["the service's own REFRESH_TOKEN_SECRET", TEST_SECRETS.REFRESH_TOKEN_SECRET],
  ])("refuses HS256 signed with %s", async (_label, secret) => {
    await expectRefused(signHS256(header({ alg: "HS256" }), claims(), secret));
    await expectRefused(signHS256(header({ alg: "HS256", kid: undefined }), claims(), secret));
  });
});

describe("embedded jwk header (attacker's own Ed25519 key)", () => {
  it("refuses a token signed by the key it carries in its jwk header, with no kid", async () => {
    const attacker = await attackerEd25519();
    await expectRefused(
      await signEdDSA(header({ kid: undefined, jwk: attacker.publicJwk }), claims(), attacker.privateKey),
    );
  });

  it("refuses it with the attacker's kid", async () => {
    const attacker = await attackerEd25519();
    await expectRefused(
      await signEdDSA(header({ kid: attacker.publicJwk.kid, jwk: attacker.publicJwk }), claims(), attacker.privateKey),
    );
  });

  it("refuses it while claiming the service's real kid", async () => {
    const attacker = await attackerEd25519();
    await expectRefused(
      await signEdDSA(
        header({ kid: CURRENT.kid, jwk: { ...attacker.publicJwk, kid: CURRENT.kid } }),
        claims(),
        attacker.privateKey,
      ),
    );
  });
});

describe("jku and x5u headers pointing at an attacker's key server", () => {
  // The attacker's JWKS is served at http://127.0.0.1:<port> by a fetch stub
  // in this isolate (the Worker under test runs in the same isolate, so its
  // global fetch is this one too). Were the verifier to follow the header it
  // would get the attacker's key and accept the token; it must neither accept
  // nor make any outbound request at all.
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function withAttackerKeyServer(
    run: (attacker: Awaited<ReturnType<typeof attackerEd25519>>, url: string) => Promise<void>,
  ) {
    const attacker = await attackerEd25519();
    const fetchSpy = vi
      .spyOn(globalThis, "fetch")
      .mockImplementation(async () => Response.json({ keys: [attacker.publicJwk] }));
    await run(attacker, "http://127.0.0.1:8965/.well-known/jwks.json");
    expect(fetchSpy).not.toHaveBeenCalled();
  }

  it("refuses a token whose jku names the attacker's JWKS, with the attacker's kid, and fetches nothing", async () => {
    await withAttackerKeyServer(async (attacker, url) => {
      await expectRefused(
        await signEdDSA(header({ kid: attacker.publicJwk.kid, jku: url }), claims(), attacker.privateKey),
      );
    });
  });

  it(
    "refuses a token whose jku names the attacker's JWKS while claiming the " + "real kid, and fetches nothing",
    async () => {
      await withAttackerKeyServer(async (attacker, url) => {
        await expectRefused(await signEdDSA(header({ kid: CURRENT.kid, jku: url }), claims(), attacker.privateKey));
      });
    },
  );

  it("refuses a token whose x5u names the attacker's server, and fetches nothing", async () => {
    await withAttackerKeyServer(async (attacker, url) => {
      await expectRefused(
        await signEdDSA(header({ kid: attacker.publicJwk.kid, x5u: url }), claims(), attacker.privateKey),
      );
    });
  });
});

describe("kid injection", () => {
  // Signed with the service's real current key: only the kid is wrong, so a
  // refusal proves the kid is matched exactly and used for nothing else.
  it.each([
    ["path traversal", "../../etc/passwd"],
    ["path traversal to /dev/null", "../../../../dev/null"],
    ["SQL text", "' OR 1=1 --"],
    ["SQL text with a union", `${CURRENT.kid}' UNION SELECT 'x`],
    ["a prototype property name", "__proto__"],
    ["an empty string", ""],
  ])("refuses a kid that is %s", async (_label, kid) => {
    await expectRefused(await realToken({}, header({ kid })));
  });

  it("refuses a kid that is not a string", async () => {
    await expectRefused(await realToken({}, header({ kid: 0 })));
    await expectRefused(await realToken({}, header({ kid: [CURRENT.kid] })));
  });

  it("refuses a token with no kid at all, even one signed by the real key", async () => {
    await expectRefused(await realToken({}, header({ kid: undefined })));
  });
});

describe("psychic signature (ES256 with an all-zero signature)", () => {
  it("refuses an ES256 token whose signature is r = s = 0", async () => {
    const zero = base64url.encode(new Uint8Array(64));
    await expectRefused(`${segment(header({ alg: "ES256" }))}.${segment(claims())}.${zero}`);
  });

  it("refuses an ES256 token validly signed by an attacker's P-256 key", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const input = `${segment(header({ alg: "ES256" }))}.${segment(claims())}`;
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      encoder.encode(input),
    );
    await expectRefused(`${input}.${base64url.encode(new Uint8Array(signature))}`);
  });
});

describe("a foreign Ed25519 key claiming a real kid", () => {
  it("refuses a token signed by an attacker's key under the current key's kid", async () => {
    const attacker = await attackerEd25519();
    await expectRefused(await signEdDSA(header({ kid: CURRENT.kid }), claims(), attacker.privateKey));
  });

  it("refuses a token signed by an attacker's key under the older key's kid", async () => {
    const attacker = await attackerEd25519();
    await expectRefused(await signEdDSA(header({ kid: PREVIOUS.kid }), claims(), attacker.privateKey));
  });

  it("refuses a token signed by the older key under the current key's kid", async () => {
    await expectRefused(await signEdDSA(header({ kid: CURRENT.kid }), claims(), await importPrivate(PREVIOUS)));
  });
});

describe("wrong issuer, audience or typ (signed with the real key)", () => {
  it.each([
    ["another issuer", "https://evil.example"],
    ["the production issuer (a token from another deployment)", "https://auth.secureauth.dev"],
    ["an issuer differing only by a trailing slash", `${TEST_SECRETS.JWT_ISSUER}/`],
    ["an empty issuer", ""],
  ])("refuses iss: %s", async (_label, iss) => {
    await expectRefused(await realToken({ iss }));
  });

  it("refuses a token with no iss", async () => {
    await expectRefused(await realToken({ iss: undefined }));
  });

  it.each([
    ["another service's audience", "billing-service"],
    ["the production audience", "secureauth"],
    ["an audience list without ours", ["billing-service"]],
  ])("refuses aud: %s", async (_label, aud) => {
    await expectRefused(await realToken({ aud }));
  });

  it("refuses a token with no aud", async () => {
    await expectRefused(await realToken({ aud: undefined }));
  });

  it.each([["JWT"], ["jwt"], ["application/jwt"], ["at+jwt+evil"], ["refresh+jwt"]])("refuses typ %s", async (typ) => {
    await expectRefused(await realToken({}, header({ typ })));
  });

  it("refuses a token with no typ", async () => {
    await expectRefused(await realToken({}, header({ typ: undefined })));
  });
});

describe("missing required claims (signed with the real key)", () => {
  it.each(["exp", "iat", "sub", "sid", "jti"])("refuses a token without %s", async (claim) => {
    await expectRefused(await realToken({ [claim]: undefined }));
  });

  it("refuses a token whose roles were replaced by a string", async () => {
    await expectRefused(await realToken({ roles: "admin" }));
  });
});

describe("expiry, with a fixed clock and the 30 s tolerance", () => {
  const now = new Date("2026-11-26T12:00:00.000Z");
  const t = Math.floor(now.getTime() / 1000);
  const ttl = ACCESS_TOKEN_TTL;

  it("refuses a token that expired 31 s ago (beyond the tolerance)", async () => {
    const { clock } = fakeClock(now);
    await expectRefused(await realToken({ iat: t - ttl - 31, exp: t - 31 }), clock);
  });

  it("accepts a token that expired 29 s ago (within the tolerance)", async () => {
    const { clock } = fakeClock(now);
    await expectAccepted(await realToken({ iat: t - ttl - 29, exp: t - 29 }), clock);
  });

  it("refuses the same token once the clock moves past the tolerance", async () => {
    const moving = fakeClock(now);
    const token = await realToken({ iat: t - ttl, exp: t });
    await expectAccepted(token, moving.clock);
    moving.advance(31);
    await expectRefused(token, moving.clock);
  });

  it("refuses a token issued more than the tolerance in the future", async () => {
    const { clock } = fakeClock(now);
    await expectRefused(await realToken({ iat: t + 60, exp: t + 60 + ttl }), clock);
  });
});

describe("malformed tokens", () => {
  it.each([
    ["one part", "eyJhbGciOiJFZERTQSJ9"],
    ["two parts", "eyJhbGciOiJFZERTQSJ9.e30"],
    ["four parts", "a.b.c.d"],
    ["five empty parts", "...."],
    ["three empty parts", ".."],
  ])("refuses a token of %s", async (_label, token) => {
    await expectRefused(token);
  });

  it("refuses a token whose header segment is not valid base64url", async () => {
    const [h, p, s] = (await realToken()).split(".");
    await expectRefused(`${h}A.${p}.${s}`); // a length no base64 string has
    await expectRefused(`${h!.slice(0, 4)}+/${h!.slice(4)}.${p}.${s}`); // base64, not base64url
  });

  it("refuses a token whose payload segment is not valid base64url", async () => {
    const [h, p, s] = (await realToken()).split(".");
    await expectRefused(`${h}.${p}A.${s}`);
  });

  it.each([
    ["not JSON", "not json"],
    ["a JSON array", "[]"],
    ["a JSON string", '"EdDSA"'],
    ["JSON null", "null"],
  ])("refuses a token whose header is %s", async (_label, text) => {
    const rest = (await realToken()).split(".").slice(1).join(".");
    await expectRefused(`${base64url.encode(text)}.${rest}`);
  });

  it("refuses a validly signed token whose payload is not a JSON object", async () => {
    const key = await importPrivate(CURRENT);
    await expectRefused(await signEdDSA(header(), "not json", key));
    await expectRefused(await signEdDSA(header(), [claims()], key));
  });

  it("refuses a token that requires an unknown critical header extension", async () => {
    // Signed by hand: jose will not sign an unknown critical extension.
    await expectRefused(
      await signEdDSA(header({ crit: ["exp-ext"], "exp-ext": true }), claims(), await importPrivate(CURRENT)),
    );
  });

  it("refuses a token with an unencoded (b64: false) payload", async () => {
    // Signed by hand: jose will not sign a JWT with b64 false.
    await expectRefused(await signEdDSA(header({ crit: ["b64"], b64: false }), claims(), await importPrivate(CURRENT)));
  });
});

describe("oversized tokens", () => {
  it("refuses a 100 KB token, even one validly signed by the real key", async () => {
    const token = await realToken({ padding: "A".repeat(100 * 1024) });
    expect(token.length).toBeGreaterThan(100 * 1024);
    await expectRefused(token);
  });
});

describe("a refresh token sent as a Bearer access token", () => {
  it("refuses a sart_ refresh token, in the tagged shape and in the old untagged one", async () => {
    await expectRefused(randomRefreshToken("tagged"));
    await expectRefused(randomRefreshToken("legacy"));
  });
});

describe("a revoked session", () => {
  it("refuses a valid token once its session has ended at the edge, and only that session's tokens", async () => {
    const sid = crypto.randomUUID();
    const token = await realToken({ sid });
    const otherSession = await realToken();
    await expectAccepted(token);

    await revocations().publish([{ kind: "session", subject: sid }]);

    await expectRefused(token);
    await expectRefused(await realToken({ sid })); // a fresh token of the same session too
    await expectAccepted(otherSession);
  });
});

describe("absent or malformed Authorization header (invalid_request)", () => {
  it("answers invalid_request when there is no Authorization header", async () => {
    await expectRefusedWith({}, "invalid_request");
  });

  it.each([
    ["empty", ""],
    ["Basic credentials", "Basic dXNlcjpwYXNzd29yZA=="],
    ["the Bearer scheme with no token", "Bearer"],
    ["two tokens", "Bearer abc def"],
    ["characters a b64token cannot hold", "Bearer %%%.%%%.%%%"],
    ["another scheme name", "Token abc.def.ghi"],
    ["the scheme glued to the token", "Bearerabc.def.ghi"],
  ])("answers invalid_request for a header that is %s", async (_label, authorization) => {
    await expectRefusedWith({ Authorization: authorization }, "invalid_request");
  });

  it("answers invalid_request for a valid token under the Basic scheme", async () => {
    await expectRefusedWith({ Authorization: `Basic ${await realToken()}` }, "invalid_request");
  });

  it("ignores an access_token query parameter (RFC 6750 2.3 is not supported)", async () => {
    const res = await call("GET", `/auth/verify?access_token=${await realToken()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_request"');
    expect(await problemOf(res)).toEqual(INVALID_TOKEN_PROBLEM);
  });

  it("accepts the scheme name in any case, as RFC 9110 requires", async () => {
    const token = await realToken();
    for (const scheme of ["bearer", "BEARER"]) {
      const res = await call("GET", "/auth/verify", { headers: { Authorization: `${scheme} ${token}` } });
      expect(res.status).toBe(200);
    }
  });
});
