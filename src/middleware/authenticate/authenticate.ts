// The authenticate middleware: a request passes only with a Bearer access
// token that verifies and whose session is not revoked; the claims are then
// in `c.var.auth`. Failures throw InvalidToken, which the error mapper turns
// into a 401 with the RFC 6750 WWW-Authenticate header.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../context";
import { InvalidToken } from "../../errors";
import { parseBearerToken } from "./bearer";

export const authenticate = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = parseBearerToken(c.req.header("Authorization"));
    if (token === undefined) {
      throw new InvalidToken({ bearerError: "invalid_request", cause: new Error("no Bearer credential in the Authorization header") });
    }
    c.set("auth", await c.var.tokens.authenticate(token));
    await next();
  });
