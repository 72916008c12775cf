// recent(): after authenticate, for the operations the API contract marks
// "recent": the token's auth_time (the session's last proof of a
// credential, which refreshes keep) must be within REAUTH_MAX_AGE, else 403
// reauthentication_required. Decided from the claims alone, no I/O.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../context";
import { InvalidToken, ReauthenticationRequired } from "../../errors";

export const recent = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const claims = c.get("auth");
    if (!claims) throw new InvalidToken({ cause: new Error("recent used without authenticate") });
    const age = c.var.clock().getTime() / 1000 - claims.auth_time;
    if (age > c.var.config.mfa.reauthMaxAge) throw new ReauthenticationRequired();
    await next();
  });
