// Better Auth 1.7 as a Cloudflare Worker, for `npm run bench:peers`.
// better-auth/minimal (no Kysely), the drizzle adapter over a
// @neondatabase/serverless Pool (WebSocket mode) reached through the same
// local WebSocket proxy as SecureAuth (PG_WS_PROXY, configured the way
// src/adapters/postgres/database.ts does), email and password with Better Auth's
// default hashing (scrypt N=16384, r=16, p=1 on workerd's node:crypto).
//
// One bundle, several variants, chosen by bindings:
//   COOKIE_CACHE = "true"   session.cookieCache on (signed session_data cookie)
//   JWT_PLUGIN   = "true"   the jwt plugin (EdDSA keys in the jwks table; GET /api/auth/token, /api/auth/jwks)
//   UPDATE_AGE   = seconds  session.updateAge (default 86400); "0" makes every get-session renew the session
//   CHEAP_HASH   = "true"   a trivial password hash: only for the harness's minting of session pools, never measured
//
// The Better Auth instance is built once per isolate (Better Auth's own
// per-request setup is not what we measure against); the Pool, an I/O object
// Workers forbid sharing across requests, is made per request and handed to
// the drizzle adapter through AsyncLocalStorage, then closed after the
// response with waitUntil, as SecureAuth does.
import { AsyncLocalStorage } from "node:async_hooks";
import { neonConfig, Pool } from "@neondatabase/serverless";
import { betterAuth } from "better-auth/minimal";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { jwt } from "better-auth/plugins/jwt";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import * as schema from "./schema";

type Env = {
  DATABASE_URL: string;
  PG_WS_PROXY?: string;
  BETTER_AUTH_SECRET: string;
  BETTER_AUTH_URL: string;
  COOKIE_CACHE?: string;
  JWT_PLUGIN?: string;
  UPDATE_AGE?: string;
  CHEAP_HASH?: string;
};

const currentDb = new AsyncLocalStorage<NeonDatabase<typeof schema>>();

/** The drizzle handle of the request in progress, as one object the adapter can keep. */
const db = new Proxy({} as NeonDatabase<typeof schema>, {
  get(_target, property) {
    const active = currentDb.getStore();
    if (!active) throw new Error("no database outside a request");
    const value = Reflect.get(active, property, active);
    return typeof value === "function" ? value.bind(active) : value;
  },
});

let configuredProxy: string | undefined;
function configureDriver(pgWsProxy: string | undefined): void {
  if (pgWsProxy === configuredProxy) return;
  configuredProxy = pgWsProxy;
  if (pgWsProxy) {
    const base = pgWsProxy.replace(/\/$/, "");
    neonConfig.wsProxy = (host, port) => `${base.replace(/^wss?:\/\//, "")}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = base.startsWith("wss://");
    neonConfig.pipelineConnect = false;
  }
}

function createAuth(env: Env) {
  const cheap = env.CHEAP_HASH === "true";
  return betterAuth({
    baseURL: env.BETTER_AUTH_URL,
    secret: env.BETTER_AUTH_SECRET,
    database: drizzleAdapter(db, { provider: "pg", schema }),
    emailAndPassword: {
      enabled: true,
      ...(cheap
        ? {
            password: {
              hash: async (password: string) => `cheap:${password}`,
              verify: async ({ hash, password }: { hash: string; password: string }) => hash === `cheap:${password}`,
            },
          }
        : {}),
    },
    session: {
      updateAge: env.UPDATE_AGE === undefined ? 86400 : Number(env.UPDATE_AGE),
      // maxAge well over the run, so no cached cookie expires mid-measurement.
      cookieCache: env.COOKIE_CACHE === "true" ? { enabled: true, maxAge: 3600 } : undefined,
    },
    plugins: env.JWT_PLUGIN === "true" ? [jwt()] : [],
    // The harness is one client IP hammering the API; SecureAuth's limits are raised for it too.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    trustedOrigins: [env.BETTER_AUTH_URL],
  });
}

let auth: ReturnType<typeof createAuth> | undefined;

/**
 * Harness only, on the cheap-hash twin (never measured): `count` sessions of
 * one account, each through Better Auth's own sign-in/email, and the jwt
 * plugin's token for each (GET /token), in one request so the pools are
 * minted without a connection per session. The cookies come back as the
 * Set-Cookie values a browser would store.
 */
async function mint(instance: ReturnType<typeof createAuth>, request: Request): Promise<Response> {
  const { email, password, count, origin } = (await request.json()) as {
    email: string;
    password: string;
    count: number;
    origin: string;
  };
  const sessions: { cookies: string[]; jwt: string | undefined }[] = [];
  for (let i = 0; i < count; i++) {
    const signedIn = (await instance.api.signInEmail({
      body: { email, password },
      headers: new Headers({ origin, "cf-connecting-ip": "127.0.0.1" }),
      asResponse: true,
    })) as Response;
    if (!signedIn.ok) return new Response(await signedIn.text(), { status: signedIn.status });
    const cookies = signedIn.headers.getSetCookie();
    const cookie = cookies.map((c) => c.split(";")[0]).join("; ");
    const token = (
      await (instance.api as unknown as { getToken(o: { headers: Headers }): Promise<{ token: string }> })
        .getToken({
          headers: new Headers({ cookie }),
        })
        .catch(() => undefined)
    )?.token;
    sessions.push({ cookies, jwt: token });
  }
  return Response.json(sessions);
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    configureDriver(env.PG_WS_PROXY);
    auth ??= createAuth(env);
    let pool: Pool | undefined;
    // Opened on first use, like SecureAuth's lazy database: a cookie-cache hit opens nothing.
    const lazy = new Proxy({} as NeonDatabase<typeof schema>, {
      get(_target, property) {
        if (!pool) {
          pool = new Pool({ connectionString: env.DATABASE_URL, max: 4, connectionTimeoutMillis: 5000 });
          pool.on("error", () => {});
          real = drizzle({ client: pool, schema });
        }
        const value = Reflect.get(real!, property, real);
        return typeof value === "function" ? value.bind(real) : value;
      },
    });
    let real: NeonDatabase<typeof schema> | undefined;
    try {
      if (env.CHEAP_HASH === "true" && new URL(request.url).pathname === "/bench/mint") {
        return await currentDb.run(lazy, () => mint(auth!, request));
      }
      return await currentDb.run(lazy, () => auth!.handler(request));
    } finally {
      const open = pool;
      if (open) ctx.waitUntil(open.end().catch(() => {}));
    }
  },
} satisfies ExportedHandler<Env>;
