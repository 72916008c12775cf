// A relying party of Better Auth's jwt plugin: GET /verify checks the Bearer
// JWT with jose against Better Auth's JWKS (fetched once per isolate over the
// AUTH service binding, GET /api/auth/jwks, and kept, as jose's remote JWK set
// would), with the issuer and audience Better Auth puts in (its baseURL).
// No revocation check: a jwt-plugin token is valid until it expires.
import { Hono } from "hono";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";

type Env = { AUTH: Fetcher; BETTER_AUTH_URL: string };

let keys: ReturnType<typeof createLocalJWKSet> | undefined;

async function keySet(env: Env) {
  if (!keys) {
    const res = await env.AUTH.fetch(`${env.BETTER_AUTH_URL}/api/auth/jwks`);
    if (!res.ok) throw new Error(`JWKS answered ${res.status}`);
    keys = createLocalJWKSet((await res.json()) as JSONWebKeySet);
  }
  return keys;
}

const app = new Hono<{ Bindings: Env }>();
app.get("/verify", async (c) => {
  const header = c.req.header("Authorization") ?? "";
  if (!header.startsWith("Bearer ")) return c.json({ error: "missing bearer token" }, 401);
  try {
    const { payload } = await jwtVerify(header.slice(7), await keySet(c.env), {
      issuer: c.env.BETTER_AUTH_URL,
      audience: c.env.BETTER_AUTH_URL,
    });
    return c.json({ sub: payload.sub, email: payload.email, exp: payload.exp });
  } catch {
    return c.json({ error: "invalid token" }, 401);
  }
});

export default app;
