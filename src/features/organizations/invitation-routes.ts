// Invitations over HTTP: create, list and revoke (members:invite, checked by
// the service from the membership), and accept (the invited, signed-in user).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { problemResponses } from "../../http/openapi";
import { json, ok } from "../../http/schemas";
import { callerOf } from "../../http/session-answer";
import {
  AcceptedSchema,
  AcceptInvitationBody,
  InvitationBody,
  InvitationParams,
  InvitationSchema,
  OrgParams,
  toApiInvitation,
  toApiOrg,
} from "./schemas";

export const invitationRoutes = new OpenAPIHono<AppEnv>();

const NON_MEMBER = "A non-member gets 404, exactly as for an organization that does not exist.";

invitationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/orgs/{id}/invitations",
    operationId: "createInvitation",
    tags: ["organizations"],
    summary: "Invite an email address with roles (members:invite)",
    description:
      "Mails APP_URL/accept-invitation?token=... (7 days, single use); a pending invitation to the same address " +
      "ends. Only roles the caller could assign (403 otherwise; only an owner invites an owner). 409 " +
      `limit_reached past MAX_PENDING_INVITATIONS. ${NON_MEMBER}`,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: OrgParams, body: json(InvitationBody) },
    responses: {
      201: ok("The invitation", z.object({ invitation: InvitationSchema })),
      ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
    },
  }),
  async (c) => {
    const invitation = await c.var.services
      .invitations()
      .invite(callerOf(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ invitation: toApiInvitation(invitation) }, 201);
  },
);

invitationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/orgs/{id}/invitations",
    operationId: "listInvitations",
    tags: ["organizations"],
    summary: "Pending invitations, oldest first (members:invite)",
    description: NON_MEMBER,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: OrgParams },
    responses: {
      200: ok("Pending invitations", z.object({ invitations: z.array(InvitationSchema) })),
      ...problemResponses(401, 403, 404, 503),
    },
  }),
  async (c) => {
    const invitations = await c.var.services.invitations().pending(c.var.auth.sub, c.req.valid("param").id);
    return c.json({ invitations: invitations.map(toApiInvitation) }, 200);
  },
);

invitationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/orgs/{id}/invitations/{invitationId}",
    operationId: "revokeInvitation",
    tags: ["organizations"],
    summary: "Revoke a pending invitation (members:invite): its link stops working",
    description: `404 when no such invitation is pending. ${NON_MEMBER}`,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: InvitationParams },
    responses: { 204: { description: "Revoked" }, ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    const { id, invitationId } = c.req.valid("param");
    await c.var.services.invitations().revoke(callerOf(c), id, invitationId);
    return c.body(null, 204);
  },
);

invitationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/invitations/accept",
    operationId: "acceptInvitation",
    tags: ["organizations"],
    summary: "Accept an invitation with the token its link carries",
    description:
      "The caller's verified email must be the invited one: 403 email_not_verified for an unverified caller, " +
      "403 insufficient_permission for another address. A used, expired, revoked or unknown link answers 400 " +
      "invalid_one_time_token; 409 limit_reached past MAX_ORGS_PER_USER. A refused acceptance does not spend " +
      "the link.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write")] as const,
    request: { body: json(AcceptInvitationBody) },
    responses: {
      200: ok("The organization joined and the caller's roles there", AcceptedSchema),
      ...problemResponses(400, 401, 403, 409, 413, 415, 503),
    },
  }),
  async (c) => {
    const { org, roles } = await c.var.services.invitations().accept(callerOf(c), c.req.valid("json").token);
    return c.json({ org: toApiOrg(org), roles }, 200);
  },
);
