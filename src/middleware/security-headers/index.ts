// The headers the API contract puts on every response, errors included.
import { createMiddleware } from "hono/factory";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
  "Referrer-Policy": "no-referrer",
};

export const securityHeaders = () =>
  createMiddleware(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
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
