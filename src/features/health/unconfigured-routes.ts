// GET /health and GET /health/ready when the configuration does not load:
// answered by the app's edge without the route modules (src/http/app.ts).
import type { Context } from "hono";
import { ServiceUnavailable } from "../../core/errors";
import { problemResponse } from "../../http/errors/problem";

/**
 * The health answers when the configuration does not load (the edge cannot
 * build a runtime): liveness stays 200 so the deploy is not restarted in a
 * loop, readiness answers 503 with a body that names nothing (the log names
 * the variable). undefined for every other request, which answers 500.
 */
export function healthWithoutConfig(c: Context): Response | undefined {
  if (c.req.method !== "GET") return undefined;
  if (c.req.path === "/health") return c.json({ status: "ok" as const }, 200);
  if (c.req.path === "/health/ready") return problemResponse(new ServiceUnavailable());
  return undefined;
}
