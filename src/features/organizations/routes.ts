// /orgs: organizations, their members, custom roles and audit log. HTTP only:
// each route authenticates the caller (an access token; POST /orgs also
// needs profile:write) and hands over to the service, which checks the
// organization permission from the membership as the database has it (a
// non-member gets 404, the same as for no organization). Invitations are in
// invitation-routes.ts.
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { problemResponses } from "../../http/openapi";
import { recent } from "../../http/recent";
import { AuditPageSchema, json, ok } from "../../http/schemas";
import { callerOf } from "../../http/session-answer";
import { invitationRoutes } from "./invitation-routes";
import {
  CreateOrgBody,
  MemberPageQuery,
  MemberPageSchema,
  MemberParams,
  MemberRolesBody,
  MemberSchema,
  OrgAuditQuery,
  OrgEnvelopeSchema,
  OrgListSchema,
  OrgParams,
  OrgRoleSchema,
  RoleDefinitionBody,
  RoleParams,
  toApiMember,
  toApiOrg,
  UpdateOrgBody,
} from "./schemas";
import { z } from "@hono/zod-openapi";

export const organizationRoutes = new OpenAPIHono<AppEnv>();

const NON_MEMBER = "A non-member gets 404, exactly as for an organization that does not exist.";
const orgs = (c: Context<AppEnv>) => c.var.services.organizations();

organizationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/orgs",
    operationId: "createOrganization",
    tags: ["organizations"],
    summary: "Create an organization; the caller is its owner",
    description:
      "Needs a verified email (403 email_not_verified). Without `slug`, one is made from the name (with a short " +
      "suffix when taken); a given slug in use answers 409 slug_taken. 409 limit_reached past MAX_ORGS_PER_USER.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write")] as const,
    request: { body: json(CreateOrgBody) },
    responses: {
      201: ok("The organization", OrgEnvelopeSchema),
      ...problemResponses(400, 401, 403, 409, 413, 415, 503),
    },
  }),
  async (c) => {
    const org = await orgs(c).create(callerOf(c), c.req.valid("json"));
    return c.json({ org: toApiOrg(org) }, 201);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/orgs",
    operationId: "listOrganizations",
    tags: ["organizations"],
    summary: "The caller's organizations, with the caller's roles in each",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    responses: { 200: ok("Organizations, oldest membership first", OrgListSchema), ...problemResponses(401, 503) },
  }),
  async (c) => {
    const list = await orgs(c).list(c.var.auth.sub);
    return c.json({ orgs: list.map(({ org, roles }) => ({ org: toApiOrg(org), roles })) }, 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/orgs/{id}",
    operationId: "getOrganization",
    tags: ["organizations"],
    summary: "An organization the caller is a member of",
    description: NON_MEMBER,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: OrgParams },
    responses: { 200: ok("The organization", OrgEnvelopeSchema), ...problemResponses(401, 404, 503) },
  }),
  async (c) => c.json({ org: toApiOrg(await orgs(c).get(c.var.auth.sub, c.req.valid("param").id)) }, 200),
);

organizationRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/orgs/{id}",
    operationId: "updateOrganization",
    tags: ["organizations"],
    summary: "Rename or re-slug an organization (org:update)",
    description: `409 slug_taken when the slug is in use. ${NON_MEMBER}`,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: OrgParams, body: json(UpdateOrgBody) },
    responses: {
      200: ok("The organization", OrgEnvelopeSchema),
      ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
    },
  }),
  async (c) => {
    const org = await orgs(c).update(callerOf(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ org: toApiOrg(org) }, 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/orgs/{id}",
    operationId: "deleteOrganization",
    tags: ["organizations"],
    summary: "Delete an organization (org:delete, recent sign-in)",
    description:
      "Memberships, custom roles and invitations end; tokens carrying the organization stop at once; its audit " +
      `rows stay. ${NON_MEMBER}`,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), recent()] as const,
    request: { params: OrgParams },
    responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    await orgs(c).delete(callerOf(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/orgs/{id}/members",
    operationId: "listOrganizationMembers",
    tags: ["organizations"],
    summary: "Members, oldest first, with an opaque cursor (members:read)",
    description: NON_MEMBER,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: OrgParams, query: MemberPageQuery },
    responses: { 200: ok("A page of members", MemberPageSchema), ...problemResponses(400, 401, 403, 404, 503) },
  }),
  async (c) => {
    const page = await orgs(c).members(c.var.auth.sub, c.req.valid("param").id, c.req.valid("query"));
    return c.json({ items: page.items.map(toApiMember), nextCursor: page.nextCursor }, 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "put",
    path: "/orgs/{id}/members/{userId}/roles",
    operationId: "setOrganizationMemberRoles",
    tags: ["organizations"],
    summary: "Replace a member's roles (members:roles)",
    description:
      "Only what you hold: 403 when the member holds an organization permission the caller lacks, or an added " +
      "role grants one; only an owner grants owner. 400 for a role the organization does not have. 409 " +
      "last_owner when the organization would have no owner. The member's older tokens stop at once. " +
      NON_MEMBER,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: MemberParams, body: json(MemberRolesBody) },
    responses: {
      200: ok("The member with the new roles", z.object({ member: MemberSchema })),
      ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
    },
  }),
  async (c) => {
    const { id, userId } = c.req.valid("param");
    const member = await orgs(c).setMemberRoles(callerOf(c), id, userId, c.req.valid("json").roles);
    return c.json({ member: toApiMember(member) }, 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/orgs/{id}/members/{userId}",
    operationId: "removeOrganizationMember",
    tags: ["organizations"],
    summary: "Remove a member (members:remove), or leave (your own id)",
    description:
      "403 when the member holds an organization permission the caller lacks. 409 last_owner for the last " +
      `owner. The member's older tokens stop at once. ${NON_MEMBER}`,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: MemberParams },
    responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404, 409, 503) },
  }),
  async (c) => {
    const { id, userId } = c.req.valid("param");
    await orgs(c).removeMember(callerOf(c), id, userId);
    return c.body(null, 204);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "put",
    path: "/orgs/{id}/roles/{name}",
    operationId: "defineOrganizationRole",
    tags: ["organizations"],
    summary: "Define or redefine a custom role (owners)",
    description:
      "Names are 2 to 32 of a-z, 0-9, _ and -, starting with a letter; a built-in name (owner, admin, member) " +
      "answers 403. Permissions come from the organization permissions only (400 otherwise). Redefining a role " +
      `stops older tokens carrying the organization. ${NON_MEMBER}`,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: RoleParams, body: json(RoleDefinitionBody) },
    responses: {
      200: ok("The role", z.object({ role: OrgRoleSchema })),
      ...problemResponses(400, 401, 403, 404, 413, 415, 503),
    },
  }),
  async (c) => {
    const { id, name } = c.req.valid("param");
    const role = await orgs(c).defineRole(callerOf(c), id, name, c.req.valid("json").permissions);
    return c.json({ role }, 200);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/orgs/{id}/roles/{name}",
    operationId: "deleteOrganizationRole",
    tags: ["organizations"],
    summary: "Delete a custom role (owners)",
    description:
      "403 for a built-in role; 400 validation_failed while a member holds it or a pending invitation grants it. " +
      NON_MEMBER,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: RoleParams },
    responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 404, 503) },
  }),
  async (c) => {
    const { id, name } = c.req.valid("param");
    await orgs(c).deleteRole(callerOf(c), id, name);
    return c.body(null, 204);
  },
);

organizationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/orgs/{id}/audit-logs",
    operationId: "listOrganizationAuditLogs",
    tags: ["organizations"],
    summary: "The organization's security events, newest first (org:audit:read)",
    description:
      "Only events of this organization. Who acted is named by id; ip and user agent are left out (they are " +
      `the service operator's to see). ${NON_MEMBER}`,
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: { params: OrgParams, query: OrgAuditQuery },
    responses: { 200: ok("A page of events", AuditPageSchema), ...problemResponses(400, 401, 403, 404, 503) },
  }),
  async (c) => c.json(await orgs(c).auditLog(c.var.auth.sub, c.req.valid("param").id, c.req.valid("query")), 200),
);

organizationRoutes.route("/", invitationRoutes);
