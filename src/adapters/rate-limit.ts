// A Workers rate-limiting binding as the services' KeyedRateLimit port, for
// the composition root (per normalised email on register, per session on
// refresh) and for ipRateLimit. No Hono here: the composition root, which
// the Node operator CLI loads too, imports this file alone.
import type { KeyedRateLimit, RateLimitDecision } from "../core/domain";

/** Every binding's period (wrangler.toml): a client told to wait this long is certain to be let in. */
export const PERIOD_SECONDS = 60;

const ALLOWED: RateLimitDecision = { allowed: true };
const REFUSED: RateLimitDecision = { allowed: false, retryAfterSeconds: PERIOD_SECONDS };

/** The binding as a KeyedRateLimit, its keys prefixed with `scope`; without a binding, everything is allowed. */
export function bindingRateLimit(binding: RateLimit | undefined, scope: string): KeyedRateLimit {
  return {
    async take(key) {
      if (!binding) return ALLOWED;
      const { success } = await binding.limit({ key: `${scope}:${key}` });
      return success ? ALLOWED : REFUSED;
    },
  };
}
