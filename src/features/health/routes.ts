// GET /health (liveness, no I/O) and GET /health/ready (one `select 1`).
// With a configuration that does not load, the Worker is alive but not ready.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ServiceUnavailable } from "../../core/errors";
import type { AppEnv } from "../../http/context";
import { problemResponse } from "../../http/errors/problem";
import { problemResponses } from "../../http/openapi";

export const healthRoutes = new OpenAPIHono<AppEnv>();

healthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/health",
    operationId: "getHealth",
    security: [],
    tags: ["health"],
    summary: "Liveness: the Worker answers; no I/O",
    responses: {
      200: { description: "Alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } },
      ...problemResponses(),
    },
  }),
  (c) => c.json({ status: "ok" as const }, 200),
);

healthRoutes.openapi(
  createRoute({
    method: "get",
    path: "/health/ready",
    operationId: "getReadiness",
    security: [],
    tags: ["health"],
    summary: "Readiness: the database answers",
    responses: {
      200: {
        description: "Ready",
        content: { "application/json": { schema: z.object({ status: z.literal("ok"), database: z.literal("ok") }) } },
      },
      ...problemResponses(503),
    },
  }),
  async (c) => {
    await c.var.services.health().checkReady();
    return c.json({ status: "ok" as const, database: "ok" as const }, 200);
  },
);

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
