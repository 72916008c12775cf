// The Worker's text configuration variables, by name, as the schema
// (src/core/config/schema.ts) declares them. `npm run dev` passes each one
// found in its own environment to the Worker, over wrangler.toml's [vars] and
// .dev.vars, so `REQUIRE_VERIFIED_EMAIL=true npm run dev` just works.
import { VARIABLE_NAMES } from "../../src/core/config/schema.ts";

export const CONFIG_VARIABLES: readonly string[] = VARIABLE_NAMES;

/** The configuration variables set in `env` (blank ones too: blank means unset to the Worker). */
export function configFromEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined) found[name] = value;
  }
  return found;
}
