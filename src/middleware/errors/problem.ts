// RFC 9457 problem details: the one place an error becomes a response body.
import { AuthError, ERROR_STATUS, ValidationFailed, type ErrorCode } from "../../errors";

const PROBLEM_TYPE_BASE = "https://secureauth.dev/errors/";

export type ProblemBody = {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  errors?: { path: string; message: string }[];
};

export function problemBody(error: AuthError): ProblemBody {
  const body: ProblemBody = {
    type: PROBLEM_TYPE_BASE + error.code,
    title: ERROR_STATUS[error.code].title,
    status: error.status,
    code: error.code,
  };
  if (error.detail !== undefined) body.detail = error.detail;
  if (error instanceof ValidationFailed) body.errors = error.errors;
  return body;
}

export function problemResponse(error: AuthError): Response {
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/problem+json");
  return new Response(JSON.stringify(problemBody(error)), { status: error.status, headers });
}
