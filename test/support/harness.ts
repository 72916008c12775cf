// The one harness for HTTP and store tests (after Better Auth's
// test-utils/test-instance.ts): `testService()` is the real Worker against
// the real Postgres; `testService({ env, clock })` is the same Worker built
// with an injected clock or a changed env. Requests go through the Worker's
// fetch with a real ExecutionContext whose waitUntil work is awaited before
// the response is handed back. No test wires its own context, env or token
// minting.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { decodeJwt, importJWK, SignJWT } from "jose";
import type { components } from "../../packages/client/src/api";
import { createApp } from "../../src/http/app";
import type { Clock } from "../../src/core/clock";
import { compose, revocationsOf, type Runtime } from "../../src/composition";
import { loadConfig, type Env } from "../../src/config";
import worker from "../../src/index";
import { lazyDatabase, loadDatabaseDriver, storesFor } from "../../src/stores";

// The stores open their pool synchronously once the driver is loaded (the Worker loads it on an entry point's first
// use; tests reach the stores directly).
await loadDatabaseDriver();
import { AuthService } from "../../src/rpc";
import type { Stores } from "../../src/stores";
import { type FeedRevocationList, revocationFeedFor } from "../../src/adapters/revocation-feed";
import type { AccessTokenSubject } from "../../src/features/tokens/types";
import { TEST_SECRETS, TEST_SIGNING_KEYS } from "../setup/secrets";
import { auditRows, query, resetStatementStats, testEnv, withClient } from "./db";

export const BASE = "https://auth.test";
export const STRONG_PASSWORD = "correct horse battery staple 42";

export type CallOptions = {
  /** JSON-encoded with Content-Type application/json. */
  body?: unknown;
  /** Sent as is; no Content-Type added. */
  rawBody?: BodyInit;
  token?: string;
  headers?: Record<string, string>;
};

/** The API's shapes, as the client package's types generated from /openapi.json have them. */
export type ApiUser = components["schemas"]["User"];
/** A bearer-mode pair: the refresh token is in the body (only cookie mode leaves it out). */
export type TokenPair = components["schemas"]["TokenPair"] & { refreshToken: string };
export type Problem = components["schemas"]["Problem"];

export type SignedInUser = { email: string; password: string; user: ApiUser; tokens: TokenPair };

export type TestServiceOptions = {
  /** Bindings over the test env (a closed database, a broken key, another TTL). */
  env?: Record<string, unknown>;
  /** The clock every time-based rule reads. */
  clock?: Clock;
};

export type TestService = ReturnType<typeof testService>;

export function buildRequest(method: string, path: string, options: CallOptions = {}): Request {
  const headers = new Headers(options.headers);
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  if (options.token !== undefined) headers.set("Authorization", `Bearer ${options.token}`);
  return new Request(BASE + path, { method, headers, body });
}

export function testService(options: TestServiceOptions = {}) {
  const custom = options.env !== undefined || options.clock !== undefined;
  const env = (options.env ? { ...testEnv, ...options.env } : testEnv) as unknown as Env;
  const app = custom ? createApp({ clock: options.clock }) : undefined;

  /** A request through the Worker's fetch; waitUntil work is done when it resolves. */
  async function fetch(request: Request): Promise<Response> {
    if (!app) return exports.default.fetch(request);
    const ctx = createExecutionContext();
    const res = await app.fetch(request, env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  const call = (method: string, path: string, callOptions: CallOptions = {}) =>
    fetch(buildRequest(method, path, callOptions));

  async function register(account: { email?: string; password?: string; name?: string } = {}): Promise<SignedInUser> {
    const email = account.email ?? uniqueEmail();
    const password = account.password ?? STRONG_PASSWORD;
    const res = await call("POST", "/auth/register", { body: { email, password, name: account.name ?? "Test User" } });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
    return { email, password, ...((await res.json()) as { user: ApiUser; tokens: TokenPair }) };
  }

  async function login(
    email: string,
    password: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ user: ApiUser; tokens: TokenPair }> {
    const res = await call("POST", "/auth/login", { body: { email, password, ...extra } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    return (await res.json()) as { user: ApiUser; tokens: TokenPair };
  }

  /**
   * A new account, signed in. With `roles`, they are granted in the database
   * and the user signs in again, so the token carries them.
   */
  async function signIn(
    account: { email?: string; password?: string; name?: string; roles?: string[] } = {},
  ): Promise<SignedInUser> {
    const registered = await register(account);
    if (!account.roles) return registered;
    for (const role of account.roles) {
      await query("insert into user_roles (user_id, role_name) values ($1, $2) on conflict do nothing", [
        registered.user.id,
        role,
      ]);
    }
    return { ...registered, ...(await login(registered.email, registered.password)) };
  }

  /** POST /auth/refresh with this refresh token. */
  const refresh = (refreshToken: string, callOptions: Omit<CallOptions, "body"> = {}) =>
    call("POST", "/auth/refresh", { ...callOptions, body: { refreshToken } });

  /** POST /auth/refresh that must succeed: the new pair. */
  async function refreshOk(refreshToken: string, callOptions: Omit<CallOptions, "body"> = {}): Promise<TokenPair> {
    const res = await refresh(refreshToken, callOptions);
    if (res.status !== 200) throw new Error(`refresh failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { tokens: TokenPair }).tokens;
  }

  /** Runs the scheduled handler as the Cron Trigger would, and waits for its waitUntil work. */
  async function scheduled(at: Date): Promise<void> {
    const ctx = createExecutionContext();
    try {
      await worker.scheduled!(createScheduledController({ scheduledTime: at.getTime(), cron: "17 3 * * *" }), env, ctx);
    } finally {
      // A failed run still closes its database: wait for that too.
      await waitOnExecutionContext(ctx);
    }
  }

  /** The composition root's runtime for this env and clock: its config, access tokens and services. */
  function runtime(): Promise<Runtime> {
    return compose(env, { clock: options.clock });
  }

  /** An access token the service itself issues (its signing key, TTL and clock) for this subject. */
  async function issueAccessToken(subject: Partial<AccessTokenSubject> = {}) {
    const { tokens, close } = await runtime();
    try {
      return await tokens.issue({
        userId: crypto.randomUUID(),
        sessionId: crypto.randomUUID(),
        roles: ["user"],
        permissions: ["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"],
        grantsVersion: 0,
        emailVerified: false,
        authTime: options.clock?.() ?? new Date(),
        amr: ["pwd"],
        ...subject,
      });
    } finally {
      await close();
    }
  }

  /** This isolate's copy of the revocation feed, the one the service's own requests publish to and verify with. */
  function revocations(): FeedRevocationList {
    return revocationsOf(env);
  }

  /**
   * A copy of the revocation feed as another isolate (another location) builds it: its own memory over the same
   * Durable Object, the same location cache and the same Postgres log.
   */
  function otherIsolate(): FeedRevocationList {
    return revocationFeedFor(env, loadConfig(env));
  }

  /** The real Postgres stores on a pool of their own; close() ends the pool. */
  function stores(): { stores: Stores; close(): Promise<void> } {
    const database = lazyDatabase(loadConfig(env));
    return { stores: storesFor(database.get()), close: () => database.close() };
  }

  /**
   * The AuthService RPC entrypoint built over this env (a broken key, a KV
   * namespace that fails), called directly rather than through a binding.
   */
  function rpc(): AuthService {
    return new AuthService(createExecutionContext(), env);
  }

  return {
    env,
    fetch,
    call,
    register,
    login,
    signIn,
    refresh,
    refreshOk,
    scheduled,
    runtime,
    issueAccessToken,
    revocations,
    otherIsolate,
    stores,
    rpc,
    /** The same service with its database unreachable (an allowlisted port where nothing listens). */
    closedDatabase: () =>
      testService({ ...options, env: { ...options.env, DATABASE_URL: testEnv.CLOSED_DATABASE_URL } }),
    db: {
      query,
      withClient,
      auditRows,
      resetStatementStats,
      /**
       * Marks the user's address verified, as following the mailed link does (v3: factors and email changes need it).
       */
      markEmailVerified: async (userId: string) => {
        await query("update users set email_verified_at = now() where id = $1", [userId]);
      },
    },
  };
}

/** The default service: the real Worker as deployed, with the system clock. */
const service = testService();
export const { env, call, register, login, signIn, refresh, refreshOk, scheduled, issueAccessToken, revocations, db } =
  service;

/** The Worker's AuthService RPC entrypoint, as another Worker's service binding reaches it. */
export const authService = exports.AuthService;

/**
 * An access token signed with the test signing key (or `key`), with the
 * claims a real one has unless overridden; `undefined` removes a claim.
 */
export async function mintAccessToken(
  overrides: Record<string, unknown> = {},
  options: { header?: Record<string, unknown>; key?: (typeof TEST_SIGNING_KEYS)[number]; now?: Date } = {},
): Promise<string> {
  const jwk = options.key ?? TEST_SIGNING_KEYS[0]!;
  const key = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d }, "EdDSA");
  return new SignJWT(accessTokenClaims(overrides, options))
    .setProtectedHeader({ alg: "EdDSA", kid: jwk.kid, typ: "at+jwt", ...options.header })
    .sign(key);
}

/**
 * The payload mintAccessToken signs: the claims a real access token has
 * unless overridden; `undefined` removes a claim. For tests that sign by
 * hand what jose would refuse to sign.
 */
export function accessTokenClaims(
  overrides: Record<string, unknown> = {},
  options: { now?: Date } = {},
): Record<string, unknown> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims: Record<string, unknown> = {
    iss: TEST_SECRETS.JWT_ISSUER,
    aud: TEST_SECRETS.JWT_AUDIENCE,
    sub: crypto.randomUUID(),
    sid: crypto.randomUUID(),
    jti: crypto.randomUUID(),
    iat,
    exp: iat + Number(TEST_SECRETS.ACCESS_TOKEN_TTL),
    client_id: "secureauth",
    roles: ["user"],
    permissions: ["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"],
    auth_time: iat,
    amr: ["pwd"],
    email_verified: false,
    gv: 0,
    ...overrides,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims;
}

/** The payload of a JWT, unverified: for asserting what a token carries. */
export const claimsOf = (jwt: string) => decodeJwt(jwt);

/** A movable clock for testService({ clock }). */
export function fakeClock(start = new Date()) {
  let now = start.getTime();
  const clock: Clock = () => new Date(now);
  return {
    clock,
    advance(seconds: number) {
      now += seconds * 1000;
    },
    now: () => new Date(now),
  };
}

let counter = 0;
export function uniqueEmail(tag = "user"): string {
  counter += 1;
  return `${tag}-${Date.now().toString(36)}-${counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

export async function problemOf(res: Response): Promise<Problem> {
  if (res.headers.get("content-type") !== "application/problem+json") {
    throw new Error(`expected problem+json, got ${res.headers.get("content-type")}: ${res.status} ${await res.text()}`);
  }
  return res.json();
}

/**
 * A random refresh token that is none of the service's: "tagged" has the
 * current shape (`sart_` + 22 for a session id + 43 + an 8-character tag,
 * all random, so the tag is wrong), "legacy" the untagged shape of tokens
 * minted before tags (`sart_` + 43).
 */
export function randomRefreshToken(shape: "tagged" | "legacy"): string {
  const random = (bytes: number) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));
  return `sart_${shape === "tagged" ? random(16) + random(32) + random(6) : random(32)}`;
}

/** What the database stores for a refresh token: hex SHA-256, computed here independently of src. */
export async function refreshTokenHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
