// From the Worker's env to Config: each variable through its declaration in
// schema.ts, then the rules that tie several together. The first problem is
// returned as the variable's name and what is wrong with it, never its value.
// Node runs this file as it is (`npm run dev` checks the env it would pass).
import { orgPermissionCatalog } from "../permissions.ts";
import type { Config } from "./types.ts";
import { builtInProviders, isLoopbackHost } from "./providers.ts";
import { BINDINGS, textOf, VARIABLE_NAMES, VARIABLES, type Declaration, type VariableName } from "./schema.ts";

/** What is wrong: the message is `Invalid configuration: ${variable} ${reason}`. */
export type ConfigProblem = { variable: string; reason: string };

export type ConfigResult = { ok: true; config: Config } | { ok: false; problem: ConfigProblem };

/** Thrown inside parsing only; parseVariables turns it into its result. */
class Problem {
  constructor(problem: ConfigProblem) {
    this.problem = problem;
  }
  problem: ConfigProblem;
}

type Values = { [K in VariableName]: (typeof VARIABLES)[K] extends Declaration<infer T> ? T | undefined : never };

/**
 * OWASP's argon2id parameter sets (Password Storage Cheat Sheet), each of
 * equal strength: the least memory, in KiB, for a number of passes (p=1).
 * More passes than the table lists need no more memory than its last row.
 */
const OWASP_ARGON2_MIN_MEMORY_KIB: readonly (readonly [iterations: number, memoryKib: number])[] = [
  [1, 47104],
  [2, 19456],
  [3, 12288],
  [4, 9216],
  [5, 7168],
];

/** Parses `env` (text variables and bindings) into Config, or says which variable is wrong and how. */
export function parseVariables(env: Readonly<Record<string, unknown>>): ConfigResult {
  try {
    return { ok: true, config: toConfig(env) };
  } catch (error) {
    if (error instanceof Problem) return { ok: false, problem: error.problem };
    throw error;
  }
}

function fail(variable: string, reason: string): never {
  throw new Problem({ variable, reason });
}

function readValue(name: VariableName, raw: unknown): unknown {
  const declaration: Declaration<unknown> = VARIABLES[name];
  const text = textOf(raw);
  if (text === undefined) {
    if (declaration.required) fail(name, "is not set");
    return declaration.default;
  }
  const parsed = declaration.schema.safeParse(text);
  if (!parsed.success) fail(name, parsed.error.issues[0]?.message ?? "is malformed");
  return parsed.data;
}

function toConfig(env: Readonly<Record<string, unknown>>): Config {
  const values = {} as Record<VariableName, unknown>;
  for (const name of VARIABLE_NAMES) {
    values[name] = readValue(name, env[name]);
    // The binding is checked after the database, as the service has always reported it.
    if (name === "DATABASE_URL") {
      for (const [binding, spec] of Object.entries(BINDINGS)) {
        if ("required" in spec && !env[binding]) fail(binding, "binding is missing");
      }
    }
  }
  const v = values as Values;

  if (v.REFRESH_IDLE_TTL! > v.REFRESH_ABSOLUTE_TTL!) fail("REFRESH_IDLE_TTL", "must not exceed REFRESH_ABSOLUTE_TTL");

  const argon2 = {
    memoryKib: v.ARGON2_MEMORY_KIB!,
    iterations: v.ARGON2_ITERATIONS!,
    parallelism: v.ARGON2_PARALLELISM!,
  };
  const [, minimum] = OWASP_ARGON2_MIN_MEMORY_KIB.find(([passes]) => passes === Math.min(argon2.iterations, 5))!;
  if (!v.ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY && argon2.memoryKib < minimum) {
    fail(
      "ARGON2_MEMORY_KIB",
      `must be at least ${minimum} with ARGON2_ITERATIONS=${argon2.iterations} (the OWASP minimum for argon2id)`,
    );
  }

  if (v.SMTP_URL !== undefined && v.RESEND_API_KEY !== undefined) {
    fail("SMTP_URL", "and RESEND_API_KEY are both set: choose one transport");
  }
  const transport: Config["mail"]["transport"] = v.SMTP_URL
    ? { kind: "smtp", url: v.SMTP_URL }
    : v.RESEND_API_KEY !== undefined
      ? { kind: "resend", apiKey: v.RESEND_API_KEY, apiUrl: v.RESEND_API_URL! }
      : undefined;

  // The relying party defaults to APP_URL's host, which must then be a domain name too.
  const app = new URL(v.APP_URL!);
  const rpId = v.WEBAUTHN_RP_ID ?? (readValue("WEBAUTHN_RP_ID", app.hostname) as string);
  const origins = v.WEBAUTHN_ORIGINS ?? [app.origin];
  for (const origin of origins) {
    const host = new URL(origin).hostname;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) {
      fail("WEBAUTHN_ORIGINS", `${origin} is not on WEBAUTHN_RP_ID ${rpId} or a subdomain of it`);
    }
  }

  const builtIns = builtInProviders(v);
  if ("problem" in builtIns) fail(builtIns.problem.variable, builtIns.problem.reason);
  const providers = [...builtIns.providers, ...(v.OIDC_PROVIDERS ?? [])];
  if (providers.length > 0 && v.PUBLIC_URL === undefined && !isLoopbackHost(app.hostname)) {
    fail("PUBLIC_URL", "is not set: it is required once a sign-in provider is configured (except on loopback)");
  }

  return {
    databaseUrl: v.DATABASE_URL!,
    pgWsProxy: v.PG_WS_PROXY,
    signingKeys: v.JWT_SIGNING_KEYS!,
    refreshTokenSecret: v.REFRESH_TOKEN_SECRET!,
    refreshTokenPreviousSecret: v.REFRESH_TOKEN_PREVIOUS_SECRET,
    issuer: v.JWT_ISSUER!,
    audience: v.JWT_AUDIENCE!,
    accessTokenTtl: v.ACCESS_TOKEN_TTL!,
    refreshIdleTtl: v.REFRESH_IDLE_TTL!,
    refreshAbsoluteTtl: v.REFRESH_ABSOLUTE_TTL!,
    refreshReuseGrace: v.REFRESH_REUSE_GRACE!,
    revocationFreshness: v.REVOCATION_FRESHNESS!,
    allowedOrigins: [...v.ALLOWED_ORIGINS!],
    argon2,
    loginMaxFailures: v.LOGIN_MAX_FAILURES!,
    maxSessionsPerUser: v.MAX_SESSIONS_PER_USER!,
    organizations: {
      permissions: orgPermissionCatalog(v.ORG_PERMISSIONS!),
      maxPerUser: v.MAX_ORGS_PER_USER!,
      maxPendingInvitations: v.MAX_PENDING_INVITATIONS!,
    },
    pwnedPasswordsUrl: v.PWNED_PASSWORDS_URL,
    requireVerifiedEmail: v.REQUIRE_VERIFIED_EMAIL!,
    redirectUrls: [...v.REDIRECT_URLS!],
    emailSignIn: { enabled: v.EMAIL_SIGN_IN!, signUp: v.EMAIL_SIGN_UP! },
    mail: { appUrl: v.APP_URL!, from: v.MAIL_FROM!, transport },
    federation: {
      publicUrl: v.PUBLIC_URL === undefined ? undefined : new URL(v.PUBLIC_URL).origin,
      redirectUrls: [...v.REDIRECT_URLS!],
      providers,
    },
    brand: { name: v.BRAND_NAME!, logoUrl: v.BRAND_LOGO_URL, color: v.BRAND_COLOR! },
    mfa: {
      encryptionKey: v.MFA_ENCRYPTION_KEY,
      reauthMaxAge: v.REAUTH_MAX_AGE!,
      webauthn: { rpId, rpName: v.WEBAUTHN_RP_NAME!, origins },
    },
  };
}
