// Per-client-IP throttling on the credential endpoints through the Workers
// rate-limiting binding (AUTH_IP_RATE_LIMITER). Keyed on CF-Connecting-IP and
// the route, so a burst on login does not lock the same client out of
// refresh. Without the binding or an IP (local tools) it lets requests pass;
// per-account throttling in Postgres still applies.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../context";
import { RateLimited } from "../../errors";

/** The binding's period; a client told to wait this long is certain to be let in. */
const PERIOD_SECONDS = 60;

export const ipRateLimit = (scope: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const limiter = c.env.AUTH_IP_RATE_LIMITER;
    const ip = c.req.header("CF-Connecting-IP");
    if (limiter && ip) {
      const { success } = await limiter.limit({ key: `${scope}:${ip}` });
      if (!success) throw new RateLimited(PERIOD_SECONDS);
    }
    await next();
  });
