// Shared OpenAPI pieces: the problem+json schema and helpers that routes use
// to declare their error responses.
import { z } from "@hono/zod-openapi";
import { ERROR_STATUS, type ErrorCode } from "../errors";

export const ProblemSchema = z
  .object({
    type: z.string().url(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const DESCRIPTIONS: Record<number, string> = {
  400: "Validation failed or the body is not JSON",
  401: "Not authenticated",
  403: "Missing permission",
  404: "Not found",
  405: "Method not allowed on this path",
  409: "Conflict",
  413: "Body over 16 KiB",
  415: "Body not application/json",
  429: "Rate limited",
  500: "Internal error, never with details",
  503: "A store the request needs is unreachable; nothing was written",
};

const string = { type: "string" as const };
/** The headers that come with some problems. */
const PROBLEM_HEADERS: Record<number, Record<string, { description: string; schema: typeof string | { type: "integer"; minimum: number } }>> = {
  401: { "WWW-Authenticate": { description: 'RFC 6750: Bearer error="invalid_token", or error="invalid_request" when no Bearer credential was sent', schema: string } },
  405: { Allow: { description: "The methods this path takes", schema: string } },
  429: { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 1 } } },
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
