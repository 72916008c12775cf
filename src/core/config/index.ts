// The configuration: one schema (schema.ts) that declares each variable, the
// parse into the typed Config (parse.ts), and loadConfig for the Worker.
export { DEFAULTS, loadConfig, parseConfig } from "./load";
export { parseVariables, type ConfigProblem, type ConfigResult } from "./parse";
export { BINDINGS, VARIABLES, type Declaration, type DevValue, type VariableName } from "./schema";
export type {
  Brand,
  Config,
  Env,
  FederationSettings,
  MailSettings,
  ProviderSettings,
  MailTransportSettings,
  MfaSettings,
  SigningJwk,
  VerifyingJwk,
} from "./types";
