// Federated sign-in over HTTP: the providers list, the browser flow (start,
// callback by query or Apple's form_post), the code exchange and native ID
// tokens. HTTP only: FederationService decides. The callback's POST is
// exempt from the JSON body rule (src/http/json-body: FORM_POST_PATHS) and
// needs no Origin: it carries its own proof, the state and this browser's
// binding cookie.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { toAuthMethods } from "../../core/domain";
import { ValidationFailed } from "../../core/errors";
import type { AppEnv } from "../../http/context";
import { presentedDeviceToken, refuseCrossSite } from "../../http/cookie-mode";
import { authenticate } from "../../http/authenticate";
import { problemResponses } from "../../http/openapi";
import { ipRateLimit } from "../../http/rate-limit";
import { deviceInfo, requestOrigin } from "../../http/request-origin";
import { DisplayNameInput, json, ok, refusingPrivilegedFields, TokenPairSchema, UserSchema } from "../../http/schemas";
import { forbidCaching, noStore } from "../../http/security-headers";
import { checkCookieModeOrigin, loggedInBody } from "../../http/session-answer";
import { emailSignInOn } from "./email-sign-in";
import { FLOW_TTL_SECONDS, MAX_APP_STATE } from "./flows";
import type { FederatedSignIn } from "./service";

export const federationRoutes = new OpenAPIHono<AppEnv>();

federationRoutes.use("/auth/oauth/*", noStore());
federationRoutes.use("/auth/exchange", noStore());
federationRoutes.use("/auth/handoff", noStore());

export const ProviderParams = z.object({
  provider: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,31}$/)
    .openapi({ param: { name: "provider", in: "path" }, example: "google" }),
});

const ProviderSchema = z
  .object({ id: z.string(), name: z.string(), kind: z.enum(["oauth", "oidc"]) })
  .openapi("SignInProvider");

export const FederatedSignInSchema = z
  .object({
    user: UserSchema,
    tokens: TokenPairSchema,
    deviceToken: z.string().openapi({
      description: "For this account on this device, as login answers it. A secret, like a password.",
    }),
    isNewUser: z.boolean().openapi({ description: "True only when this sign-in created the account." }),
  })
  .openapi("FederatedSignIn");

const DeviceTokenInput = z.string().max(256).nullish();

/** A redirect back to the app or on to the provider: never cached, Referrer-Policy no-referrer (edge). */
const redirect = (c: Context<AppEnv>, location: string) => {
  const res = c.body(null, 302, { Location: location });
  forbidCaching(res.headers);
  return res;
};

federationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/auth/providers",
    operationId: "listSignInProviders",
    security: [],
    tags: ["auth"],
    summary: "The sign-in providers configured, and whether email sign-in is on",
    responses: {
      200: ok(
        "Providers, in the order a sign-in page shows them",
        z.object({ providers: z.array(ProviderSchema), emailSignIn: z.boolean() }),
      ),
      ...problemResponses(),
    },
  }),
  (c) => c.json({ providers: c.var.services.federation().providers(), emailSignIn: emailSignInOn(c.var.config) }, 200),
);

federationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/auth/oauth/{provider}",
    operationId: "startProviderSignIn",
    security: [],
    tags: ["auth"],
    summary: "Start signing in through a provider (send the browser here)",
    description:
      "Answers 302 to the provider with the service's own state, PKCE (S256) and, for OpenID providers, nonce, " +
      "and sets this flow's binding cookie (`__Host-sa_oauth_<flow>`, SameSite=None, 10 minutes, single use). " +
      "`redirect_to` must equal an entry of REDIRECT_URLS exactly; `code_challenge` is the S256 of a verifier " +
      "the app keeps for POST /auth/exchange; `state` (at most 512 characters) comes back unchanged. Limited " +
      "per client network.",
    middleware: [ipRateLimit("oauth_start")] as const,
    request: {
      params: ProviderParams,
      query: z.object({
        redirect_to: z.string().max(2048),
        code_challenge: z.string().max(128),
        code_challenge_method: z.literal("S256").optional(),
        state: z.string().max(MAX_APP_STATE).optional(),
      }),
    },
    responses: {
      302: {
        description: "To the provider's authorization endpoint",
        headers: {
          Location: { schema: { type: "string" } },
          "Set-Cookie": { schema: { type: "string" }, description: "The flow's binding cookie" },
        },
      },
      ...problemResponses(400, 404, 429, 502, 503),
    },
  }),
  async (c) => {
    const { provider } = c.req.valid("param");
    const query = c.req.valid("query");
    const start = await c.var.services.federation().startSignIn(provider, {
      redirectTo: query.redirect_to,
      codeChallenge: query.code_challenge,
      codeChallengeMethod: query.code_challenge_method,
      state: query.state,
      requestUrl: c.req.url,
    });
    if (start.cookie) {
      setCookie(c, start.cookie.name, start.cookie.value, {
        path: "/",
        secure: true,
        httpOnly: true,
        // Apple's form_post is a cross-site POST: Lax would not carry the cookie there.
        sameSite: "None",
        maxAge: FLOW_TTL_SECONDS,
      });
    }
    return redirect(c, start.url);
  },
);

/** Both callbacks: the provider's parameters, the binding cookie, and back to the app. */
async function callback(c: Context<AppEnv>, provider: string, params: URLSearchParams) {
  const { location, clearCookie } = await c.var.services
    .federation()
    .callback(provider, params, (name) => getCookie(c, name), c.req.url, requestOrigin(c.req.raw));
  if (clearCookie) deleteCookie(c, clearCookie, { path: "/", secure: true, sameSite: "None", httpOnly: true });
  return redirect(c, location);
}

const callbackResponses = {
  302: {
    description:
      "Back to the app: `redirect_to?code=CODE&state=S` (a one-time code, 60 s), or " +
      "`redirect_to?error=CODE&error_description=TEXT&state=S` (identity_provider_error, " +
      "account_link_required, invalid_credentials)",
    headers: { Location: { schema: { type: "string" as const } } },
  },
  ...problemResponses(400, 404, 413, 415, 503),
};

federationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/auth/oauth/{provider}/callback",
    operationId: "providerCallback",
    security: [],
    tags: ["auth"],
    summary: "The provider's return (register PUBLIC_URL/auth/oauth/{provider}/callback with it)",
    description:
      "400 invalid_oauth_state, answered directly, when the state is unknown, expired, used or not bound to " +
      "this browser by its cookie: without it there is no redirect_to to trust.",
    request: { params: ProviderParams },
    responses: callbackResponses,
  }),
  (c) => callback(c, c.req.valid("param").provider, new URL(c.req.url).searchParams),
);

federationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/oauth/{provider}/callback",
    operationId: "providerFormPostCallback",
    security: [],
    tags: ["auth"],
    summary: "The provider's return by form_post (Apple)",
    description:
      "An application/x-www-form-urlencoded body (exempt from the JSON and Origin rules: it carries its own " +
      "proof, the state and the binding cookie); answers as the GET callback.",
    request: {
      params: ProviderParams,
      body: {
        content: { "application/x-www-form-urlencoded": { schema: z.record(z.string(), z.string()) } },
        required: true,
      },
    },
    responses: callbackResponses,
  }),
  async (c) => {
    const type = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded")
      throw new ValidationFailed([{ path: "(body)", message: "Must be a form body" }]);
    return callback(c, c.req.valid("param").provider, new URLSearchParams(await c.req.text()));
  },
);

/** The answer of a provider sign-in: as login's (cookie mode included), with isNewUser. */
const signedIn = (c: Context<AppEnv>, result: FederatedSignIn) => ({
  ...loggedInBody(c, result),
  isNewUser: result.isNewUser,
});

federationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/exchange",
    operationId: "exchangeSignInCode",
    security: [],
    tags: ["auth"],
    summary: "Exchange a provider sign-in's one-time code for a session",
    description:
      "The code from the return URL and the verifier of the code_challenge the flow started with. Answers as " +
      "login: 403 mfa_required when the account has a second factor (a provider is one factor; the second " +
      'step makes amr ["fed","otp","mfa"] or ["fed","hwk","mfa"]), else amr ["fed"]. 400 ' +
      "invalid_one_time_token for an unknown, expired or used code or a wrong verifier; a code presented " +
      "twice also ends the session its first exchange opened. Cookie mode with X-Auth-Mode: cookie. Limited " +
      "per client network.",
    middleware: [ipRateLimit("oauth_exchange")] as const,
    request: {
      body: json(
        refusingPrivilegedFields({
          code: z.string().min(1).max(128),
          codeVerifier: z.string().min(43).max(128),
          deviceName: DisplayNameInput,
          deviceToken: DeviceTokenInput,
        }),
      ),
    },
    responses: {
      200: ok("Signed in", FederatedSignInSchema),
      ...problemResponses(400, 401, 403, 413, 415, 429, 503),
    },
  }),
  async (c) => {
    checkCookieModeOrigin(c);
    const { code, codeVerifier, deviceName, deviceToken } = c.req.valid("json");
    const presented = presentedDeviceToken(c, deviceToken);
    const result = await c.var.services
      .federation()
      .exchange(
        { code, codeVerifier, deviceToken: presented },
        deviceInfo(c.req.raw, deviceName),
        requestOrigin(c.req.raw),
      );
    return c.json(signedIn(c, result), 200);
  },
);

federationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/oauth/{provider}/id-token",
    operationId: "signInWithIdToken",
    security: [],
    tags: ["auth"],
    summary: "Sign in a native app with the provider's ID token",
    description:
      "For Google, Apple and OpenID providers listed with nativeClientIds. The app made a random `nonce` and " +
      "gave the provider its SHA-256 in hex: the token's nonce must equal it, and a nonce is accepted once. " +
      "The token's signature (the provider's keys), issuer, audience (clientId or a native client id) and " +
      "expiry are checked; a token that fails answers 401 invalid_credentials. Answers as POST " +
      "/auth/exchange; 409 account_link_required directly.",
    middleware: [ipRateLimit("oauth_id_token")] as const,
    request: {
      params: ProviderParams,
      body: json(
        refusingPrivilegedFields({
          idToken: z.string().min(1).max(8192),
          nonce: z.string().min(16).max(256),
          deviceName: DisplayNameInput,
          deviceToken: DeviceTokenInput,
        }),
      ),
    },
    responses: {
      200: ok("Signed in", FederatedSignInSchema),
      ...problemResponses(400, 401, 403, 404, 409, 413, 415, 429, 502, 503),
    },
  }),
  async (c) => {
    checkCookieModeOrigin(c);
    const { provider } = c.req.valid("param");
    const { idToken, nonce, deviceName, deviceToken } = c.req.valid("json");
    const presented = presentedDeviceToken(c, deviceToken);
    const result = await c.var.services
      .federation()
      .signInWithIdToken(
        provider,
        { idToken, nonce, deviceToken: presented },
        deviceInfo(c.req.raw, deviceName),
        requestOrigin(c.req.raw),
      );
    return c.json(signedIn(c, result), 200);
  },
);

federationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/auth/handoff",
    operationId: "handoff",
    tags: ["auth"],
    summary: "Hand the hosted pages' session to the app that sent the browser to /sign-in",
    description:
      "The hosted pages' signed-in session (cookie mode: X-Auth-Mode: cookie and an allowed Origin, else 403 " +
      "csrf_rejected) makes a one-time code (60 s, single use) bound to the app's S256 `codeChallenge`, and " +
      "answers where to send the browser: `redirectTo?code=...&state=...`. `redirectTo` must be exactly one of " +
      "REDIRECT_URLS (else 400 validation_failed); `state` (at most 512 characters) comes back unchanged. POST " +
      "/auth/exchange spends the code for a new session of the app's own, with this session's amr, auth_time and " +
      "idp.",
    security: [{ bearerAuth: [] }],
    middleware: [authenticate()] as const,
    request: {
      body: json(
        refusingPrivilegedFields({
          redirectTo: z.string().max(2048),
          codeChallenge: z.string().max(128),
          state: z.string().max(MAX_APP_STATE).optional(),
        }),
      ),
    },
    responses: {
      200: ok(
        "Where to send the browser",
        z.object({ redirect: z.string().openapi({ example: "https://app.example.com/callback?code=...&state=..." }) }),
      ),
      ...problemResponses(400, 401, 403, 413, 415, 503),
    },
  }),
  async (c) => {
    // Whatever carried the access token, the handoff is the pages' own, in cookie mode: the CSRF rule always.
    refuseCrossSite(c);
    const auth = c.var.auth;
    const answer = await c.var.services.federation().handoff(
      {
        userId: auth.sub,
        proof: {
          amr: toAuthMethods(auth.amr),
          authTime: new Date(auth.auth_time * 1000),
          ...(auth.idp === undefined ? {} : { idp: auth.idp }),
        },
      },
      c.req.valid("json"),
    );
    return c.json(answer, 200);
  },
);
