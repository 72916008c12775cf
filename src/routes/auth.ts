// /auth: register, login, refresh, logout, password change. HTTP only: parse
// and validate, call a service, shape the response. Every response that
// carries a token is no-store.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { ValidationFailed } from "../errors";
import { authenticate, parseBearerToken } from "../middleware/authenticate";
import { authorize } from "../middleware/authorize";
import { ipRateLimit } from "../middleware/rate-limit";
import { noStore } from "../middleware/security-headers";
import { problemResponses } from "./openapi";
import { deviceInfo, requestOrigin } from "./request-origin";
import { DisplayNameInput, Email, json, ok, PasswordInput, refusingPrivilegedFields, toApiUser, TokenPairSchema, UserSchema } from "./schemas";

export const authRoutes = new OpenAPIHono<AppEnv>();

/** Any string: one that is not a refresh token of ours is an invalid_refresh_token, not a validation error (the 16 KiB body cap bounds it). */
const RefreshTokenInput = z.string();
/** Any string: one that is not valid for this account counts in the account's bucket, like none (the 16 KiB body cap bounds it). */
const DeviceTokenInput = z
  .string()
  .nullish()
  .openapi({ description: "The deviceToken an earlier successful sign-in of this account on this device answered. Sign-in attempts presenting it are throttled in this device's own bucket." });


const LogoutBody = refusingPrivilegedFields({ refreshToken: RefreshTokenInput.optional() });
const SignedInSchema = z.object({ user: UserSchema, tokens: TokenPairSchema });
const LoggedInSchema = SignedInSchema.extend({
  deviceToken: z.string().openapi({
    description: "For this account on this device: keep it and send it with the next sign-in (the presented one if it was valid, else a new one). A secret, like a password.",
  }),
});

authRoutes.use("/auth/*", noStore());

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/register",
    operationId: "register",
    security: [],
    tags: ["auth"],
    summary: "Create an account and sign in",
    middleware: [ipRateLimit("register")] as const,
    request: {
      body: json(
        refusingPrivilegedFields({
          email: Email,
          password: PasswordInput,
          name: DisplayNameInput,
        }),
      ),
    },
    responses: {
      201: ok(
        "Registered and signed in; a verification link is mailed. With REQUIRE_VERIFIED_EMAIL on, no tokens: sign in once the email is verified.",
        SignedInSchema.partial({ tokens: true }),
      ),
      ...problemResponses(400, 409, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const { user, tokens } = await c.var.services.accounts().register(body, deviceInfo(c.req.raw), requestOrigin(c.req.raw));
    return c.json(tokens ? { user: toApiUser(user), tokens } : { user: toApiUser(user) }, 201);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/login",
    operationId: "login",
    security: [],
    tags: ["auth"],
    summary: "Sign in with email and password",
    middleware: [ipRateLimit("login")] as const,
    request: {
      body: json(
        refusingPrivilegedFields({
          email: z.string().min(1).max(320),
          password: PasswordInput,
          deviceName: DisplayNameInput,
          deviceToken: DeviceTokenInput,
        }),
      ),
    },
    responses: { 200: ok("Signed in", LoggedInSchema), ...problemResponses(400, 401, 403, 413, 415, 429, 503) },
  }),
  async (c) => {
    const { email, password, deviceName, deviceToken } = c.req.valid("json");
    const signedIn = await c.var.services.accounts().login({ email, password, deviceToken }, deviceInfo(c.req.raw, deviceName), requestOrigin(c.req.raw));
    return c.json({ user: toApiUser(signedIn.user), tokens: signedIn.tokens, deviceToken: signedIn.deviceToken }, 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/refresh",
    operationId: "refreshTokens",
    security: [],
    tags: ["auth"],
    summary: "Rotate a refresh token for a new token pair",
    description: "Limited per session (AUTH_REFRESH_RATE_LIMITER), not per client network.",
    request: { body: json(refusingPrivilegedFields({ refreshToken: RefreshTokenInput })) },
    responses: { 200: ok("New token pair", z.object({ tokens: TokenPairSchema })), ...problemResponses(400, 401, 403, 413, 415, 429, 503) },
  }),
  async (c) => {
    const { refreshToken } = c.req.valid("json");
    const tokens = await c.var.services.rotation().rotate(refreshToken, requestOrigin(c.req.raw));
    return c.json({ tokens }, 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/logout",
    operationId: "logout",
    tags: ["auth"],
    summary: "End a session, by its access token or by a refresh token in the body",
    description: "Answers 204 for an already ended or unknown session too, revealing nothing.",
    security: [{ bearerAuth: [] }, {}],
    request: {
      body: { content: { "application/json": { schema: LogoutBody } }, required: false },
    },
    responses: { 204: { description: "Logged out" }, ...problemResponses(400, 401, 413, 415, 503) },
  }),
  async (c) => {
    // The body is optional, so it is parsed here rather than by the route validator.
    const parsed = LogoutBody.safeParse(await c.req.json().catch(() => ({})));
    if (!parsed.success) throw ValidationFailed.fromIssues(parsed.error.issues);
    const { refreshToken } = parsed.data;
    const accessToken = parseBearerToken(c.req.header("Authorization"));
    await c.var.services.sessions().logout({ accessToken, refreshToken }, requestOrigin(c.req.raw));
    return c.body(null, 204);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/password",
    operationId: "changePassword",
    tags: ["auth"],
    summary: "Change the password; ends every other session",
    security: [{ bearerAuth: [] }],
    middleware: [ipRateLimit("password"), authenticate(), authorize("profile:write")] as const,
    request: { body: json(refusingPrivilegedFields({ currentPassword: PasswordInput, newPassword: PasswordInput })) },
    responses: { 204: { description: "Password changed" }, ...problemResponses(400, 401, 403, 413, 415, 429, 503) },
  }),
  async (c) => {
    const { currentPassword, newPassword } = c.req.valid("json");
    const { sub, sid } = c.var.auth;
    await c.var.services.accounts().changePassword({ userId: sub, sessionId: sid, currentPassword, newPassword }, requestOrigin(c.req.raw));
    return c.body(null, 204);
  },
);
