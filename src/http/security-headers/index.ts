// The headers docs/api.md promises on every response, errors included.
import type { Context, Hono } from "hono";
import type { AppEnv } from "../context";
import { createMiddleware } from "hono/factory";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "Referrer-Policy": "no-referrer",
};

/**
 * A response that set its own Content-Security-Policy keeps it if it is at
 * least as strict where it matters (a page that runs one script by hash):
 * it must start from `default-src 'none'` and forbid framing.
 */
const ownPolicyKept = (policy: string | null) =>
  policy?.startsWith("default-src 'none';") && policy.includes("frame-ancestors 'none'");

const DEFAULT_POLICY = SECURITY_HEADERS["Content-Security-Policy"]!;

/**
 * Before the route runs: the headers are prepared on the context, so every
 * response built through it carries them from its construction, at no cost
 * after. Not a middleware of its own: the app's one edge middleware (app.ts)
 * calls this and `completeSecurityHeaders`, since each further layer costs
 * every request an async frame.
 */
export function prepareSecurityHeaders(c: Context): void {
  for (const name in SECURITY_HEADERS) c.header(name, SECURITY_HEADERS[name]);
}

/**
 * After it: a response that arrives without them (built by hand, an error, or replaced on the way out) gets them now.
 */
export function completeSecurityHeaders(headers: Headers): void {
  const policy = headers.get("Content-Security-Policy");
  if (policy !== DEFAULT_POLICY) {
    for (const name in SECURITY_HEADERS) headers.set(name, SECURITY_HEADERS[name]!);
    if (ownPolicyKept(policy)) headers.set("Content-Security-Policy", policy!);
  }
  if (headers.get("Content-Type") === "application/json")
    headers.set("Content-Type", "application/json; charset=utf-8");
}

/** Never cached anywhere: for answers that carry a token or someone's data. */
export function forbidCaching(headers: Headers): void {
  headers.set("Cache-Control", "no-store");
  headers.set("Pragma", "no-cache");
}

const noStoreMiddleware = new WeakSet<object>();

/** For responses that carry a token: never cached anywhere. */
export const noStore = () => {
  const middleware = createMiddleware(async (c, next) => {
    await next();
    forbidCaching(c.res.headers);
  });
  noStoreMiddleware.add(middleware);
  return middleware;
};

/** Whether a handler is a noStore middleware: the route table (src/http/lazy-routes.ts) carries no other. */
export function isNoStore(handler: unknown): boolean {
  return typeof handler === "function" && noStoreMiddleware.has(handler);
}

/** `routes` with noStore() on each of `paths` (a path and its subpaths are two patterns), before any route is added. */
export function noStoreOn<R extends Hono<AppEnv>>(routes: R, ...paths: string[]): R {
  for (const path of paths) routes.use(path, noStore());
  return routes;
}
