// onError and notFound for the app: every failure leaves as problem+json.
// AuthErrors carry their own code; anything else (a driver error, a bug, a
// bad configuration) is logged by name only and answered 500 with no details.
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { AuthError, ConfigError, NotFound, ServiceUnavailable, ValidationFailed } from "../../errors";
import { problemResponse } from "./problem";

export { problemBody, problemResponse, PROBLEM_TYPE_BASE } from "./problem";

export const onError: ErrorHandler = (error, c) => {
  return problemResponse(toAuthError(error, c));
};

export const notFound: NotFoundHandler = () => problemResponse(new NotFound());

function toAuthError(error: unknown, c: Context): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof HTTPException) {
    // Raised by Hono's and the OpenAPI validator's own checks; the json-body
    // middleware answers first, so these are a backstop, mapped by status.
    if (error.status === 413) return new AuthError("payload_too_large");
    if (error.status === 415) return new AuthError("unsupported_media_type");
    if (error.status === 400) return new AuthError("invalid_json");
    if (error.status === 404) return new NotFound();
  }
  if (hasSqlState(error, "40P01", "40001")) {
    // A deadlock or serialization failure rolled the transaction back: nothing was written.
    console.error(JSON.stringify({ level: "error", msg: "transaction aborted by the database", path: c.req.path, error: describe(error) }));
    return new ServiceUnavailable(error);
  }
  if (isUnstorableText(error)) return new ValidationFailed([{ path: "(input)", message: "Contains characters that cannot be stored" }]);
  if (isDatabaseUnreachable(error)) {
    console.error(JSON.stringify({ level: "error", msg: "database unreachable", path: c.req.path, error: describe(error) }));
    return new ServiceUnavailable(error);
  }
  if (error instanceof ConfigError) {
    console.error(JSON.stringify({ level: "error", msg: error.message }));
  } else {
    console.error(JSON.stringify({ level: "error", msg: "unhandled error", path: c.req.path, error: describe(error) }));
  }
  return new AuthError("internal_error", { cause: error });
}

/** Whether the error, or one it wraps, carries one of these SQLSTATEs. */
function hasSqlState(error: unknown, ...codes: string[]): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && codes.includes(code)) return true;
  }
  return false;
}

/** Postgres refusing text it cannot store (a NUL that slipped past the input checks). */
function isUnstorableText(error: unknown): boolean {
  return hasSqlState(error, "22021", "22P05");
}

/** Connection-level failures, as opposed to errors in a query. */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== "object") break;
    const { code, message, type } = e as { code?: unknown; message?: unknown; type?: unknown };
    if (typeof code === "string" && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|08\d{3}|57P0[1-3])$/.test(code)) return true;
    if (type === "error" && e.constructor?.name === "ErrorEvent") return true; // WebSocket failed to open
    if (typeof message === "string" && /connection (terminated|timeout)|websocket|timeout exceeded when trying to connect|ECONNREFUSED|Connection refused/i.test(message)) return true;
  }
  return false;
}

/**
 * The error's class and a code (a SQLSTATE from a driver error wrapped in the
 * ORM's, say), never a message: messages may hold SQL and its parameters.
 */
function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: typeof error };
  const names: string[] = [];
  let code: string | undefined;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    names.push(e.name);
    const candidate = (e as { code?: unknown }).code;
    if (code === undefined && typeof candidate === "string") code = candidate;
  }
  return { name: names.join(" < "), ...(code === undefined ? {} : { code }) };
}
