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

export const securityHeaders = () =>
  createMiddleware(async (c, next) => {
    await next();
    const ownPolicy = c.res.headers.get("Content-Security-Policy");
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (ownPolicyKept(ownPolicy)) c.res.headers.set("Content-Security-Policy", ownPolicy!);
    // the API contract: JSON bodies are `application/json; charset=utf-8`.
    if (c.res.headers.get("Content-Type") === "application/json") c.res.headers.set("Content-Type", "application/json; charset=utf-8");
  });

/** For responses that carry a token: never cached anywhere. */
export const noStore = () =>
  createMiddleware(async (c, next) => {
    await next();
    c.res.headers.set("Cache-Control", "no-store");
    c.res.headers.set("Pragma", "no-cache");
  });
