// /admin/audit-logs: the whole audit trail, filtered by user and event,
// newest first, with an opaque cursor.
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { problemResponses } from "../../http/openapi";
import { AuditPageSchema } from "../../http/schemas";
import { AuditLogQuerySchema } from "./schemas";

export const adminAuditRoutes = new OpenAPIHono<AppEnv>();

adminAuditRoutes.openapi(
  createRoute({
    method: "get",
    path: "/admin/audit-logs",
    operationId: "listAuditLogs",
    tags: ["admin"],
    summary: "Security events of all users, newest first",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("audit:read")] as const,
    request: { query: AuditLogQuerySchema },
    responses: {
      200: { description: "A page of events", content: { "application/json": { schema: AuditPageSchema } } },
      ...problemResponses(400, 401, 403, 503),
    },
  }),
  async (c) => {
    const { userId, event, cursor, limit } = c.req.valid("query");
    return c.json(await c.var.services.activity().page({ userId, event, cursor, limit }), 200);
  },
);
