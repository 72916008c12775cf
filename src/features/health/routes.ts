// GET /health (liveness, no I/O: its document here, its answer in
// liveness-routes.ts) and GET /health/ready (one `select 1`).
// With a configuration that does not load, the Worker is alive but not ready
// (unconfigured-routes.ts answers both then).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { problemResponses } from "../../http/openapi";

export const healthRoutes = new OpenAPIHono<AppEnv>();

// GET /health's document; liveness-routes.ts answers it, with no schema to evaluate on an isolate's first request.
healthRoutes.openAPIRegistry.registerPath(
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
