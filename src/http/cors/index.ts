// CORS for browser clients on the configured allowlist only: the exact origin
// is echoed with Vary: Origin and credentials allowed; any other origin (or a
// request without one) gets no CORS headers at all, only Vary: Origin so a
// shared cache never serves one origin's answer to another.
//
// The exception is public data anyone may verify tokens with,
// GET /.well-known/jwks.json (docs/api.md): readable from any origin, with
// `Access-Control-Allow-Origin: *` and never credentials, on every answer and
// its preflight alike, so the (publicly cached) answer does not vary by Origin.
import { cors } from "hono/cors";
import type { Context, MiddlewareHandler } from "hono";

/** Paths readable from any origin, without credentials. */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(["/.well-known/jwks.json"]);
const PUBLIC_METHODS = "GET, HEAD";

const CORS_OPTIONS = {
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  // X-Auth-Mode selects cookie mode; being a custom header, it cannot be sent cross-site without this preflight.
  allowHeaders: ["Authorization", "Content-Type", "X-Auth-Mode"],
  exposeHeaders: ["WWW-Authenticate", "Retry-After"],
  credentials: true,
  maxAge: 600,
};

export function corsAllowlist(getAllowed: (c: Context) => readonly string[]): MiddlewareHandler {
  // The allowlist comes from config, parsed once per env: build Hono's cors()
  // handler once per distinct allowlist, not once per request.
  const handlers = new WeakMap<readonly string[], MiddlewareHandler>();
  const handlerFor = (allowed: readonly string[]): MiddlewareHandler => {
    let handler = handlers.get(allowed);
    if (!handler) {
      const origins = new Set(allowed);
      handler = cors({ ...CORS_OPTIONS, origin: (origin) => (origins.has(origin) ? origin : null) });
      handlers.set(allowed, handler);
    }
    return handler;
  };

  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return readableFromAnyOrigin(c, next);
    const origin = c.req.header("Origin");
    if (origin === undefined) {
      // Not a browser's cross-origin request (the common case for servers and proxies): nothing to decide.
      await next();
      varyOnOrigin(c.res.headers);
      return;
    }
    const allowed = getAllowed(c);
    if (allowed.includes(origin)) {
      // A preflight is answered by cors() itself with a returned Response.
      const preflight = await handlerFor(allowed)(c, next);
      if (preflight instanceof Response) c.res = preflight;
    } else {
      // Not a CORS request we answer, preflight or not: no CORS headers at all
      // (Hono's cors() would still send Allow-Credentials and Expose-Headers),
      // so a browser blocks the real request. Routing answers OPTIONS itself.
      await next();
    }
    varyOnOrigin(c.res.headers);
  };
}

function varyOnOrigin(headers: Headers): void {
  if (!headers.has("Vary")) {
    headers.set("Vary", "Origin");
    return;
  }
  headers.append("Vary", "Origin");
  dedupeVary(headers);
}

async function readableFromAnyOrigin(c: Context, next: () => Promise<void>): Promise<Response | undefined> {
  const isPreflight =
    c.req.method === "OPTIONS" &&
    c.req.header("Origin") !== undefined &&
    c.req.header("Access-Control-Request-Method") !== undefined;
  if (isPreflight) {
    // Any request header: without credentials "*" is a wildcard (Authorization aside, which this path never reads).
    return c.body(null, 204, {
      "Access-Control-Allow-Origin": "*",
      "Access-Control-Allow-Methods": PUBLIC_METHODS,
      "Access-Control-Allow-Headers": "*",
      "Access-Control-Max-Age": String(CORS_OPTIONS.maxAge),
    });
  }
  await next();
  c.res.headers.set("Access-Control-Allow-Origin", "*");
  c.res.headers.delete("Access-Control-Allow-Credentials");
}

function dedupeVary(headers: Headers): void {
  const vary = headers.get("Vary");
  if (!vary) return;
  const seen = new Map<string, string>();
  for (const value of vary
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean)) {
    if (!seen.has(value.toLowerCase())) seen.set(value.toLowerCase(), value);
  }
  headers.set("Vary", [...seen.values()].join(", "));
}
