// RFC 9457 problem details: the one place an error becomes a response body.
import {
  type AuthError,
  ERROR_STATUS,
  MfaRequired,
  ReauthenticationRequired,
  ValidationFailed,
  type ErrorCode,
  type MfaMethod,
  type ReauthMethod,
} from "../../core/errors";

const PROBLEM_TYPE_BASE = "https://secureauth.dev/errors/";

export type ProblemBody = {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  errors?: { path: string; message: string }[];
  /** mfa_required: the token that completes the sign-in, and the methods that can; reauthentication_required: the proofs that would be enough. */
  mfaToken?: string;
  methods?: MfaMethod[] | ReauthMethod[];
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
