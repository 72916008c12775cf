// Passkeys over HTTP: registering, listing and removing the caller's
// (/me/passkeys) and signing in with one (/auth/passkey). HTTP only: the
// WebAuthn JSON forms in and out, PasskeyService in between. Options and
// removal need a recent sign-in (recent()).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import type { AppEnv } from "../../http/context";
import { ValidationFailed } from "../../core/errors";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { ipRateLimit } from "../../http/rate-limit";
import { recent } from "../../http/recent";
import { noStoreOn } from "../../http/security-headers";
import type { PasskeyRecord } from "./store";
import { problemResponses } from "../../http/openapi";
import { IdParams } from "../../http/params";
import { deviceInfo, requestOrigin } from "../../http/request-origin";
import {
  CredentialResponse,
  DisplayNameInput,
  json,
  ok,
  refusingPrivilegedFields,
  TokenPairSchema,
  UserSchema,
  WebAuthnOptions,
} from "../../http/schemas";
import { callerOf, checkCookieModeOrigin, loggedInBody } from "../../http/session-answer";

export const passkeyRoutes = noStoreOn(new OpenAPIHono<AppEnv>(), "/me/passkeys/*", "/auth/passkey/*", "/auth/passkey");

const PasskeySchema = z
  .object({
    id: z.string().uuid(),
    name: z.string().nullable(),
    createdAt: z.string().datetime(),
    lastUsedAt: z.string().datetime().nullable(),
  })
  .openapi("Passkey");

/**
 * What the user calls a passkey: a display name (no control or bidi characters, trimmed), at most 64 characters;
 * empty or absent for none.
 */
const PasskeyName = DisplayNameInput.refine(
  (name) => name == null || name.length <= 64,
  "At most 64 characters",
).openapi({ maxLength: 64 });

/** `email` is accepted and not used: the options never list credentials, so they say nothing about any account. */
const PasskeyOptionsBody = refusingPrivilegedFields({ email: z.string().max(320).optional() });

const toApiPasskey = (p: PasskeyRecord) => ({
  id: p.id,
  name: p.name,
  createdAt: p.createdAt.toISOString(),
  lastUsedAt: p.lastUsedAt?.toISOString() ?? null,
});

passkeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/me/passkeys/options",
    operationId: "passkeyRegistrationOptions",
    tags: ["passkeys"],
    summary: "Options to create a passkey for the signed-in user",
    description:
      "Needs a recent sign-in. The challenge lives 5 minutes and is used once. Needs a verified email address " +
      "(403 email_not_verified): whoever registered an address that is not theirs cannot plant a factor " +
      "that outlives its owner's recovery. Adding a passkey ends a pending email change.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write"), recent()] as const,
    responses: {
      200: ok("PublicKeyCredentialCreationOptionsJSON", WebAuthnOptions),
      ...problemResponses(401, 403, 503),
    },
  }),
  async (c) =>
    c.json(
      (await c.var.services.passkeys().registrationOptions(callerOf(c))) as unknown as Record<string, unknown>,
      200,
    ),
);

passkeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/me/passkeys",
    operationId: "registerPasskey",
    tags: ["passkeys"],
    summary: "Register a passkey from the browser's response to the creation options",
    description:
      "400 validation_failed (path `response`) when the response does not verify: wrong origin or relying " +
      "party, no user verification, or a challenge that is unknown, expired, used or not yours. Needs a " +
      "verified email address (403 email_not_verified): whoever registered an address that is not theirs " +
      "cannot plant a factor that outlives its owner's recovery. Ends a pending email change.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write")] as const,
    request: { body: json(refusingPrivilegedFields({ response: CredentialResponse, name: PasskeyName })) },
    responses: {
      201: ok("Registered", z.object({ passkey: PasskeySchema })),
      ...problemResponses(400, 401, 403, 413, 415, 503),
    },
  }),
  async (c) => {
    const { response, name } = c.req.valid("json");
    const passkey = await c.var.services
      .passkeys()
      .register(callerOf(c), response as unknown as RegistrationResponseJSON, name?.trim() || null);
    return c.json({ passkey: toApiPasskey(passkey) }, 201);
  },
);

passkeyRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me/passkeys",
    operationId: "listPasskeys",
    tags: ["passkeys"],
    summary: "The signed-in user's passkeys",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write")] as const,
    responses: {
      200: ok("Passkeys, oldest first", z.object({ passkeys: z.array(PasskeySchema) })),
      ...problemResponses(401, 403, 503),
    },
  }),
  async (c) => c.json({ passkeys: (await c.var.services.passkeys().list(c.var.auth.sub)).map(toApiPasskey) }, 200),
);

passkeyRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/me/passkeys/{id}",
    operationId: "removePasskey",
    tags: ["passkeys"],
    summary: "Remove one of the signed-in user's passkeys",
    description: "Needs a recent sign-in. 404 when absent or someone else's. Ends a pending email change.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate(), authorize("profile:write"), recent()] as const,
    request: { params: IdParams },
    responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    await c.var.services.passkeys().remove(callerOf(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

passkeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/passkey/options",
    operationId: "passkeySignInOptions",
    security: [],
    tags: ["auth"],
    summary: "Options to sign in with a passkey (discoverable credentials)",
    description:
      "The same answer for any email, known or not: no credential list. The challenge lives 5 minutes and is " +
      "used once.",
    middleware: [ipRateLimit("passkey")] as const,
    request: { body: { content: { "application/json": { schema: PasskeyOptionsBody } }, required: false } },
    responses: {
      200: ok("PublicKeyCredentialRequestOptionsJSON", WebAuthnOptions),
      ...problemResponses(400, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    const parsed = PasskeyOptionsBody.safeParse(c.req.raw.body === null ? {} : await c.req.json());
    if (!parsed.success) throw ValidationFailed.fromIssues(parsed.error.issues);
    return c.json((await c.var.services.passkeys().signInOptions()) as unknown as Record<string, unknown>, 200);
  },
);

const LoggedInSchema = z.object({ user: UserSchema, tokens: TokenPairSchema, deviceToken: z.string() });

passkeyRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/passkey",
    operationId: "passkeySignIn",
    security: [],
    tags: ["auth"],
    summary: "Sign in with a passkey, alone or as the second step of a password sign-in",
    description:
      'Alone, as two factors since user verification is required (amr ["hwk","mfa"]), or with the mfaToken of ' +
      'a 403 mfa_required (amr ["pwd","hwk","mfa"]; counted in that sign-in\'s throttle bucket). A response ' +
      "that does not verify, an unknown credential or another user's answers 401 invalid_credentials.",
    middleware: [ipRateLimit("passkey")] as const,
    request: {
      body: json(
        refusingPrivilegedFields({
          response: CredentialResponse,
          deviceName: DisplayNameInput,
          mfaToken: z.string().min(1).max(256).optional(),
        }),
      ),
    },
    responses: { 200: ok("Signed in", LoggedInSchema), ...problemResponses(400, 401, 403, 413, 415, 429, 503) },
  }),
  async (c) => {
    checkCookieModeOrigin(c);
    const { response, deviceName, mfaToken } = c.req.valid("json");
    const loggedIn = await c.var.services
      .passkeys()
      .signIn(
        response as unknown as AuthenticationResponseJSON,
        { mfaToken, device: deviceInfo(c.req.raw, deviceName) },
        requestOrigin(c.req.raw),
      );
    return c.json(loggedInBody(c, loggedIn), 200);
  },
);
