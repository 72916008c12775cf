// RFC 9457 problem details: the one place an error becomes a response body.
// The body's type is the Problem schema of /openapi.json as the client
// package's generated types have it, so the two cannot drift apart.
import type { components } from "../../../packages/client/src/api";
import {
  type AuthError,
  ERROR_STATUS,
  MfaRequired,
  ReauthenticationRequired,
  ValidationFailed,
} from "../../core/errors";

const PROBLEM_TYPE_BASE = "https://secureauth.dev/errors/";

export type ProblemBody = components["schemas"]["Problem"];

export function problemBody(error: AuthError): ProblemBody {
  const body: ProblemBody = {
    type: PROBLEM_TYPE_BASE + error.code,
    title: ERROR_STATUS[error.code].title,
    status: error.status,
    code: error.code,
  };
  if (error.detail !== undefined) body.detail = error.detail;
  if (error instanceof ValidationFailed) body.errors = error.errors;
  if (error instanceof MfaRequired) {
    body.mfaToken = error.mfaToken;
    body.methods = error.methods;
  }
  if (error instanceof ReauthenticationRequired) body.methods = error.methods;
  return body;
}

export function problemResponse(error: AuthError): Response {
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/problem+json");
  return new Response(JSON.stringify(problemBody(error)), { status: error.status, headers });
}
