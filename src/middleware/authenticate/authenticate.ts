// The authenticate middleware: a request passes only with a Bearer access
// token that verifies and whose session is not revoked; the claims are then
// in `c.var.auth`. Failures throw InvalidToken, which the error mapper turns
// into a 401 with the RFC 6750 WWW-Authenticate header.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../context";
import { InvalidToken } from "../../errors";
import { SessionRevocationList } from "../../services/revocation";
import { authenticateAccessToken } from "../../services/tokens";
import { parseBearerToken } from "./bearer";

export const authenticate = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = parseBearerToken(c.req.header("Authorization"));
    if (token === undefined) {
      throw new InvalidToken({ bearerError: "invalid_request", cause: new Error("no Bearer credential in the Authorization header") });
    }
    const { config, deps } = c.var;
    const claims = await authenticateAccessToken(token, {
      config,
      clock: deps.clock,
      revocations: new SessionRevocationList(c.env.REVOKED_SESSIONS, config.accessTokenTtl),
    });
    c.set("auth", claims);
    await next();
  });
