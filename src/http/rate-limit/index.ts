// Edge rate limits through the Workers rate-limiting bindings (wrangler.toml
// [[ratelimits]]). AUTH_IP_RATE_LIMITER, per client network on the credential
// routes, is applied here, keyed on the network and the route (never on
// refresh: thousands of users can share one NAT address). The per-email and
// per-session limits are keyed on what only the service knows: the composition
// root hands them to the services. Without a binding, requests pass.
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
