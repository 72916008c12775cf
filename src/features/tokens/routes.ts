// GET /auth/verify (forward-auth: the verified claims of an access token,
// from the Authorization header or the access cookie, as a body and as
// identity headers a reverse proxy copies upstream, optionally requiring a
// permission; no database read; a cookie-authenticated check gets the CSRF
// rule for the original request the proxy describes) and
// GET /.well-known/jwks.json (the public halves of the signing keys, for
// anyone verifying tokens themselves).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../http/context";
import { ValidationFailed } from "../../core/errors";
import { authenticate } from "../../http/authenticate";
import { refuseForwardedCrossSite } from "../../http/cookie-mode";
import { checkForwardAuth, identityHeaders } from "./forward-auth";
import { noStore } from "../../http/security-headers";
import { problemResponses } from "../../http/openapi";

export const tokenRoutes = new OpenAPIHono<AppEnv>();

const AccessTokenClaimsSchema = z
  .object({
    iss: z.string(),
    aud: z.string(),
    sub: z.string().openapi({ description: "User id" }),
    sid: z.string().openapi({ description: "Session id" }),
    jti: z.string(),
    iat: z.number().int(),
    exp: z.number().int(),
    client_id: z.string(),
    roles: z.array(z.string()),
    permissions: z.array(z.string()),
    auth_time: z.number().int().openapi({
      description:
        "When the session last proved a credential (sign-in, second factor, re-authentication); a refresh keeps it",
    }),
    amr: z.array(z.string()).openapi({
      description:
        'RFC 8176 methods of that proof: ["pwd"] a password; ["pwd","otp","mfa"] a password and a TOTP or ' +
        'recovery code; ["pwd","hwk","mfa"] a password and a passkey; ["hwk","mfa"] a passkey alone (user ' +
        'verification is required, so it is two factors); ["fed"] a provider; ["email"] an email code or link',
    }),
    idp: z.string().optional().openapi({
      description: "The provider id (e.g. google), present only when a federated sign-in opened the session",
      example: "google",
    }),
    org: z
      .object({
        id: z.string().uuid().openapi({ description: "The organization's id: key on it (a slug can change)" }),
        slug: z.string(),
        roles: z.array(z.string()).openapi({ description: "The member's roles in this organization" }),
        permissions: z.array(z.string()).openapi({
          description:
            "The organization permissions those roles grant; they never satisfy a global check, only one naming " +
            "this organization",
        }),
      })
      .optional()
      .openapi({
        description: "The session's active organization (POST /auth/org), present only while it has one",
      }),
  })
  .openapi("AccessTokenClaims");

const PublicJwkSchema = z
  .object({
    kty: z.literal("OKP"),
    crv: z.literal("Ed25519"),
    x: z.string(),
    kid: z.string(),
    alg: z.literal("EdDSA"),
    use: z.literal("sig"),
  })
  .openapi("PublicJwk");

/** What a proxy copies upstream: comma-separated lists, no spaces. */
const IDENTITY_HEADERS_DOC = {
  "X-Auth-User-Id": { description: "The user id (sub)", schema: { type: "string" as const, format: "uuid" } },
  "X-Auth-Session-Id": { description: "The session id (sid)", schema: { type: "string" as const, format: "uuid" } },
  "X-Auth-Roles": { description: "The token's roles, comma-separated, no spaces", schema: { type: "string" as const } },
  "X-Auth-Permissions": {
    description: "The token's global permissions, comma-separated, no spaces (never an organization's)",
    schema: { type: "string" as const },
  },
  "X-Auth-Org-Id": {
    description: "The active organization's id, only while the token has one",
    schema: { type: "string" as const, format: "uuid" },
  },
  "X-Auth-Org-Roles": {
    description: "The member's roles in the active organization, comma-separated, no spaces; only with X-Auth-Org-Id",
    schema: { type: "string" as const },
  },
  "X-Auth-Org-Permissions": {
    description:
      "The organization permissions held in the active organization, comma-separated, no spaces; only with " +
      "X-Auth-Org-Id",
    schema: { type: "string" as const },
  },
};

/** Public keys change only on rotation, and a new key signs only after it has been published for a while. */
const JWKS_CACHE_CONTROL = "public, max-age=300";

const verifyRoute = createRoute({
  method: "get",
  path: "/auth/verify",
  operationId: "verifyAccessToken",
  tags: ["tokens"],
  summary: "Verify the Bearer access token and return its claims (forward-auth)",
  description:
    "Checks signature, issuer, audience, typ, expiry and edge revocation. No database read. " +
    "On 200 the identity is also in headers for a reverse proxy to copy to the upstream (nginx " +
    "auth_request_set, Caddy forward_auth copy_headers, Traefik authResponseHeaders). " +
    "Authenticated by the __Host-sa_at cookie (no Authorization header), the check applies the CSRF rule to " +
    "the original request: when X-Forwarded-Method or X-Original-Method names an unsafe method, the " +
    "forwarded Origin must be in ALLOWED_ORIGINS, and a forwarded Origin outside it is refused whatever " +
    "the method (403 csrf_rejected). A Bearer token is not subject to it. " +
    "Organization permissions never satisfy a global check: `permission` alone counts the token's global " +
    "permissions only; with `org`, which must be the token's active organization (else 403), a permission held " +
    "globally or in that organization counts.",
  security: [{ bearerAuth: [] }],
  middleware: [noStore(), authenticate()] as const,
  request: {
    headers: z.object({
      "x-forwarded-method": z
        .string()
        .optional()
        .openapi({ description: "The original request's method, as the proxy names it (Caddy, Traefik)" }),
      "x-original-method": z
        .string()
        .optional()
        .openapi({ description: "The original request's method, as the documented nginx configuration names it" }),
      origin: z.string().optional().openapi({ description: "The original request's Origin, forwarded by the proxy" }),
    }),
    query: z.object({
      permission: z.string().min(1).max(128).optional().openapi({
        description: "Answer 403 insufficient_permission unless the token holds this permission",
        example: "users:read",
      }),
      org: z
        .string()
        .min(1)
        .max(128)
        .optional()
        .openapi({
          description:
            "An organization id: answer 403 insufficient_permission unless it is the token's active organization; " +
            "then `permission` may be held globally or in it",
          format: "uuid",
        }),
    }),
  },
  responses: {
    200: {
      description: "The token is valid (and holds `permission`, when given)",
      headers: IDENTITY_HEADERS_DOC,
      content: { "application/json": { schema: z.object({ claims: AccessTokenClaimsSchema }) } },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

/**
 * The query, checked as the route's validator would check it (repeated keys as lists, unknown ones dropped), when
 * there is one. The route is registered without the validators `.openapi()` would add: the headers it documents are
 * optional strings, which every header is, so checking them on each request could refuse nothing and cost about a
 * quarter of a verify (`npm run bench:profile -- verify`); its document is registered as `.openapi()` would.
 */
const validQuery =
  (schema: NonNullable<NonNullable<typeof verifyRoute.request>["query"]>): MiddlewareHandler<AppEnv> =>
  (c, next) => {
    if (!c.req.url.includes("?")) return next();
    const query = Object.fromEntries(
      Object.entries(c.req.queries()).map(([key, values]) => [key, values.length === 1 ? values[0] : values]),
    );
    const result = schema.safeParse(query);
    if (!result.success) throw ValidationFailed.fromIssues(result.error.issues, "query");
    return next();
  };

{
  const { middleware, ...document } = verifyRoute;
  tokenRoutes.openAPIRegistry.registerPath(document);
  tokenRoutes.get(verifyRoute.getRoutingPath(), ...middleware, validQuery(verifyRoute.request.query), (c) => {
    // authenticate() read the cookie only when no Authorization header came.
    if (c.req.header("Authorization") === undefined) refuseForwardedCrossSite(c, c.var.config.allowedOrigins);
    const claims = c.var.auth;
    // validQuery checked them.
    checkForwardAuth(claims, { permission: c.req.query("permission"), org: c.req.query("org") });
    for (const [name, value] of identityHeaders(claims)) c.header(name, value);
    return c.json({ claims }, 200);
  });
}

tokenRoutes.openapi(
  createRoute({
    method: "get",
    path: "/.well-known/jwks.json",
    operationId: "getJwks",
    security: [],
    tags: ["tokens"],
    summary: "Public keys that verify access tokens (JWKS)",
    description:
      "Readable from any origin: Access-Control-Allow-Origin: * and no credentials (the CORS middleware), " +
      "unlike every other route.",
    responses: {
      200: {
        description: "The JSON Web Key Set",
        content: { "application/json": { schema: z.object({ keys: z.array(PublicJwkSchema) }) } },
      },
      ...problemResponses(),
    },
  }),
  async (c) => {
    c.header("Cache-Control", JWKS_CACHE_CONTROL);
    return c.json(c.var.tokens.jwks(), 200);
  },
);
