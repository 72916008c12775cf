// The authenticate middleware: a request passes only with an access token
// that verifies and whose session is not revoked; the claims are then in
// `c.var.auth`. The token is the Bearer credential of the Authorization
// header or, when no header is sent, the `__Host-sa_at` cookie of cookie
// mode; an unsafe request authenticated by the cookie must also pass the
// CSRF rule (cookie-mode). Failures throw InvalidToken, which the error
// mapper turns into a 401 with the RFC 6750 WWW-Authenticate header.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { InvalidToken } from "../../core/errors";
import { accessTokenCookie, refuseCrossSite } from "../cookie-mode";
import { parseBearerToken } from "./bearer";

export const authenticate = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("Authorization");
    let token = parseBearerToken(header);
    if (token === undefined && header === undefined) {
      token = accessTokenCookie(c);
      if (token !== undefined) refuseCrossSite(c);
    }
    if (token === undefined) {
      throw new InvalidToken({
        bearerError: "invalid_request",
        cause: new Error("no Bearer credential in the Authorization header"),
      });
    }
    c.set("auth", await c.var.tokens.authenticate(token));
    await next();
  });
