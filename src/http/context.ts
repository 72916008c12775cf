// The Hono environment shared by routes and middleware: the Worker bindings,
// and the per-request variables the app's composition middleware and the
// authenticate middleware set.
import type { Clock } from "../core/clock";
import type { Config, Env } from "../config";
import type { Services } from "../composition";
import type { AccessTokenClaims, AccessTokens } from "../features/tokens";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    clock: Clock;
    tokens: AccessTokens;
    services: Services;
    /** Set by the authenticate middleware: the verified access-token claims. */
    auth: AccessTokenClaims;
  };
};
