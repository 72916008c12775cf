// The Hono environment shared by routes and middleware: bindings, and the
// per-request variables the composition root and middleware put in context.
import type { Config, Env } from "./config";
import type { RequestDatabase } from "./repositories/database";
import type { AccessTokenClaims } from "./services/tokens/types";

/** Injected so tests can fix time; everything time-based reads this. */
export type Clock = () => Date;

export type AppDeps = {
  clock: Clock;
};

export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    deps: AppDeps;
    database: RequestDatabase;
    /** Set by the authenticate middleware: the verified access-token claims. */
    auth: AccessTokenClaims;
  };
};
