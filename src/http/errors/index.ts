// onError and notFound for the app: every failure leaves as problem+json.
// AuthErrors carry their own code (the postgres stores has already turned
// driver failures into ServiceUnavailable); anything else (a bug, a bad
// configuration) is logged by name only and answered 500 with no details.
import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  AuthError,
  ConfigError,
  describeError,
  InternalError,
  InvalidJson,
  NotFound,
  PayloadTooLarge,
  UnsupportedMediaType,
} from "../../core/errors";
import { problemResponse } from "./problem";

export const onError: ErrorHandler = (error, c) => {
  const known = toAuthError(error);
  if (known) return problemResponse(known);
  if (error instanceof ConfigError) {
    console.error(JSON.stringify({ level: "error", msg: error.message }));
  } else {
    console.error(
      JSON.stringify({ level: "error", msg: "unhandled error", path: c.req.path, error: describeError(error) }),
    );
  }
  return problemResponse(new InternalError(error));
};

export const notFound: NotFoundHandler = () => problemResponse(new NotFound());

function toAuthError(error: unknown): AuthError | undefined {
  if (error instanceof AuthError) return error;
  if (error instanceof HTTPException) {
    // Raised by Hono's and the OpenAPI validator's own checks; the json-body
    // middleware answers first, so these are a backstop, mapped by status.
    if (error.status === 413) return new PayloadTooLarge();
    if (error.status === 415) return new UnsupportedMediaType();
    if (error.status === 400) return new InvalidJson(error);
    if (error.status === 404) return new NotFound();
  }
  return undefined;
}
