// loadConfig: the Worker's configuration, parsed once per env object. A
// missing or malformed variable throws a ConfigError naming it, so the
// service refuses every request (but liveness) rather than half-working.
import { ConfigError } from "../errors";
import { parseVariables } from "./parse.ts";
import { VARIABLES } from "./schema.ts";
import type { Config, Env } from "./types.ts";

/** The defaults of the variables that have a literal one, as the schema declares them. */
export const DEFAULTS = {
  JWT_ISSUER: VARIABLES.JWT_ISSUER.default,
  JWT_AUDIENCE: VARIABLES.JWT_AUDIENCE.default,
  ACCESS_TOKEN_TTL: VARIABLES.ACCESS_TOKEN_TTL.default,
  REFRESH_IDLE_TTL: VARIABLES.REFRESH_IDLE_TTL.default,
  REFRESH_ABSOLUTE_TTL: VARIABLES.REFRESH_ABSOLUTE_TTL.default,
  REFRESH_REUSE_GRACE: VARIABLES.REFRESH_REUSE_GRACE.default,
  REVOCATION_FRESHNESS: VARIABLES.REVOCATION_FRESHNESS.default,
  ARGON2_MEMORY_KIB: VARIABLES.ARGON2_MEMORY_KIB.default,
  ARGON2_ITERATIONS: VARIABLES.ARGON2_ITERATIONS.default,
  ARGON2_PARALLELISM: VARIABLES.ARGON2_PARALLELISM.default,
  LOGIN_MAX_FAILURES: VARIABLES.LOGIN_MAX_FAILURES.default,
  MAX_SESSIONS_PER_USER: VARIABLES.MAX_SESSIONS_PER_USER.default,
  APP_URL: VARIABLES.APP_URL.default,
  MAIL_FROM: VARIABLES.MAIL_FROM.default,
  RESEND_API_URL: VARIABLES.RESEND_API_URL.default,
  REAUTH_MAX_AGE: VARIABLES.REAUTH_MAX_AGE.default,
  WEBAUTHN_RP_NAME: VARIABLES.WEBAUTHN_RP_NAME.default,
} as const;

const cache = new WeakMap<object, Config>();

/** The configuration of `env`, parsed on first use and cached for that env object. Throws ConfigError. */
export function loadConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const config = parseConfig(env);
  cache.set(env, config);
  return config;
}

/** Parses `env` afresh. Throws a ConfigError naming the first missing or malformed variable. */
export function parseConfig(env: Env): Config {
  const result = parseVariables(env);
  if (!result.ok) throw new ConfigError(result.problem.variable, result.problem.reason);
  return result.config;
}
