// The Worker's text configuration variables (src/config.ts `Env`), by name.
// `npm run dev` passes each one found in its own environment to the Worker,
// over wrangler.toml's [vars] and .dev.vars, so `REQUIRE_VERIFIED_EMAIL=true
// npm run dev` just works. The type check below fails to compile when a text
// variable is added to Env and not here, or listed here and not in Env.
import type { Env } from "../../src/config.ts";

export const CONFIG_VARIABLES = [
  "DATABASE_URL",
  "PG_WS_PROXY",
  "JWT_SIGNING_KEYS",
  "REFRESH_TOKEN_SECRET",
  "REFRESH_TOKEN_PREVIOUS_SECRET",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "ACCESS_TOKEN_TTL",
  "REFRESH_IDLE_TTL",
  "REFRESH_ABSOLUTE_TTL",
  "REFRESH_REUSE_GRACE",
  "ALLOWED_ORIGINS",
  "ARGON2_MEMORY_KIB",
  "ARGON2_ITERATIONS",
  "ARGON2_PARALLELISM",
  "ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY",
  "LOGIN_MAX_FAILURES",
  "MAX_SESSIONS_PER_USER",
  "PWNED_PASSWORDS_URL",
  "REQUIRE_VERIFIED_EMAIL",
  "APP_URL",
  "MAIL_FROM",
  "SMTP_URL",
  "RESEND_API_KEY",
  "RESEND_API_URL",
  "MFA_ENCRYPTION_KEY",
  "REAUTH_MAX_AGE",
  "WEBAUTHN_RP_ID",
  "WEBAUTHN_RP_NAME",
  "WEBAUTHN_ORIGINS",
] as const satisfies readonly (keyof Env)[];

type TextVariable = { [K in keyof Env]-?: NonNullable<Env[K]> extends string ? K : never }[keyof Env];
type Unlisted = Exclude<TextVariable, (typeof CONFIG_VARIABLES)[number]>;
/** Compile-time: every text variable of Env is listed. */
export const EVERY_TEXT_VARIABLE_IS_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;

/** The configuration variables set in `env` (blank ones too: blank means unset to the Worker). */
export function configFromEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined) found[name] = value;
  }
  return found;
}
