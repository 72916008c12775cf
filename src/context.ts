// The Hono environment shared by routes and middleware: bindings, and the
// per-request variables the composition root puts in context.
import type { Config, Env } from "./config";
import type { RequestDatabase } from "./repositories/database";

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
  };
};
