// /auth/email/code: email sign-in (docs/email-sign-in.md). HTTP only: parse
// and validate, call the service, shape the response. The request answers
// 202 `{}` for every address alike; the verification answers like login
// (tokens and deviceToken, or 403 mfa_required), in cookie mode too.
// With EMAIL_SIGN_IN off both paths answer 404 as if absent (feature.ts).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { ValidationFailed } from "../../core/errors";
import { presentedDeviceToken } from "../../http/cookie-mode";
import { ipRateLimit } from "../../http/rate-limit";
import { noStore } from "../../http/security-headers";
import { problemResponses } from "../../http/openapi";
import { deviceInfo, requestOrigin } from "../../http/request-origin";
import {
  DisplayNameInput,
  Email,
  json,
  ok,
  refusingPrivilegedFields,
  TokenPairSchema,
  UserSchema,
} from "../../http/schemas";
import { checkCookieModeOrigin, loggedInBody } from "../../http/session-answer";
import type { EmailCodeProof } from "./service";

export const emailSignInRoutes = new OpenAPIHono<AppEnv>();

const Accepted = z.object({}).openapi("Accepted");

/** Any string up to a bound: a code that is not six digits is simply wrong (counted, invalid_email_code). */
const EmailCodeInput = z
  .string()
  .min(1)
  .max(16)
  .openapi({ description: "The 6-digit code the mail shows", example: "042917" });
/** Any string up to a bound: one that is not a live link's token is invalid_email_code, not a validation error. */
const LinkTokenInput = z
  .string()
  .min(1)
  .max(512)
  .openapi({ description: "The token of the magic link's `token` query parameter" });
const DeviceTokenInput = z
  .string()
  .nullish()
  .openapi({
    description:
      "The deviceToken an earlier successful sign-in of this account on this device answered: attempts count in " +
      "this device's own throttle bucket.",
  });

const EmailSignedInSchema = z
  .object({
    user: UserSchema,
    tokens: TokenPairSchema,
    deviceToken: z.string().openapi({ description: "For this account on this device: send it with the next sign-in." }),
    isNewUser: z.boolean().openapi({ description: "True when this sign-in created the account." }),
  })
  .openapi("EmailSignedIn");

emailSignInRoutes.use("/auth/*", noStore());

emailSignInRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/email/code",
    operationId: "requestEmailCode",
    security: [],
    tags: ["auth"],
    summary: "Mail a 6-digit sign-in code and a magic link to an address",
    description:
      "Answers 202 `{}` whatever the address: the same status, body, headers and time for an unknown, disabled " +
      "or existing account (the code is minted and mailed by the mail queue's consumer). The address gets a code " +
      "and a link to `APP_URL/magic-link?token=...` (or to `redirectTo`, which must be one of REDIRECT_URLS " +
      "exactly, else 400), both valid 10 minutes and once; a newer code ends the older one. An address with no " +
      "account gets one too, unless EMAIL_SIGN_UP is false: verifying it creates the account. Limited per " +
      "client network (429), and to 5 codes an hour per address whoever asks (past that, still 202, nothing " +
      "sent).",
    middleware: [ipRateLimit("email-code")] as const,
    request: {
      body: json(
        refusingPrivilegedFields({
          email: Email,
          redirectTo: z
            .string()
            .max(2048)
            .optional()
            .openapi({ description: "Where the magic link opens: one of REDIRECT_URLS exactly" }),
        }),
      ),
    },
    responses: { 202: ok("Accepted", Accepted), ...problemResponses(400, 404, 413, 415, 429, 503) },
  }),
  async (c) => {
    await c.var.services.emailSignIn().requestCode(c.req.valid("json"));
    return c.json({}, 202);
  },
);

emailSignInRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/email/code/verify",
    operationId: "verifyEmailCode",
    security: [],
    tags: ["auth"],
    summary: "Sign in (or up) with a mailed code, or the magic link's token",
    description:
      '`{email, code}` or `{token}`. Answers like POST /auth/login, with `isNewUser`; amr `["email"]`, and ' +
      "the email is now verified: for an account whose address had never been verified this is its first " +
      "proof, and the sessions, password, factors and pending changes set up before it end. 403 mfa_required " +
      "when a second factor is enrolled (complete with POST /auth/mfa or POST /auth/passkey). 401 " +
      "invalid_email_code for a wrong, expired, spent or replaced code or link (five wrong codes spend it; " +
      "attempts count in the account's throttle bucket). X-Auth-Mode: cookie sets the cookies as login does.",
    middleware: [ipRateLimit("login")] as const,
    request: {
      body: json(
        refusingPrivilegedFields({
          email: Email.optional(),
          code: EmailCodeInput.optional(),
          token: LinkTokenInput.optional(),
          deviceName: DisplayNameInput,
          deviceToken: DeviceTokenInput,
        }),
      ),
    },
    responses: {
      200: ok("Signed in", EmailSignedInSchema),
      ...problemResponses(400, 401, 403, 404, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    checkCookieModeOrigin(c);
    const { email, code, token, deviceName, deviceToken } = c.req.valid("json");
    const proof = proofOf({ email, code, token });
    // In cookie mode the device token lives in its cookie.
    const presented = presentedDeviceToken(c, deviceToken);
    const signedIn = await c.var.services
      .emailSignIn()
      .verify(proof, { device: deviceInfo(c.req.raw, deviceName), deviceToken: presented }, requestOrigin(c.req.raw));
    return c.json({ ...loggedInBody(c, signedIn), isNewUser: signedIn.isNewUser }, 200);
  },
);

/** `{email, code}` or `{token}`, nothing else. */
function proofOf(body: { email?: string; code?: string; token?: string }): EmailCodeProof {
  if (body.token !== undefined && body.email === undefined && body.code === undefined) return { token: body.token };
  if (body.token === undefined && body.email !== undefined && body.code !== undefined)
    return { email: body.email, code: body.code };
  throw new ValidationFailed(
    [{ path: "(body)", message: "Send either email and code, or token" }],
    "Send either email and code, or token",
  );
}
