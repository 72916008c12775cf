// Second factors over HTTP: TOTP enrolment and removal, recovery codes
// (/me/mfa) and the second step of a password sign-in (POST /auth/mfa);
// re-authentication is features/reauthentication. HTTP only: validate, call
// SecondFactorService, shape the answer. Operations the contract marks
// "recent" run recent() after authenticate.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { authenticate } from "../../http/authenticate";
import { authorize } from "../../http/authorize";
import { ipRateLimit } from "../../http/rate-limit";
import { recent } from "../../http/recent";
import { noStoreOn } from "../../http/security-headers";
import { problemResponses } from "../../http/openapi";
import { deviceInfo, requestOrigin } from "../../http/request-origin";
import {
  DisplayNameInput,
  json,
  ok,
  RecoveryCode,
  refusingPrivilegedFields,
  TokenPairSchema,
  TotpCode,
  UserSchema,
} from "../../http/schemas";
import { callerOf, checkCookieModeOrigin, loggedInBody } from "../../http/session-answer";
import { renderSVG } from "uqr";

export const mfaRoutes = noStoreOn(new OpenAPIHono<AppEnv>(), "/me/mfa/*", "/auth/mfa");

const MfaToken = z.string().min(1).max(256).openapi({ description: "The mfaToken of the mfa_required answer" });
const RecoveryCodesSchema = z.object({
  recoveryCodes: z
    .array(z.string())
    .length(10)
    .openapi({ description: "Shown once: store them somewhere safe. Each works once." }),
});

const selfService = [authenticate(), authorize("profile:write")] as const;

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/me/mfa/totp",
    operationId: "startTotpEnrolment",
    tags: ["mfa"],
    summary: "Start enrolling TOTP: a new secret, pending until confirmed",
    description:
      "Needs a recent sign-in. A new call replaces a pending secret; refused (400) while TOTP is enrolled. " +
      "Show `otpauthUri` as a QR code. Needs a verified email address (403 email_not_verified): whoever " +
      "registered an address that is not theirs cannot plant a factor that outlives its owner's recovery.",
    security: [{ bearerAuth: [] }],
    middleware: [...selfService, recent()] as const,
    responses: {
      200: ok(
        "The pending secret",
        z.object({
          secret: z.string().openapi({ description: "base32, for typing into an authenticator app" }),
          otpauthUri: z.string(),
        }),
      ),
      ...problemResponses(400, 401, 403, 503),
    },
  }),
  async (c) => c.json(await c.var.services.secondFactors().startTotp(callerOf(c)), 200),
);

mfaRoutes.openapi(
  createRoute({
    method: "get",
    path: "/me/mfa/totp/qr",
    operationId: "pendingTotpQrCode",
    tags: ["mfa"],
    summary: "The pending TOTP secret's otpauth URI as a QR code (SVG)",
    description:
      "For an authenticator app to scan, while an enrolment is pending; 404 once it is confirmed (an enrolled " +
      "secret is never shown again) or when none is pending. Needs a recent sign-in.",
    security: [{ bearerAuth: [] }],
    middleware: [...selfService, recent()] as const,
    responses: {
      200: ok(
        "The QR code",
        z.object({
          svg: z.string().openapi({ description: "An SVG document (image/svg+xml) encoding the otpauth URI" }),
        }),
      ),
      ...problemResponses(401, 403, 404, 503),
    },
  }),
  async (c) => c.json({ svg: renderSVG(await c.var.services.secondFactors().pendingTotpUri(callerOf(c))) }, 200),
);

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/me/mfa/totp/confirm",
    operationId: "confirmTotpEnrolment",
    tags: ["mfa"],
    summary: "Confirm TOTP with a first code; answers the recovery codes",
    description:
      "Needs a verified email address (403 email_not_verified), as enrolling does. Each attempt counts in the " +
      "calling session's own throttle bucket (429 with Retry-After once it is locked), never the account's. " +
      "The fifth wrong code ends the pending enrolment: start another with POST /me/mfa/totp. A confirmed " +
      "factor ends a pending email change.",
    security: [{ bearerAuth: [] }],
    middleware: [...selfService] as const,
    request: { body: json(refusingPrivilegedFields({ code: TotpCode })) },
    responses: {
      200: ok("TOTP is now required at sign-in", RecoveryCodesSchema),
      ...problemResponses(400, 401, 403, 413, 415, 429, 503),
    },
  }),
  async (c) => c.json(await c.var.services.secondFactors().confirmTotp(callerOf(c), c.req.valid("json").code), 200),
);

mfaRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/me/mfa/totp",
    operationId: "removeTotp",
    tags: ["mfa"],
    summary: "Remove TOTP and its recovery codes",
    description: "Needs a recent sign-in. 404 when TOTP is not enrolled. Ends a pending email change.",
    security: [{ bearerAuth: [] }],
    middleware: [...selfService, recent()] as const,
    responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => {
    await c.var.services.secondFactors().removeTotp(callerOf(c));
    return c.body(null, 204);
  },
);

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/me/mfa/recovery-codes",
    operationId: "regenerateRecoveryCodes",
    tags: ["mfa"],
    summary: "New recovery codes; the earlier ones stop working",
    description: "Needs a recent sign-in and TOTP enrolled (404 otherwise). Ends a pending email change.",
    security: [{ bearerAuth: [] }],
    middleware: [...selfService, recent()] as const,
    responses: { 200: ok("The new codes", RecoveryCodesSchema), ...problemResponses(401, 403, 404, 503) },
  }),
  async (c) => c.json(await c.var.services.secondFactors().regenerateRecoveryCodes(callerOf(c)), 200),
);

const LoggedInSchema = z.object({
  user: UserSchema,
  tokens: TokenPairSchema,
  deviceToken: z
    .string()
    .openapi({ description: "For this account on this device: send it with the next sign-in. A secret." }),
});

const MfaBody = z.union([
  refusingPrivilegedFields({ mfaToken: MfaToken, code: TotpCode, deviceName: DisplayNameInput }),
  refusingPrivilegedFields({ mfaToken: MfaToken, recoveryCode: RecoveryCode, deviceName: DisplayNameInput }),
]);

mfaRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/mfa",
    operationId: "completeMfaSignIn",
    security: [],
    tags: ["auth"],
    summary: "Complete a password sign-in with a TOTP code or a recovery code",
    description:
      "The mfaToken lives 5 minutes, is used once, and is spent by 5 wrong codes (then 401 invalid_mfa_token: " +
      'sign in again). Attempts count in the account\'s sign-in throttle. amr is ["pwd","otp","mfa"].',
    middleware: [ipRateLimit("mfa")] as const,
    request: { body: json(MfaBody) },
    responses: { 200: ok("Signed in", LoggedInSchema), ...problemResponses(400, 401, 403, 413, 415, 429, 503) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const step = "code" in body ? { code: body.code } : { recoveryCode: body.recoveryCode };
    const name = deviceInfo(c.req.raw, body.deviceName).name;
    checkCookieModeOrigin(c);
    const signedIn = await c.var.services
      .secondFactors()
      .completeSignIn(body.mfaToken, step, name ? { name } : {}, requestOrigin(c.req.raw));
    return c.json(loggedInBody(c, signedIn), 200);
  },
);
