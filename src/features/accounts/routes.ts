// /auth: register, login, refresh, logout, password change. HTTP only: parse
// and validate, call a service, shape the response. Every response that
// carries a token is no-store.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { InvalidRefreshToken, ValidationFailed } from "../../core/errors";
import { authenticate, parseBearerToken } from "../../http/authenticate";
import {
  accessTokenCookie,
  clearSessionCookies,
  presentedDeviceToken,
  refreshTokenCookie,
  refuseCrossSite,
  wantsCookies,
} from "../../http/cookie-mode";
import { authorize } from "../../http/authorize";
import { ipRateLimit } from "../../http/rate-limit";
import { noStore } from "../../http/security-headers";
import { problemResponses } from "../../http/openapi";
import { deviceInfo, requestOrigin } from "../../http/request-origin";
import {
  DisplayNameInput,
  Email,
  json,
  NewPasswordInput,
  ok,
  PasswordInput,
  refusingPrivilegedFields,
  toApiUser,
  TokenPairSchema,
  UserSchema,
} from "../../http/schemas";
import { checkCookieModeOrigin, loggedInBody, signedInBody, tokensBody } from "../../http/session-answer";

export const authRoutes = new OpenAPIHono<AppEnv>();

/**
 * Any string: one that is not a refresh token of ours is an invalid_refresh_token, not a validation error (the 16 KiB
 * body cap bounds it).
 */
const RefreshTokenInput = z.string();
/**
 * Any string: one that does not name this account in its current device generation counts in the account's bucket,
 * like none (the 16 KiB body cap bounds it).
 */
const DeviceTokenInput = z
  .string()
  .nullish()
  .openapi({
    description:
      "The deviceToken an earlier successful sign-in of this account on this device answered. Sign-in attempts " +
      "presenting it are throttled in this device's own bucket, until a password reset, a password change or " +
      "sign-out-everywhere starts a new device generation (then it counts like none, and a new one is " +
      "answered). A logout keeps it.",
  });

const LogoutBody = refusingPrivilegedFields({ refreshToken: RefreshTokenInput.optional() });
const RefreshBody = refusingPrivilegedFields({ refreshToken: RefreshTokenInput.optional() });
const SignedInSchema = z.object({ user: UserSchema, tokens: TokenPairSchema });
const LoggedInSchema = SignedInSchema.extend({
  deviceToken: z.string().openapi({
    description:
      "For this account on this device: keep it and send it with the next sign-in (the presented one if it " +
      "was valid, else a new one). A secret, like a password.",
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
          password: NewPasswordInput,
          name: DisplayNameInput,
        }),
      ),
    },
    responses: {
      201: ok(
        "Registered and signed in; a verification link is mailed. With REQUIRE_VERIFIED_EMAIL on, no tokens: " +
          "sign in once the email is verified.",
        SignedInSchema.partial({ tokens: true }),
      ),
      ...problemResponses(400, 409, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    checkCookieModeOrigin(c);
    const body = c.req.valid("json");
    const { user, tokens } = await c.var.services
      .accounts()
      .register(body, deviceInfo(c.req.raw), requestOrigin(c.req.raw));
    // With REQUIRE_VERIFIED_EMAIL there is no session yet, so nothing to set.
    if (!tokens) return c.json({ user: toApiUser(user) }, 201);
    return c.json(signedInBody(c, { user, tokens }), 201);
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
    description:
      "For an account with a second factor, a right password answers 403 mfa_required with `mfaToken` and " +
      "`methods` and opens no session: complete it with POST /auth/mfa (TOTP or recovery code) or POST " +
      "/auth/passkey. A wrong password answers alike whether or not a factor exists.",
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
    checkCookieModeOrigin(c);
    const { email, password, deviceName, deviceToken } = c.req.valid("json");
    // In cookie mode the device token lives in its cookie.
    const presented = presentedDeviceToken(c, deviceToken);
    const signedIn = await c.var.services
      .accounts()
      .login({ email, password, deviceToken: presented }, deviceInfo(c.req.raw, deviceName), requestOrigin(c.req.raw));
    return c.json(loggedInBody(c, signedIn), 200);
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
    description:
      "Limited per session (AUTH_REFRESH_RATE_LIMITER), not per client network. In cookie mode (X-Auth-Mode: " +
      "cookie) the body may be left out: the refresh token is read from the __Host-sa_rt cookie, the " +
      "successor set in it, and the answer's tokens carry no refreshToken.",
    request: { body: { content: { "application/json": { schema: RefreshBody } }, required: false } },
    responses: {
      200: ok("New token pair", z.object({ tokens: TokenPairSchema })),
      ...problemResponses(400, 401, 403, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    // The body is optional in cookie mode, so it is parsed here rather than by the route validator.
    const parsed = RefreshBody.safeParse(c.req.raw.body === null ? {} : await c.req.json());
    if (!parsed.success) throw ValidationFailed.fromIssues(parsed.error.issues);
    let { refreshToken } = parsed.data;
    if (refreshToken === undefined && wantsCookies(c)) {
      refuseCrossSite(c);
      refreshToken = refreshTokenCookie(c);
      if (refreshToken === undefined) throw new InvalidRefreshToken("no __Host-sa_rt cookie");
    }
    if (refreshToken === undefined) throw new ValidationFailed([{ path: "refreshToken", message: "Required" }]);
    checkCookieModeOrigin(c);
    const tokens = await c.var.services.rotation().rotate(refreshToken, requestOrigin(c.req.raw));
    return c.json(tokensBody(c, tokens), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/logout",
    operationId: "logout",
    tags: ["auth"],
    summary: "End a session, by its access token or by a refresh token in the body",
    description:
      "Answers 204 for an already ended or unknown session too, revealing nothing. In cookie mode " +
      "(X-Auth-Mode: cookie) the session's cookies say which session, and the answer clears __Host-sa_rt " +
      "and __Host-sa_at; __Host-sa_dev (the device token) stays.",
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
    let { refreshToken } = parsed.data;
    let accessToken = parseBearerToken(c.req.header("Authorization"));
    if (wantsCookies(c)) {
      refuseCrossSite(c);
      refreshToken ??= refreshTokenCookie(c);
      if (c.req.header("Authorization") === undefined) accessToken ??= accessTokenCookie(c);
      clearSessionCookies(c);
    }
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
    description: "Also ends the pending password-reset links and email change.",
    security: [{ bearerAuth: [] }],
    middleware: [ipRateLimit("password"), authenticate(), authorize("profile:write")] as const,
    request: {
      body: json(refusingPrivilegedFields({ currentPassword: PasswordInput, newPassword: NewPasswordInput })),
    },
    responses: { 204: { description: "Password changed" }, ...problemResponses(400, 401, 403, 413, 415, 429, 503) },
  }),
  async (c) => {
    const { currentPassword, newPassword } = c.req.valid("json");
    const { sub, sid } = c.var.auth;
    await c.var.services
      .accounts()
      .changePassword({ userId: sub, sessionId: sid, currentPassword, newPassword }, requestOrigin(c.req.raw));
    return c.body(null, 204);
  },
);
