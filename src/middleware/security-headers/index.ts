// The headers the API contract puts on every response, errors included.
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
const ownPolicyKept = (policy: string | null) => policy !== null && policy.startsWith("default-src 'none';") && policy.includes("frame-ancestors 'none'");

const DEFAULT_POLICY = SECURITY_HEADERS["Content-Security-Policy"]!;

/**
 * The headers are prepared before the route runs, so every response built
 * through the context carries them from its construction, at no cost
 * after; a response that arrives without them (built by hand, or replaced
 * on the way out) gets them then.
 */
export const securityHeaders = () =>
  createMiddleware(async (c, next) => {
    for (const name in SECURITY_HEADERS) c.header(name, SECURITY_HEADERS[name]);
    await next();
    const headers = c.res.headers;
    const policy = headers.get("Content-Security-Policy");
    if (policy !== DEFAULT_POLICY) {
      for (const name in SECURITY_HEADERS) headers.set(name, SECURITY_HEADERS[name]!);
      if (ownPolicyKept(policy)) headers.set("Content-Security-Policy", policy!);
    }
    // the API contract: JSON bodies are `application/json; charset=utf-8`.
    if (headers.get("Content-Type") === "application/json") headers.set("Content-Type", "application/json; charset=utf-8");
  });

/** For responses that carry a token: never cached anywhere. */
export const noStore = () =>
  createMiddleware(async (c, next) => {
    await next();
    c.res.headers.set("Cache-Control", "no-store");
    c.res.headers.set("Pragma", "no-cache");
  });
