// Shared OpenAPI pieces: the problem+json schema and helpers that routes use
// to declare their error responses.
import { type OpenAPIHono, z } from "@hono/zod-openapi";
// The package's version, read when the Worker is bundled (only this field is kept).
import { version } from "../../package.json";
import { ERROR_STATUS, type ErrorCode } from "../core/errors";

export const ProblemSchema = z
  .object({
    type: z.string().url(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    mfaToken: z.string().optional().openapi({
      description: "mfa_required only: send it to POST /auth/mfa or POST /auth/passkey within 5 minutes. A secret.",
    }),
    methods: z
      .array(
        z.enum([
          "totp",
          "recovery_code",
          "passkey",
          "password",
          "password+totp",
          "password+recovery_code",
          "email_code",
          "email_code+totp",
          "email_code+recovery_code",
        ]),
      )
      .optional()
      .openapi({
        description:
          "mfa_required: the second factors that can complete this sign-in (totp, recovery_code, passkey). " +
          "reauthentication_required: what POST /auth/reauthenticate needs for this account: password (no " +
          "second factor), else password+totp, password+recovery_code, passkey; for an account without a " +
          "password, email_code (POST /auth/reauthenticate/email) in place of password",
      }),
  })
  .openapi("Problem");

const DESCRIPTIONS: Record<number, string> = {
  400: "Validation failed or the body is not JSON",
  401: "Not authenticated",
  403:
    "Forbidden; `code` says why (insufficient_permission, csrf_rejected when a cookie-authenticated unsafe " +
    "request lacks X-Auth-Mode: cookie or an allowed Origin, ...)",
  404: "Not found",
  405: "Method not allowed on this path",
  409: "Conflict",
  413: "Body over 16 KiB",
  415: "Body not application/json",
  429: "Rate limited",
  500: "Internal error, never with details",
  502: "The identity provider refused, failed, or answered something that does not verify",
  503: "A store the request needs is unreachable; nothing was written",
};

const string = { type: "string" as const };
/** The headers that come with some problems. */
const PROBLEM_HEADERS: Record<
  number,
  Record<string, { description: string; schema: typeof string | { type: "integer"; minimum: number } }>
> = {
  401: {
    "WWW-Authenticate": {
      description:
        'RFC 6750: Bearer error="invalid_token", or error="invalid_request" when no Bearer credential was sent',
      schema: string,
    },
  },
  405: { Allow: { description: "The methods this path takes", schema: string } },
  429: {
    "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 1 } },
  },
};

type ProblemResponse = {
  description: string;
  headers?: (typeof PROBLEM_HEADERS)[number];
  content: { "application/problem+json": { schema: typeof ProblemSchema } };
};

/** Problem responses for these statuses, plus 405 and 500, which any route may answer. */
export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    [...new Set([...statuses, 405, 500])].map((status) => [
      status,
      {
        description: DESCRIPTIONS[status] ?? "Error",
        ...(PROBLEM_HEADERS[status] ? { headers: PROBLEM_HEADERS[status] } : {}),
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  ) as Record<S | 405 | 500, ProblemResponse>;
}

/** The API's two ways to present an access token (docs/browser-mode.md). */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "The access token in `Authorization: Bearer <token>`.",
  },
  cookieAuth: {
    type: "apiKey",
    in: "cookie",
    name: "__Host-sa_at",
    description:
      "Cookie mode: the access token in the `__Host-sa_at` cookie that a sign-in with `X-Auth-Mode: cookie` " +
      "sets. Used only when no Authorization header is sent. A cookie-authenticated unsafe request (POST, " +
      "PUT, PATCH, DELETE) must also carry `X-Auth-Mode: cookie` and come from an Origin in " +
      "ALLOWED_ORIGINS or the service's own (PUBLIC_URL's; on a loopback host, the request's), else 403 " +
      "csrf_rejected.",
  },
} as const;

type Json = Record<string, unknown>;
type DocumentOperation = {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses?: Record<string, Json>;
};
type OpenApiDocument = {
  paths?: Record<string, Record<string, unknown>>;
  components?: { securitySchemes?: Json } & Json;
};
type AnyDocument = { paths?: object; components?: object };

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const UNSAFE_METHODS: ReadonlySet<string> = new Set(["post", "put", "patch", "delete"]);

/** A problem response as the generated document has it: the schema by reference. */
function problemResponse(status: number): Json {
  return {
    description: DESCRIPTIONS[status] ?? "Error",
    ...(PROBLEM_HEADERS[status] ? { headers: PROBLEM_HEADERS[status] } : {}),
    content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
  };
}

/**
 * The rules every operation follows, applied once to the generated document
 * rather than repeated in each route (routes may still declare them):
 * - an operation that takes an access token takes it either way: after
 *   `bearerAuth` it also lists `cookieAuth`; such an operation can answer 401
 *   (with WWW-Authenticate) and 503 (the revocation list is a store), and,
 *   when unsafe, 403 (csrf_rejected in cookie mode);
 * - an operation with a request body can answer 400, 413 and 415;
 * - any operation can answer 405 (with Allow) and 500;
 * - a 401, 405 or 429 always documents the header it carries.
 * Public operations keep `security: []`.
 */
export function completeDocument<D extends AnyDocument>(document: D): D {
  const doc = document as OpenApiDocument;
  doc.components = { ...doc.components, securitySchemes: { ...doc.components?.securitySchemes, ...SECURITY_SCHEMES } };
  for (const item of Object.values(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method] as DocumentOperation | undefined;
      if (!op) continue;
      const responses = (op.responses ??= {});
      const add = (...statuses: number[]) => {
        for (const status of statuses) responses[status] ??= problemResponse(status);
      };
      const bearer = op.security?.findIndex((requirement) => "bearerAuth" in requirement) ?? -1;
      if (bearer >= 0) {
        // A new array: the generator hands out the route's own, which later requests reuse.
        if (!op.security!.some((requirement) => "cookieAuth" in requirement))
          op.security = [...op.security!.slice(0, bearer + 1), { cookieAuth: [] }, ...op.security!.slice(bearer + 1)];
        add(401, 503);
        if (UNSAFE_METHODS.has(method)) add(403);
      }
      if (op.requestBody) add(400, 413, 415);
      add(405, 500);
      for (const [status, headers] of Object.entries(PROBLEM_HEADERS)) {
        const response = responses[status];
        if (response && !("$ref" in response))
          response.headers = { ...headers, ...(response.headers as Json | undefined) };
      }
      op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  return document;
}

/**
 * /openapi.json: the app's routes as OpenAPI 3.1, completed as above. The
 * service that answers is the server, so the document is right wherever it
 * is deployed.
 */
/**
 * Built once per app and origin: the routes do not change after start, and generating the document walks every
 * schema.
 */
const documents = new WeakMap<object, Map<string, ReturnType<typeof buildDocument>>>();

// biome-ignore lint/suspicious/noExplicitAny: the document is read from any app, whatever its env type
export function openApiDocument(app: OpenAPIHono<any>, origin: string) {
  let byOrigin = documents.get(app);
  if (!byOrigin) documents.set(app, (byOrigin = new Map()));
  let document = byOrigin.get(origin);
  if (!document) {
    // A Host header could name any origin: keep a few, not one per request.
    if (byOrigin.size >= 8) byOrigin.clear();
    byOrigin.set(origin, (document = buildDocument(app, origin)));
  }
  return document;
}

// biome-ignore lint/suspicious/noExplicitAny: as openApiDocument
function buildDocument(app: OpenAPIHono<any>, origin: string) {
  return completeDocument(
    app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "SecureAuth",
        version,
        description: "Drop-in JWT authentication API for Cloudflare Workers. Errors are RFC 9457 problem details.",
      },
      servers: [{ url: origin }],
    }),
  );
}
