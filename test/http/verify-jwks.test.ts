// GET /auth/verify with valid tokens (issued by the service, by its older
// key after a rotation, by a real login) and GET /.well-known/jwks.json,
// checked with a second JWT implementation (hono/jwt) that is not jose.
import { verifyWithJwks } from "hono/jwt";
import type { HonoJsonWebKey } from "hono/utils/jwt/jws";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { TEST_SECRETS, TEST_SIGNING_KEYS } from "../setup/secrets";
import { call, claimsOf, issueAccessToken, mintAccessToken, register, testService } from "../support/harness";

type TestJwk = (typeof TEST_SIGNING_KEYS)[number];
type Jwks = { keys: Record<string, unknown>[] };

const CURRENT = TEST_SIGNING_KEYS[0] as TestJwk;
const PREVIOUS = TEST_SIGNING_KEYS[1] as TestJwk;

/** An access token the service issues, for a user holding profile:read and profile:write. */
const issue = () => issueAccessToken({ roles: ["user"], permissions: ["profile:read", "profile:write"] });

async function servedJwks(): Promise<Jwks> {
  const res = await call("GET", "/.well-known/jwks.json");
  expect(res.status).toBe(200);
  return (await res.json()) as Jwks;
}

/** hono/jwt: its own base64url, JSON and WebCrypto code; it shares nothing with jose. */
async function verifyWithHono(token: string, jwks: Jwks) {
  return verifyWithJwks(token, {
    keys: jwks.keys as unknown as HonoJsonWebKey[],
    allowedAlgorithms: ["EdDSA"],
    verification: { iss: TEST_SECRETS.JWT_ISSUER, aud: TEST_SECRETS.JWT_AUDIENCE, typ: "at+jwt" },
  });
}

describe("GET /auth/verify with a valid access token", () => {
  it("answers 200 with exactly the token's claims", async () => {
    const { accessToken, claims } = await issue();
    const res = await call("GET", "/auth/verify", { token: accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ claims });
  });

  it("is never cached: Cache-Control no-store and Pragma no-cache, plus the security headers", async () => {
    const { accessToken } = await issue();
    const res = await call("GET", "/auth/verify", { token: accessToken });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("reads no database: it answers 200 even when the database is unreachable", async () => {
    const { accessToken, claims } = await issue();
    const res = await testService().closedDatabase().call("GET", "/auth/verify", { token: accessToken });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ claims });
  });

  it("still verifies a token signed by the second, older key in JWT_SIGNING_KEYS (rotation)", async () => {
    // Exactly the claims of the API contract (no grants version), so the answer must be the whole payload.
    const token = await mintAccessToken({ permissions: ["profile:read"], gv: undefined }, { key: PREVIOUS });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", kid: PREVIOUS.kid, typ: "at+jwt" });
    const claims = claimsOf(token);
    const res = await call("GET", "/auth/verify", { token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ claims });
  });

  it("signs new tokens with the first (newest) key", async () => {
    const { accessToken } = await issue();
    const header = decodeProtectedHeader(accessToken);
    expect(header).toEqual({ alg: "EdDSA", kid: CURRENT.kid, typ: "at+jwt" });
  });

  it("accepts the access token a real registration returns, with the user's id, session and permissions", async () => {
    const { user, tokens } = await register();
    const res = await call("GET", "/auth/verify", { token: tokens.accessToken });
    expect(res.status).toBe(200);
    const { claims } = (await res.json()) as { claims: Record<string, unknown> };
    expect(claims).toMatchObject({
      iss: TEST_SECRETS.JWT_ISSUER,
      aud: TEST_SECRETS.JWT_AUDIENCE,
      sub: user.id,
      sid: tokens.sessionId,
      client_id: "secureauth",
      roles: user.roles,
      permissions: user.permissions,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(tokens.expiresIn);
  });
});

describe("GET /.well-known/jwks.json", () => {
  it("publishes every signing key, newest first, with exactly the public members", async () => {
    const jwks = await servedJwks();
    expect(jwks).toEqual({
      keys: TEST_SIGNING_KEYS.map((key) => ({
        kty: "OKP",
        crv: "Ed25519",
        x: key.x,
        kid: key.kid,
        alg: "EdDSA",
        use: "sig",
      })),
    });
  });

  it("never publishes a private member", async () => {
    const res = await call("GET", "/.well-known/jwks.json");
    const text = await res.text();
    for (const key of TEST_SIGNING_KEYS) expect(text).not.toContain(key.d);
    for (const key of (JSON.parse(text) as Jwks).keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x"]);
      expect(key).not.toHaveProperty("d");
    }
  });

  it("is public and cacheable for five minutes, with the security headers", async () => {
    const res = await call("GET", "/.well-known/jwks.json");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("needs no Authorization header and ignores one", async () => {
    const res = await call("GET", "/.well-known/jwks.json", { headers: { Authorization: "Bearer junk" } });
    expect(res.status).toBe(200);
  });
});

describe("GET /.well-known/jwks.json from a browser on any origin", () => {
  // Outside ALLOWED_ORIGINS (test/setup/secrets.ts), which every other route keeps to.
  const FOREIGN_ORIGIN = "https://verifier.example.org";
  const ALLOWED_ORIGIN = "https://app.example.com";
  const varies = (res: Response) =>
    (res.headers.get("vary") ?? "")
      .toLowerCase()
      .split(",")
      .map((v) => v.trim());

  it.each([FOREIGN_ORIGIN, ALLOWED_ORIGIN, "null"])(
    "stops a browser on %s being refused the keys: Access-Control-Allow-Origin *, never credentials",
    async (origin) => {
      const res = await call("GET", "/.well-known/jwks.json", { headers: { Origin: origin } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
      // The same answer for every origin, so a shared cache may keep one copy.
      expect(varies(res)).not.toContain("origin");
      expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    },
  );

  it("answers the same without an Origin, and on HEAD", async () => {
    for (const method of ["GET", "HEAD"]) {
      const res = await call(method, "/.well-known/jwks.json");
      expect(res.status, method).toBe(200);
      expect(res.headers.get("access-control-allow-origin"), method).toBe("*");
      expect(res.headers.get("access-control-allow-credentials"), method).toBeNull();
    }
  });

  it("answers a preflight from a foreign origin with *, GET and no credentials", async () => {
    const res = await call("OPTIONS", "/.well-known/jwks.json", {
      headers: {
        Origin: FOREIGN_ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(
      res.headers
        .get("access-control-allow-methods")
        ?.split(",")
        .map((m) => m.trim()),
    ).toEqual(["GET", "HEAD"]);
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("access-control-max-age")).toBe("600");
  });

  it("keeps OPTIONS without a preflight answered by routing, with Allow", async () => {
    const res = await call("OPTIONS", "/.well-known/jwks.json");
    expect(res.status).toBe(204);
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });

  it(
    "stops the wildcard leaking to any other route: the same foreign origin " +
      "gets no CORS headers on /auth/verify, /health or a preflight to " +
      "/auth/login",
    async () => {
      const { accessToken } = await issue();
      const responses = [
        await call("GET", "/auth/verify", { token: accessToken, headers: { Origin: FOREIGN_ORIGIN } }),
        await call("GET", "/health", { headers: { Origin: FOREIGN_ORIGIN } }),
        await call("OPTIONS", "/auth/login", {
          headers: { Origin: FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST" },
        }),
      ];
      for (const res of responses) {
        expect(res.headers.get("access-control-allow-origin")).toBeNull();
        expect(res.headers.get("access-control-allow-credentials")).toBeNull();
        expect(varies(res)).toContain("origin");
      }
      // And an allowlisted origin still gets itself echoed, with credentials.
      const allowed = await call("GET", "/auth/verify", { token: accessToken, headers: { Origin: ALLOWED_ORIGIN } });
      expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
      expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    },
  );
});

describe("interoperability: a second JWT implementation (hono/jwt) verifies against the JWKS", () => {
  it("verifies a token the service issues, with the published key only", async () => {
    const { accessToken, claims } = await issue();
    // The signed payload: the claims of the API contract plus the private grants-version claim.
    expect(await verifyWithHono(accessToken, await servedJwks())).toEqual({ ...claims, gv: 0 });
  });

  it("verifies the access token of a real registration", async () => {
    const { user, tokens } = await register();
    const payload = await verifyWithHono(tokens.accessToken, await servedJwks());
    expect(payload).toMatchObject({ sub: user.id, sid: tokens.sessionId });
  });

  it("rejects a tampered token too, so the check is real", async () => {
    const { accessToken } = await issue();
    const [h, , s] = accessToken.split(".");
    const forged = `${h}.${btoa(JSON.stringify({ sub: "someone-else" })).replace(/=+$/, "")}.${s}`;
    await expect(verifyWithHono(forged, await servedJwks())).rejects.toThrow();
  });
});

describe("OpenAPI document", () => {
  it("describes GET /auth/verify as Bearer-protected with a 401 problem, and GET /.well-known/jwks.json", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
    };
    const verify = doc.paths["/auth/verify"]?.get;
    expect(verify?.security).toEqual([{ bearerAuth: [] }, { cookieAuth: [] }]);
    expect(Object.keys(verify?.responses ?? {})).toEqual(expect.arrayContaining(["200", "401"]));
    expect(doc.paths["/.well-known/jwks.json"]?.get?.responses).toHaveProperty("200");
  });
});
