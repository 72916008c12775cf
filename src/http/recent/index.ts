// recent(): after authenticate, for the operations docs/api.md marks
// "recent": the token's auth_time (the session's last proof of a
// credential, which refreshes keep) must be within REAUTH_MAX_AGE and, when
// the account has a second factor, that proof must have been two factors
// (`mfa` in amr); else 403 reauthentication_required with the methods that
// would be enough. A fresh two-factor proof passes on its claims alone;
// anything else costs one read of the account (SecondFactorService).
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { InvalidToken } from "../../core/errors";

export const recent = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const claims = c.get("auth");
    if (!claims) throw new InvalidToken({ cause: new Error("recent used without authenticate") });
    const age = c.var.clock().getTime() / 1000 - claims.auth_time;
    await c.var.services
      .secondFactors()
      .requireRecentProof(claims.sub, { fresh: age <= c.var.config.mfa.reauthMaxAge, amr: claims.amr });
    await next();
  });
