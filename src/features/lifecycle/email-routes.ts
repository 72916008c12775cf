// The account lifecycle by email, the unauthenticated half and the link
// requests: verification, forgot and reset password, and the confirmation
// of an email change. Every link the service mails carries a one-time token
// that the app's page posts back here. Forgot-password answers 202 `{}` for
// every address alike; what happens next is the queue consumer's business.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { ipRateLimit, requestNetwork } from "../../http/rate-limit";
import { noStore } from "../../http/security-headers";
import { problemResponses } from "../../http/openapi";
import { requestOrigin } from "../../http/request-origin";
import { Email, json, NewPasswordInput, ok, refusingPrivilegedFields, toApiUser, UserSchema } from "../../http/schemas";

export const accountEmailRoutes = new OpenAPIHono<AppEnv>();

/** Any string up to a bound: one that is not a live token of ours is invalid_one_time_token, not a validation error. */
const OneTimeTokenInput = z
  .string()
  .min(1)
  .max(512)
  .openapi({ description: "The token from the link's `token` query parameter." });
const Accepted = z.object({}).openapi("Accepted");
const UserBody = z.object({ user: UserSchema });

accountEmailRoutes.use("/auth/*", noStore());

accountEmailRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/email/verification",
    operationId: "sendEmailVerification",
    tags: ["account"],
    summary: "Mail a new verification link to the caller's address",
    description:
      "Nothing is sent when the address is verified already. At most 5 links an hour per user, then 429. The " +
      "earlier links stop working.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    responses: { 202: ok("Queued (or nothing to send)", Accepted), ...problemResponses(401, 429, 503) },
  }),
  async (c) => {
    await c.var.services.lifecycle().sendVerification(c.var.auth.sub, c.var.auth.sid, requestOrigin(c.req.raw));
    return c.json({}, 202);
  },
);

accountEmailRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/email/verify",
    operationId: "verifyEmail",
    security: [],
    tags: ["account"],
    summary: "Verify the email address with the token of a verification link",
    request: { body: json(refusingPrivilegedFields({ token: OneTimeTokenInput })) },
    responses: { 200: ok("Verified", UserBody), ...problemResponses(400, 413, 415, 503) },
  }),
  async (c) => {
    const user = await c.var.services.lifecycle().verifyEmail(c.req.valid("json").token, requestOrigin(c.req.raw));
    return c.json({ user: toApiUser(user) }, 200);
  },
);

accountEmailRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/password/forgot",
    operationId: "forgotPassword",
    security: [],
    tags: ["account"],
    summary: "Mail a password-reset link, if an active account has this address",
    description:
      "Answers 202 `{}` whatever the address: the same status, body, headers and time for an unknown, " +
      "disabled or existing account. An active account gets a reset link valid for 30 minutes, which ends " +
      "its earlier links. Limited per client network, and per address from each client network; the " +
      "hourly budget of links (5) is counted per requesting network, so requests from another network " +
      "never use up the owner's.",
    middleware: [ipRateLimit("forgot")] as const,
    request: { body: json(refusingPrivilegedFields({ email: Email })) },
    responses: { 202: ok("Accepted", Accepted), ...problemResponses(400, 413, 415, 429, 503) },
  }),
  async (c) => {
    await c.var.services
      .lifecycle()
      .forgotPassword(c.req.valid("json").email, requestNetwork(c.req.header("CF-Connecting-IP")) ?? null);
    return c.json({}, 202);
  },
);

accountEmailRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/password/reset",
    operationId: "resetPassword",
    security: [],
    tags: ["account"],
    summary: "Set a new password with the token of a reset link",
    description:
      "The register policy applies to the new password. Ends every session of the user (their access tokens " +
      "stop at once) and any pending email change, clears the sign-in lockout, and marks the email " +
      "verified. When the address had never been verified, this is its first proof: the factors, " +
      "passkeys, links and device tokens set up before it end too (pre-account hijack).",
    middleware: [ipRateLimit("reset")] as const,
    request: { body: json(refusingPrivilegedFields({ token: OneTimeTokenInput, newPassword: NewPasswordInput })) },
    responses: { 204: { description: "Password reset" }, ...problemResponses(400, 413, 415, 429, 503) },
  }),
  async (c) => {
    await c.var.services.lifecycle().resetPassword(c.req.valid("json"), requestOrigin(c.req.raw));
    return c.body(null, 204);
  },
);

accountEmailRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/email/change",
    operationId: "confirmEmailChange",
    security: [],
    tags: ["account"],
    summary: "Make the new address the account's, with the token of a confirmation link",
    description:
      "The new address is verified; the old one gets a notice that it was replaced. 409 email_taken when an " +
      "account took the address since the link was sent (the link stays usable). A link of a change that " +
      "ended (a newer request, a password change or reset, sign-out-everywhere, a factor change) answers " +
      "400 invalid_one_time_token.",
    responses: {
      200: ok("The account now has the new address, verified", UserBody),
      ...problemResponses(400, 409, 413, 415, 503),
    },
    request: { body: json(refusingPrivilegedFields({ token: OneTimeTokenInput })) },
  }),
  async (c) => {
    const user = await c.var.services
      .lifecycle()
      .confirmEmailChange(c.req.valid("json").token, requestOrigin(c.req.raw));
    return c.json({ user: toApiUser(user) }, 200);
  },
);
