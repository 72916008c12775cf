// /me: the caller's own profile and security activity.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { InvalidToken } from "../errors";
import { authenticate } from "../middleware/authenticate";
import { authorize } from "../middleware/authorize";
import { problemResponses } from "./openapi";
import { AuditPageSchema, PageQuerySchema, toApiUser, UserSchema } from "./schemas";

export const meRoutes = new OpenAPIHono<AppEnv>();

meRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me",
    operationId: "getMe",
    tags: ["me"],
    summary: "The signed-in user",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:read")] as const,
    responses: {
      200: { description: "The user", content: { "application/json": { schema: z.object({ user: UserSchema }) } } },
      ...problemResponses(401, 403, 503),
    },
  }),
  async (c) => {
    const user = await c.var.services.profiles().get(c.var.auth.sub);
    // A token whose user is gone is no longer a valid credential.
    if (!user) throw new InvalidToken({ cause: new Error("user no longer exists") });
    return c.json({ user: toApiUser(user) }, 200);
  },
);

meRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me/activity",
    operationId: "listMyActivity",
    tags: ["me"],
    summary: "The signed-in user's own security events, newest first",
    description:
      "actorId appears only on events someone else caused (an administrator changing the user's roles, say), and such events carry no ip or userAgent: those are the other person's. Events the user caused show their own ip and userAgent.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:read")] as const,
    request: { query: PageQuerySchema },
    responses: {
      200: { description: "A page of events", content: { "application/json": { schema: AuditPageSchema } } },
      ...problemResponses(400, 401, 403, 503),
    },
  }),
  async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const page = await c.var.services.activity().own(c.var.auth.sub, { cursor, limit });
    return c.json(page, 200);
  },
);

