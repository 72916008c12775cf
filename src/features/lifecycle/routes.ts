// /me: the caller's own profile and security activity.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { InvalidToken, ValidationFailed } from "../../core/errors";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { recent } from "../../http/recent";
import { problemResponses } from "../../http/openapi";
import { requestOrigin } from "../../http/request-origin";
import {
  AuditPageSchema,
  DisplayNameInput,
  Email,
  json,
  ok,
  PageQuerySchema,
  PasswordInput,
  refusingPrivilegedFields,
  toApiUser,
  UserSchema,
} from "../../http/schemas";

export const meRoutes = new OpenAPIHono<AppEnv>();

meRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me",
    operationId: "getMe",
    tags: ["me"],
    summary: "The signed-in user",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:read")] as const,
    responses: {
      200: { description: "The user", content: { "application/json": { schema: z.object({ user: UserSchema }) } } },
      ...problemResponses(401, 403, 503),
    },
  }),
  async (c) => {
    const user = await c.var.services.profiles().get(c.var.auth.sub);
    // A token whose user is gone is no longer a valid credential.
    if (!user) throw new InvalidToken({ cause: new Error("user no longer exists") });
    return c.json({ user: toApiUser(user) }, 200);
  },
);

meRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me/activity",
    operationId: "listMyActivity",
    tags: ["me"],
    summary: "The signed-in user's own security events, newest first",
    description:
      "actorId appears only on events someone else caused (an administrator changing the user's roles, say), " +
      "and such events carry no ip or userAgent: those are the other person's. Events the user caused show " +
      "their own ip and userAgent.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:read")] as const,
    request: { query: PageQuerySchema },
    responses: {
      200: { description: "A page of events", content: { "application/json": { schema: AuditPageSchema } } },
      ...problemResponses(400, 401, 403, 503),
    },
  }),
  async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const page = await c.var.services.activity().own(c.var.auth.sub, { cursor, limit });
    return c.json(page, 200);
  },
);

meRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/me",
    operationId: "updateMe",
    tags: ["me"],
    summary: "Change the signed-in user's display name",
    description: "The email changes through POST /me/email, the password through POST /auth/password.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write")] as const,
    request: {
      body: json(
        refusingPrivilegedFields(
          { name: DisplayNameInput.openapi({ description: "Up to 100 characters; null or empty clears it." }) },
          { email: "Change the email with POST /me/email", password: "Change the password with POST /auth/password" },
        ),
      ),
    },
    responses: {
      200: ok("The updated user", z.object({ user: UserSchema })),
      ...problemResponses(400, 401, 403, 413, 415, 503),
    },
  }),
  async (c) => {
    const { name } = c.req.valid("json");
    const user = await c.var.services
      .lifecycle()
      .updateProfile(c.var.auth.sub, c.var.auth.sid, { name: name || null }, requestOrigin(c.req.raw));
    return c.json({ user: toApiUser(user) }, 200);
  },
);

/** DELETE /me's body: the current password, for an account that has one. */
const DeleteMeBody = refusingPrivilegedFields({ currentPassword: PasswordInput.optional() });

meRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/me",
    operationId: "deleteMe",
    tags: ["me"],
    summary: "Delete the signed-in user's account",
    description:
      "Needs a recent sign-in (auth_time within REAUTH_MAX_AGE, else 403 reauthentication_required) and the " +
      "current password when the account has one (`hasPassword`; an account a provider created has none, " +
      "and sends no body). Deletes the account with its sessions (their access tokens stop at once), " +
      "tokens, factors and provider identities (Apple's grant revoked at Apple); its audit rows stay, " +
      "naming it by id. The address may register again. 409 last_owner while the account is the last owner " +
      "of an organization with other members; an organization whose only member it is goes with it.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write"), recent()] as const,
    request: { body: { content: { "application/json": { schema: DeleteMeBody } }, required: false } },
    responses: { 204: { description: "Deleted" }, ...problemResponses(400, 401, 403, 409, 413, 415, 429, 503) },
  }),
  async (c) => {
    // Optional (an account without a password sends none), so parsed here rather than by the route validator.
    const parsed = DeleteMeBody.safeParse(c.req.raw.body === null ? {} : await c.req.json());
    if (!parsed.success) throw ValidationFailed.fromIssues(parsed.error.issues);
    const { currentPassword } = parsed.data;
    await c.var.services
      .lifecycle()
      .deleteOwnAccount(
        { userId: c.var.auth.sub, sessionId: c.var.auth.sid, currentPassword },
        requestOrigin(c.req.raw),
      );
    return c.body(null, 204);
  },
);

meRoutes.openapi(
  createRoute({
    method: "post",
    path: "/me/email",
    operationId: "requestEmailChange",
    tags: ["me"],
    summary: "Change the email address: mails a confirmation link to the new one",
    description:
      "Needs a recent sign-in (403 reauthentication_required), a verified address (403 email_not_verified) " +
      "and the current password. Answers 202 `{}` whatever the new address, so the answer never tells " +
      "whether an account has it: a free address gets a confirmation link (valid 1 hour) and the old " +
      "address a notice; an address in use (your own too) gets a mail saying someone tried to use it, " +
      "and no link. Either counts toward the 5 requests an hour (then 429) and ends the earlier link. " +
      "The address changes when the link is followed (POST /auth/email/change), and the old address " +
      "is then told. A pending change also ends when the password changes or is reset, on " +
      "sign-out-everywhere and when a second factor is added or removed.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write"), recent()] as const,
    request: { body: json(refusingPrivilegedFields({ newEmail: Email, currentPassword: PasswordInput })) },
    responses: {
      202: ok("Accepted, whatever the address", z.object({})),
      ...problemResponses(400, 401, 403, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    const { newEmail, currentPassword } = c.req.valid("json");
    await c.var.services
      .lifecycle()
      .requestEmailChange(
        { userId: c.var.auth.sub, sessionId: c.var.auth.sid, newEmail, currentPassword },
        requestOrigin(c.req.raw),
      );
    return c.json({}, 202);
  },
);
