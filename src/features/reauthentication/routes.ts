// Re-authentication over HTTP (docs/second-factors.md,
// re-authentication): POST /auth/reauthenticate renews the caller's
// session's proof, with the password alone (an account without a second
// factor), the password and a TOTP code or a recovery code, or a passkey
// assertion for the options of POST /auth/reauthenticate/options. HTTP
// only: validate, hand the proof to SecondFactorService or PasskeyService,
// answer the access token (and its cookie in cookie mode).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { ipRateLimit } from "../../http/rate-limit";
import { noStoreOn } from "../../http/security-headers";
import { problemResponses } from "../../http/openapi";
import {
  CredentialResponse,
  json,
  ok,
  PasswordInput,
  RecoveryCode,
  refusingPrivilegedFields,
  TokenPairSchema,
  TotpCode,
  WebAuthnOptions,
} from "../../http/schemas";
import { callerOf, checkCookieModeOrigin, tokensBody } from "../../http/session-answer";

export const reauthenticationRoutes = noStoreOn(
  new OpenAPIHono<AppEnv>(),
  "/auth/reauthenticate",
  "/auth/reauthenticate/*",
);

/** One of four shapes, told apart here so that no field is silently ignored. */
const ReauthBody = refusingPrivilegedFields({
  currentPassword: PasswordInput.optional().openapi({
    description:
      "The current password: alone without a second factor; with `code` or `recoveryCode` when one is enrolled",
  }),
  code: TotpCode.optional(),
  recoveryCode: RecoveryCode.optional().openapi({
    description: "One of the recovery codes (spends it), with currentPassword",
  }),
  response: CredentialResponse.optional().openapi({
    description: "A passkey assertion for the options of POST /auth/reauthenticate/options, alone",
  }),
  emailCode: z
    .string()
    .min(1)
    .max(16)
    .optional()
    .openapi({
      description:
        "For an account without a password: the 6-digit code POST /auth/reauthenticate/email mailed for this " +
        "session, in place of currentPassword",
      example: "042917",
    }),
}).superRefine((body, ctx) => {
  if (body.response !== undefined) {
    for (const field of ["currentPassword", "code", "recoveryCode", "emailCode"] as const) {
      if (body[field] !== undefined)
        ctx.addIssue({ code: "custom", path: [field], message: "A passkey response re-authenticates alone" });
    }
    return;
  }
  if (body.currentPassword !== undefined && body.emailCode !== undefined)
    ctx.addIssue({ code: "custom", path: ["emailCode"], message: "Send currentPassword or emailCode, not both" });
  if (body.currentPassword === undefined && body.emailCode === undefined)
    ctx.addIssue({
      code: "custom",
      path: ["currentPassword"],
      message: "Required, unless an emailCode (an account without a password) or a passkey response is sent",
    });
  if (body.code !== undefined && body.recoveryCode !== undefined)
    ctx.addIssue({ code: "custom", path: ["recoveryCode"], message: "Send a code or a recovery code, not both" });
});

const ReauthenticatedSchema = z.object({ tokens: TokenPairSchema.omit({ refreshToken: true }) });

reauthenticationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/reauthenticate",
    operationId: "reauthenticate",
    tags: ["auth"],
    summary: "Prove it is you again: a new auth_time and amr for this session",
    description:
      'Without a second factor, `{currentPassword}` (amr ["pwd"]). With one enrolled, a two-factor proof: ' +
      '`{currentPassword, code}` or `{currentPassword, recoveryCode}` (amr ["pwd","otp","mfa"]; the ' +
      "recovery code is spent), or `{response}`, a passkey assertion for POST " +
      '/auth/reauthenticate/options (amr ["hwk","mfa"]); the password alone then answers 403 ' +
      "reauthentication_required with `methods`. " +
      'An account without a password (hasPassword false) sends `{emailCode}` (amr ["email"]), or ' +
      '`{emailCode, code}` / `{emailCode, recoveryCode}` with a second factor (amr ["email","otp","mfa"]), ' +
      "the code from POST /auth/reauthenticate/email; an account with a password gets 400 validation_failed " +
      "for it. " +
      "The password is checked first and counts in the calling session's own throttle bucket, never the " +
      "account's, so a stranger's sign-in guesses never stop the signed-in owner; so does a code. Answers a " +
      "new access token for the same session; the refresh token you hold stays valid (no refreshToken in " +
      "the answer), and its refreshes keep the new proof. In cookie mode (X-Auth-Mode: cookie) the " +
      "access cookie is set too.",
    security: [{ bearerAuth: [] }],
    middleware: [ipRateLimit("reauthenticate"), authenticate()] as const,
    request: { body: json(ReauthBody) },
    responses: {
      200: ok("Re-authenticated", ReauthenticatedSchema),
      ...problemResponses(400, 401, 403, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    const { currentPassword, emailCode, code, recoveryCode, response } = c.req.valid("json");
    checkCookieModeOrigin(c);
    const caller = callerOf(c);
    const renewed =
      response !== undefined
        ? await c.var.services.passkeys().reauthenticate(caller, response as unknown as AuthenticationResponseJSON)
        : await c.var.services.secondFactors().reauthenticate(caller, {
            ...(emailCode !== undefined ? { emailCode } : { currentPassword: currentPassword! }),
            code,
            recoveryCode,
          });
    return c.json(tokensBody(c, renewed), 200);
  },
);

reauthenticationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/reauthenticate/options",
    operationId: "reauthenticationPasskeyOptions",
    tags: ["auth", "passkeys"],
    summary: "Passkey request options for re-authenticating the signed-in user",
    description:
      "Lists the caller's passkeys (allowCredentials) and requires user verification. The challenge lives 5 " +
      "minutes, is used once, and re-authenticates only the caller: sign the assertion and send it as " +
      "`{response}` to POST /auth/reauthenticate.",
    security: [{ bearerAuth: [] }],
    middleware: [ipRateLimit("reauthenticate-options"), authenticate()] as const,
    responses: { 200: ok("Request options", WebAuthnOptions), ...problemResponses(401, 403, 429, 503) },
  }),
  async (c) => c.json(await c.var.services.passkeys().reauthenticationOptions(callerOf(c)), 200),
);

reauthenticationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/reauthenticate/email",
    operationId: "reauthenticationEmailCode",
    tags: ["auth"],
    summary: "Mail a re-authentication code to the caller's verified address (accounts without a password)",
    description:
      "For an account without a password: mails a 6-digit code to the caller's verified address, bound to " +
      "this session (10 minutes, single use, five wrong codes spend it, a newer one ends it). Send it as " +
      "`{emailCode}` to POST /auth/reauthenticate from this session. An account with a password answers 400 " +
      "validation_failed (it re-authenticates with its password), an unverified address 403 " +
      "email_not_verified, and past 5 codes an hour for the address 429.",
    security: [{ bearerAuth: [] }],
    middleware: [ipRateLimit("reauthenticate-email"), authenticate()] as const,
    responses: {
      202: ok("Code mailed", z.object({}).openapi("ReauthenticationCodeSent")),
      ...problemResponses(400, 401, 403, 429, 503),
    },
  }),
  async (c) => {
    checkCookieModeOrigin(c);
    await c.var.services.emailReauthCodes().send(callerOf(c));
    return c.json({}, 202);
  },
);
