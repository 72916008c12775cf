// The signed-in user's provider identities over HTTP (/me/identities):
// list, link (start and complete), unlink. HTTP only: IdentityService
// decides. Linking and unlinking need a recent sign-in.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { problemResponses } from "../../http/openapi";
import { IdParams } from "../../http/params";
import { recent } from "../../http/recent";
import { json, ok, refusingPrivilegedFields } from "../../http/schemas";
import { noStore } from "../../http/security-headers";
import { callerOf } from "../../http/session-answer";
import { MAX_APP_STATE } from "./flows";
import { ProviderParams } from "./routes";

/** The provider a link is started for, by its id (`google`, an OIDC_PROVIDERS id). */
const LinkParams = z.object({
  id: ProviderParams.shape.provider.openapi({ param: { name: "id", in: "path" }, example: "google" }),
});
import type { IdentityRecord } from "./store";

export const identityRoutes = new OpenAPIHono<AppEnv>();

identityRoutes.use("/me/identities", noStore());
identityRoutes.use("/me/identities/*", noStore());

const IdentitySchema = z
  .object({
    id: z.string().uuid(),
    provider: z.string(),
    email: z.string().nullable(),
    createdAt: z.string().datetime(),
    lastUsedAt: z.string().datetime().nullable(),
  })
  .openapi("Identity");

const toApiIdentity = (identity: IdentityRecord) => ({
  id: identity.id,
  provider: identity.provider,
  email: identity.email,
  createdAt: identity.createdAt.toISOString(),
  lastUsedAt: identity.lastUsedAt?.toISOString() ?? null,
});

identityRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me/identities",
    operationId: "listIdentities",
    tags: ["identities"],
    summary: "The provider identities linked to the signed-in user's account",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:read")] as const,
    responses: {
      200: ok("Identities, oldest first", z.object({ identities: z.array(IdentitySchema) })),
      ...problemResponses(401, 403, 503),
    },
  }),
  async (c) => c.json({ identities: (await c.var.services.identities().list(c.var.auth.sub)).map(toApiIdentity) }, 200),
);

// Before POST /me/identities/{id}: "complete" is a path, never a provider id.
identityRoutes.openapi(
  createRoute({
    method: "post",
    path: "/me/identities/complete",
    operationId: "completeIdentityLink",
    tags: ["identities"],
    summary: "Link the identity a link flow proved, with its code and verifier",
    description:
      "Only the user who started the link redeems its code: a code of another user, a wrong verifier, or a " +
      "used or expired code answer 400 invalid_one_time_token and spend nothing. 409 account_link_required " +
      "when the identity belongs to another account. A verified address is mailed a notice.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write")] as const,
    request: {
      body: json(
        refusingPrivilegedFields({ code: z.string().min(1).max(128), codeVerifier: z.string().min(43).max(128) }),
      ),
    },
    responses: {
      200: ok("Linked", z.object({ identity: IdentitySchema })),
      ...problemResponses(400, 401, 403, 409, 413, 415, 503),
    },
  }),
  async (c) => {
    const identity = await c.var.services.identities().completeLink(callerOf(c), c.req.valid("json"));
    return c.json({ identity: toApiIdentity(identity) }, 200);
  },
);

identityRoutes.openapi(
  createRoute({
    method: "post",
    // `{id}` as DELETE's is: one path, its id a provider's here and an identity's there.
    path: "/me/identities/{id}",
    operationId: "startIdentityLink",
    tags: ["identities"],
    summary: "Start linking a provider to the signed-in user's account",
    description:
      "Needs a recent sign-in and a verified email (403 email_not_verified). Answers the URL to send the " +
      "browser to; the flow's callback always ends at `redirectTo?code=...&state=...` (or " +
      "`?error=identity_provider_error`), and only POST /me/identities/complete by the same user links it.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write"), recent()] as const,
    request: {
      params: LinkParams,
      body: json(
        refusingPrivilegedFields({
          redirectTo: z.string().max(2048),
          codeChallenge: z.string().max(128),
          state: z.string().max(MAX_APP_STATE).optional(),
        }),
      ),
    },
    responses: {
      200: ok("Send the browser to url", z.object({ url: z.string().url() })),
      ...problemResponses(400, 401, 403, 404, 413, 415, 502, 503),
    },
  }),
  async (c) => {
    const { id: provider } = c.req.valid("param");
    const started = await c.var.services.identities().startLink(callerOf(c), provider, c.req.valid("json"), c.req.url);
    return c.json(started, 200);
  },
);

identityRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/me/identities/{id}",
    operationId: "unlinkIdentity",
    tags: ["identities"],
    summary: "Unlink one of the signed-in user's identities",
    description:
      "Needs a recent sign-in. 404 when absent or someone else's. 409 last_credential when it is the " +
      "account's only way in (no password, no passkey, no other identity, email sign-in off).",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write"), recent()] as const,
    request: { params: IdParams },
    responses: { 204: { description: "Unlinked" }, ...problemResponses(401, 403, 404, 409, 503) },
  }),
  async (c) => {
    await c.var.services.identities().unlink(callerOf(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
