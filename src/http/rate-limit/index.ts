// Edge rate limits through the Workers rate-limiting bindings (wrangler.toml
// [[ratelimits]]; thresholds are each binding's `simple = {limit, period}`):
//
// - AUTH_IP_RATE_LIMITER, per client network (an IPv4 address, an IPv6 /64)
//   on the credential endpoints: `ipRateLimit(scope)` here, keyed on
//   CF-Connecting-IP and the route, so a burst on login does not lock the
//   same client out of register. Not on refresh: thousands of users can
//   share one NAT address.
// - AUTH_EMAIL_RATE_LIMITER (per normalised email on register) and
//   AUTH_REFRESH_RATE_LIMITER (per session on refresh) are keyed on what
//   only the service knows: `bindingRateLimit` (binding.ts) adapts a
//   binding to the KeyedRateLimit port, and the composition root hands it
//   to the service.
//
// Without a binding, or without an IP (local tools), requests pass; the
// per-account throttling in Postgres still applies.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { RateLimited } from "../../core/errors";
import { bindingRateLimit } from "../../adapters/rate-limit";
import { requestNetwork } from "./client-network";

export { bindingRateLimit } from "../../adapters/rate-limit";
export { clientNetwork, requestNetwork } from "./client-network";

export const ipRateLimit = (scope: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    // A value that is no address (never from Cloudflare) is still limited, as itself.
    const network = requestNetwork(c.req.header("CF-Connecting-IP"));
    if (network) {
      const decision = await bindingRateLimit(c.env.AUTH_IP_RATE_LIMITER, scope).take(network);
      if (!decision.allowed) throw new RateLimited(decision.retryAfterSeconds);
    }
    await next();
  });
