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
  409: "Conflict",
  413: "Body over 16 KiB",
  415: "Body not application/json",
  429: "Rate limited",
  500: "Internal error, never with details",
  503: "Database unreachable",
};

/** Problem responses for these statuses, plus 500, which any route may answer. */
export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    [...new Set([...statuses, 500])].map((status) => [
      status,
      { description: DESCRIPTIONS[status] ?? "Error", content: { "application/problem+json": { schema: ProblemSchema } } },
    ]),
  ) as Record<S | 500, { description: string; content: { "application/problem+json": { schema: typeof ProblemSchema } } }>;
}
