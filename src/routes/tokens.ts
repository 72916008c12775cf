// GET /auth/verify (forward-auth: the verified claims of a Bearer access
// token, no database read) and GET /.well-known/jwks.json (the public halves
// of the signing keys, for anyone verifying tokens themselves).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { authenticate } from "../middleware/authenticate";
import { noStore } from "../middleware/security-headers";
import { problemResponses } from "./openapi";

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

/** Public keys change only on rotation, and a new key signs only after it has been published for a while. */
const JWKS_CACHE_CONTROL = "public, max-age=300";

tokenRoutes.openapi(
  createRoute({
    method: "get",
    path: "/auth/verify",
    tags: ["tokens"],
    summary: "Verify the Bearer access token and return its claims (forward-auth)",
    description: "Checks signature, issuer, audience, typ, expiry and edge revocation. No database read.",
    security: [{ bearerAuth: [] }],
    middleware: [noStore(), authenticate()] as const,
    responses: {
      200: {
        description: "The token is valid",
        content: { "application/json": { schema: z.object({ claims: AccessTokenClaimsSchema }) } },
      },
      ...problemResponses(401),
    },
  }),
  (c) => c.json({ claims: c.var.auth }, 200),
);

tokenRoutes.openapi(
  createRoute({
    method: "get",
    path: "/.well-known/jwks.json",
    tags: ["tokens"],
    summary: "Public keys that verify access tokens (JWKS)",
    description: "Readable from any origin: Access-Control-Allow-Origin: * and no credentials (the CORS middleware), unlike every other route.",
    responses: {
      200: {
        description: "The JSON Web Key Set",
        content: { "application/json": { schema: z.object({ keys: z.array(PublicJwkSchema) }) } },
      },
    },
  }),
  async (c) => {
    c.header("Cache-Control", JWKS_CACHE_CONTROL);
    return c.json(c.var.tokens.jwks(), 200);
  },
);
