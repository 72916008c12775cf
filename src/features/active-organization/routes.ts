// POST /auth/org (docs/organizations.md, "Acting in an organization"): switch
// the caller's session into one of their organizations, or out of any, and
// answer its new access token (also as the access cookie in cookie mode). HTTP
// only: validate, hand over to ActiveOrganizationService, answer.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { noStoreOn } from "../../http/security-headers";
import { problemResponses } from "../../http/openapi";
import { json, ok, refusingPrivilegedFields, TokenPairSchema } from "../../http/schemas";
import { callerOf, checkCookieModeOrigin, tokensBody } from "../../http/session-answer";

export const activeOrganizationRoutes = noStoreOn(new OpenAPIHono<AppEnv>(), "/auth/org");

const SwitchBody = refusingPrivilegedFields({
  orgId: z
    .string()
    .max(64)
    .nullable()
    .openapi({
      description:
        "The organization to act in (one you are a member of), or null to act in none. An id that is not a " +
        "UUID answers 404 as an unknown one does.",
      format: "uuid",
      example: "0b6f1c3e-5d2a-4e8f-9a41-2c7d8e9f0a1b",
    }),
});

const SwitchedSchema = z.object({ tokens: TokenPairSchema.omit({ refreshToken: true }) });

activeOrganizationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/org",
    operationId: "switchOrganization",
    tags: ["auth", "organizations"],
    summary: "Act in one of your organizations (or in none): a new access token with the org claim",
    description:
      "Sets the calling session's active organization and answers a new access token for the same session whose " +
      "`org` claim (`{id, slug, roles, permissions}`) says what you hold there; `{orgId: null}` clears it (no " +
      "`org` claim). The refresh token you hold stays valid (no refreshToken in the answer), and its refreshes " +
      "keep the organization while you are a member; once you are not, they carry no `org` claim. An " +
      "organization you are not a member of answers 404, the same as one that does not exist. Needs " +
      "membership only (a verified email is needed to create or join an organization). In cookie mode " +
      "(X-Auth-Mode: cookie) the access cookie is set too.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:read")] as const,
    request: { body: json(SwitchBody) },
    responses: {
      200: ok("Switched", SwitchedSchema),
      ...problemResponses(400, 401, 403, 404, 413, 415, 503),
    },
  }),
  async (c) => {
    const { orgId } = c.req.valid("json");
    checkCookieModeOrigin(c);
    const switched = await c.var.services.activeOrganization().switchTo(callerOf(c), orgId);
    return c.json(tokensBody(c, switched), 200);
  },
);
