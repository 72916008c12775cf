// /admin/users: list and read users, replace roles, disable, enable and
// delete accounts, end sessions. Each route runs authenticate() then authorize(<permission>), which
// decides from the token's permissions claim alone; the service then applies
// the rule of every action on an account (as of now, "only what you hold").
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import type { AdminActor } from "./index";
import { requestOrigin } from "../../http/request-origin";
import { problemResponses } from "../../http/openapi";
import { toApiUser } from "../../http/schemas";
import {
  RolesBodySchema,
  UserDetailSchema,
  UserEnvelopeSchema,
  UserIdParams,
  UserListQuerySchema,
  UserPageSchema,
} from "./schemas";

export const adminUserRoutes = new OpenAPIHono<AppEnv>();

const ok = <T>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });
const guarded = (permission: string) => [authenticate(), authorize(permission)];

adminUserRoutes.openapi(
  createRoute({
    method: "get",
    path: "/admin/users",
    operationId: "listUsers",
    tags: ["admin"],
    summary: "List users, oldest first, with an opaque cursor",
    security: [{ bearerAuth: [] }],
    middleware: guarded("users:read"),
    request: { query: UserListQuerySchema },
    responses: { 200: ok("A page of users", UserPageSchema), ...problemResponses(400, 401, 403, 503) },
  }),
  async (c) => {
    const { q, cursor, limit } = c.req.valid("query");
    const page = await c.var.services.admin().listUsers({ search: q, cursor, limit });
    return c.json({ items: page.items.map(toApiUser), nextCursor: page.nextCursor }, 200);
  },
);

adminUserRoutes.openapi(
  createRoute({
    method: "get",
    path: "/admin/users/{id}",
    operationId: "getUser",
    tags: ["admin"],
    summary: "A user and their live sessions",
    security: [{ bearerAuth: [] }],
    middleware: guarded("users:read"),
    request: { params: UserIdParams },
    responses: { 200: ok("The user", UserDetailSchema), ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    const { user, sessions } = await c.var.services.admin().getUser(c.req.valid("param").id);
    return c.json({ user: toApiUser(user), sessions }, 200);
  },
);

adminUserRoutes.openapi(
  createRoute({
    method: "put",
    path: "/admin/users/{id}/roles",
    operationId: "setUserRoles",
    tags: ["admin"],
    summary: "Replace a user's roles",
    description:
      "Role names must exist in the roles table; duplicates are ignored; an empty list leaves the user with " +
      "no permission. " +
      "Takes effect at once: the user's earlier access tokens are refused (401 invalid_token) and their next " +
      "refresh carries the new roles. An administrator cannot change their own roles, nor those of a user " +
      "holding a permission they do not hold, nor add a role carrying one (403): role assignment grants " +
      "and removes only what the caller holds.",
    security: [{ bearerAuth: [] }],
    middleware: guarded("roles:assign"),
    request: {
      params: UserIdParams,
      body: { content: { "application/json": { schema: RolesBodySchema } }, required: true },
    },
    responses: {
      200: ok("The user with the new roles", UserEnvelopeSchema),
      ...problemResponses(400, 401, 403, 404, 413, 415, 503),
    },
  }),
  async (c) => {
    const { roles } = c.req.valid("json");
    const user = await c.var.services.admin().setRoles(c.req.valid("param").id, roles, actorOf(c));
    return c.json({ user: toApiUser(user) }, 200);
  },
);

adminUserRoutes.openapi(
  createRoute({
    method: "post",
    path: "/admin/users/{id}/disable",
    operationId: "disableUser",
    tags: ["admin"],
    summary: "Disable a user and end all their sessions",
    description:
      "Idempotent. Their access tokens are refused at once. 403 for your own account and for an account " +
      "holding a permission you lack.",
    security: [{ bearerAuth: [] }],
    middleware: guarded("users:write"),
    request: { params: UserIdParams },
    responses: { 200: ok("The disabled user", UserEnvelopeSchema), ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    const user = await c.var.services.admin().disable(c.req.valid("param").id, actorOf(c));
    return c.json({ user: toApiUser(user) }, 200);
  },
);

adminUserRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/admin/users/{id}/mfa",
    operationId: "removeUserFactors",
    tags: ["admin"],
    summary: "Remove a user's second factors (TOTP, recovery codes, passkeys)",
    description:
      "For an owner who lost their authenticator: they sign in with the password alone afterwards. Audited " +
      "(mfa.removed, naming the administrator). 403 for your own account and for an account holding a " +
      "permission you lack; 404 when the user has no factor. Ends the user's pending email change.",
    security: [{ bearerAuth: [] }],
    middleware: guarded("users:write"),
    request: { params: UserIdParams },
    responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    await c.var.services.admin().removeFactors(c.req.valid("param").id, actorOf(c));
    return c.body(null, 204);
  },
);

adminUserRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/admin/users/{id}",
    operationId: "deleteUser",
    tags: ["admin"],
    summary: "Delete a user's account, as DELETE /me does",
    description:
      "Deletes the account with its sessions (their access tokens stop at once), tokens and factors; its " +
      "audit rows stay, naming it by id, with a user.deleted row naming the administrator. 403 for your own " +
      "account and for an account holding a permission you lack. 409 last_owner, as for DELETE /me.",
    security: [{ bearerAuth: [] }],
    middleware: guarded("users:write"),
    request: { params: UserIdParams },
    responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 409, 503) },
  }),
  async (c) => {
    await c.var.services.admin().deleteUser(c.req.valid("param").id, actorOf(c));
    return c.body(null, 204);
  },
);

adminUserRoutes.openapi(
  createRoute({
    method: "post",
    path: "/admin/users/{id}/enable",
    operationId: "enableUser",
    tags: ["admin"],
    summary: "Let a disabled user sign in again",
    description: "Idempotent. 403 for an account holding a permission you lack.",
    security: [{ bearerAuth: [] }],
    middleware: guarded("users:write"),
    request: { params: UserIdParams },
    responses: { 200: ok("The enabled user", UserEnvelopeSchema), ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    const user = await c.var.services.admin().enable(c.req.valid("param").id, actorOf(c));
    return c.json({ user: toApiUser(user) }, 200);
  },
);

adminUserRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/admin/users/{id}/sessions",
    operationId: "revokeUserSessions",
    tags: ["admin"],
    summary: "End all of a user's sessions",
    description:
      "Their access tokens are refused at once, and their pending email change ends. 403 for an account " +
      "holding a permission you lack.",
    security: [{ bearerAuth: [] }],
    middleware: guarded("sessions:revoke"),
    request: { params: UserIdParams },
    responses: { 204: { description: "Ended" }, ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    await c.var.services.admin().revokeSessions(c.req.valid("param").id, actorOf(c));
    return c.body(null, 204);
  },
);

/** The administrator acting: their id and where the request came from. */
function actorOf(c: Context<AppEnv>): AdminActor {
  return { kind: "administrator", actorId: c.var.auth.sub, origin: requestOrigin(c.req.raw) };
}
