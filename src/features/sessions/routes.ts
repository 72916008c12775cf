// /sessions: the caller's device sessions: list, end one, end all others.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { requestOrigin } from "../../http/request-origin";
import { problemResponses } from "../../http/openapi";
import { IdParams } from "../../http/params";
import { SessionSchema } from "../../http/schemas";

export const sessionsRoutes = new OpenAPIHono<AppEnv>();

sessionsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/sessions",
    operationId: "listSessions",
    tags: ["sessions"],
    summary: "The caller's live sessions",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("sessions:read")] as const,
    responses: {
      200: {
        description: "Live sessions, most recently used first",
        content: { "application/json": { schema: z.object({ sessions: z.array(SessionSchema) }) } },
      },
      ...problemResponses(401, 403, 503),
    },
  }),
  async (c) => {
    const { sub, sid } = c.var.auth;
    return c.json({ sessions: await c.var.services.sessions().list(sub, sid) }, 200);
  },
);

sessionsRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/sessions/{id}",
    operationId: "revokeSession",
    tags: ["sessions"],
    summary: "End one of the caller's sessions",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("sessions:revoke:own")] as const,
    request: { params: IdParams },
    responses: { 204: { description: "Ended" }, ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    await c.var.services.sessions().revoke(c.var.auth.sub, c.req.valid("param").id, requestOrigin(c.req.raw));
    return c.body(null, 204);
  },
);

sessionsRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/sessions",
    operationId: "revokeOtherSessions",
    tags: ["sessions"],
    summary: "End all the caller's sessions except the current one",
    description:
      "Also ends a pending email change (its link answers 400 invalid_one_time_token), whether or not another " +
      "session was live.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("sessions:revoke:own")] as const,
    responses: { 204: { description: "Ended" }, ...problemResponses(401, 403, 503) },
  }),
  async (c) => {
    const { sub, sid } = c.var.auth;
    await c.var.services.sessions().revokeOthers(sub, sid, requestOrigin(c.req.raw));
    return c.body(null, 204);
  },
);
