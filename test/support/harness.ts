// One harness for the HTTP tests: requests go through the Worker's real fetch
// handler (exports.default) against the real Postgres, and helpers sign users
// in so no test does its own wiring.
import { exports } from "cloudflare:workers";
import { createApp } from "../../src/app";
import type { Clock } from "../../src/context";
import type { TokenPair } from "../../src/services/token-pair";
import { query, testEnv } from "./db";

export type { TokenPair };

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

/** A request through the deployed Worker's own fetch handler. */
export function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  return exports.default.fetch(buildRequest(method, path, options));
}

/**
 * The same app with an injected clock, for expiry and grace-window tests.
 * waitUntil work is awaited before the response is returned.
 */
export function appAt(clock: Clock) {
  const app = createApp({ clock });
  return async (method: string, path: string, options: CallOptions = {}): Promise<Response> => {
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => pending.push(p), passThroughOnException() {}, props: {} };
    const res = await app.fetch(buildRequest(method, path, options), testEnv, ctx as unknown as ExecutionContext);
    await Promise.allSettled(pending);
    return res;
  };
}

/** A movable clock for appAt. */
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

export type ApiUser = {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  permissions: string[];
  status: string;
  createdAt: string;
};

export type SignedInUser = { email: string; password: string; user: ApiUser; tokens: TokenPair };

export async function registerUser(options: { email?: string; password?: string; name?: string } = {}): Promise<SignedInUser> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? STRONG_PASSWORD;
  const res = await call("POST", "/auth/register", { body: { email, password, name: options.name ?? "Test User" } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { user: ApiUser; tokens: TokenPair };
  return { email, password, ...body };
}

export async function login(email: string, password: string, extra: Record<string, unknown> = {}): Promise<{ user: ApiUser; tokens: TokenPair }> {
  const res = await call("POST", "/auth/login", { body: { email, password, ...extra } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { user: ApiUser; tokens: TokenPair };
}

/** Registers a user, grants roles directly in the database, and signs in again so the token carries them. */
export async function registerWithRoles(roles: string[]): Promise<SignedInUser> {
  const account = await registerUser();
  for (const role of roles) {
    await query("insert into user_roles (user_id, role_name) values ($1, $2) on conflict do nothing", [account.user.id, role]);
  }
  const signedIn = await login(account.email, account.password);
  return { ...account, ...signedIn };
}

export const registerAdmin = () => registerWithRoles(["admin"]);

export async function problemOf(res: Response): Promise<{ type: string; title: string; status: number; code: string; detail?: string; errors?: { path: string; message: string }[] }> {
  if (res.headers.get("content-type") !== "application/problem+json") {
    throw new Error(`expected problem+json, got ${res.headers.get("content-type")}: ${res.status} ${await res.text()}`);
  }
  return res.json();
}

export async function auditRows(filter: { userId?: string; event?: string; sessionId?: string }) {
  const clauses: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of [
    ["user_id", filter.userId],
    ["event", filter.event],
    ["session_id", filter.sessionId],
  ] as const) {
    if (value === undefined) continue;
    params.push(value);
    clauses.push(`${column} = $${params.length}`);
  }
  return query<{ id: string; event: string; user_id: string | null; actor_id: string | null; session_id: string | null; ip: string | null; user_agent: string | null; metadata: Record<string, unknown>; created_at: string }>(
    `select * from audit_logs ${clauses.length ? "where " + clauses.join(" and ") : ""} order by created_at, id`,
    params,
  );
}
