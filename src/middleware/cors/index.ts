// CORS for browser clients on the configured allowlist only: the exact origin
// is echoed with Vary: Origin; any other origin gets no CORS headers at all.
import { cors } from "hono/cors";
import type { MiddlewareHandler } from "hono";

export function corsAllowlist(getAllowed: (c: Parameters<MiddlewareHandler>[0]) => readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const allowed = getAllowed(c);
    const handler = cors({
      origin: (origin) => (allowed.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type"],
      exposeHeaders: ["WWW-Authenticate", "Retry-After"],
      credentials: true,
      maxAge: 600,
    });
    await handler(c, next);
    c.res.headers.append("Vary", "Origin");
    dedupeVary(c.res.headers);
  };
}

function dedupeVary(headers: Headers): void {
  const vary = headers.get("Vary");
  if (!vary) return;
  const unique = [...new Set(vary.split(",").map((v) => v.trim()).filter(Boolean))];
  headers.set("Vary", unique.join(", "));
}
