// The sign-in providers' variables, parsed: the built-in providers (each on
// when its client id is set), the operator's OpenID providers
// (OIDC_PROVIDERS), the exact redirect URLs, and the test-only endpoint
// override. Node runs this file as it is (see schema.ts): packages and `.ts`
// paths only, TypeScript that type stripping erases.
import { z } from "zod";

/** The built-in providers, by the id their routes use. */
export const BUILT_IN_PROVIDERS = ["google", "github", "apple", "microsoft"] as const;
export type BuiltInProvider = (typeof BUILT_IN_PROVIDERS)[number];

/** Ids an operator's provider may not take: the built-ins, and the path segments /me/identities uses. */
const RESERVED_IDS: ReadonlySet<string> = new Set([...BUILT_IN_PROVIDERS, "complete"]);

/** How a provider's protocol differs from plain OpenID Connect. */
export type ProviderQuirks = BuiltInProvider | "generic";

/** One configured provider, as the federation feature uses it. */
export type ProviderSettings = {
  id: string;
  name: string;
  /** oauth: no ID token (GitHub); oidc: OpenID Connect with discovery. */
  kind: "oauth" | "oidc";
  quirks: ProviderQuirks;
  /** The issuer discovery starts from (OpenID), or the base of the OAuth endpoints (GitHub). */
  issuer: string;
  /** GitHub only: the REST API's base (`https://api.github.com`). */
  apiBase?: string;
  clientId: string;
  clientSecret?: string;
  /** Apple: the service mints its client secret from these (ES256). */
  apple?: { teamId: string; keyId: string; privateKey: string };
  scopes: string[];
  /** Whether the provider's verified email may join an existing account (built-ins yes). */
  trustEmail: boolean;
  /** Audiences a native app's ID token may carry besides clientId. */
  nativeClientIds: string[];
};

/** Hosts that are this machine: `http:` is accepted there only. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "[::1]" ||
    host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/**
 * The service's own origin: PUBLIC_URL's, or, where it is unset and the
 * request came to a loopback host (`npm run dev`), the request's own; else
 * unknown. Providers' callbacks are registered under it, and the hosted
 * pages call the API from it.
 */
export function serviceOrigin(publicUrl: string | undefined, requestUrl: string): string | undefined {
  if (publicUrl !== undefined) return publicUrl;
  const request = new URL(requestUrl);
  return isLoopbackHost(request.hostname) ? request.origin : undefined;
}

/** An https URL, or http on a loopback host. */
function secureOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

export const commaList = {
  schema: z.string().transform((raw) =>
    raw
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean),
  ),
  accepts: "comma-separated list",
};

/**
 * A comma-separated list whose every entry `check` turns into the value kept, or refuses with the problem it names:
 * one bad entry refuses the whole variable, with that problem as its message.
 */
export function checkedList(check: (entry: string) => { value: string } | { problem: string }, accepts: string) {
  return {
    schema: z.string().transform((raw, ctx) => {
      const list: string[] = [];
      for (const entry of raw.split(",").map((e) => e.trim())) {
        if (!entry) continue;
        const checked = check(entry);
        if ("problem" in checked) {
          ctx.addIssue({ code: "custom", message: checked.problem });
          return z.NEVER;
        }
        list.push(checked.value);
      }
      return list;
    }),
    accepts,
  };
}

/** REDIRECT_URLS: exact URLs, no query or fragment, https except on loopback. */
export const redirectUrls = checkedList((entry) => {
  const url = URL.parse(entry);
  if (!url) return { problem: `has an entry that is not a URL: ${entry}` };
  if (!secureOrLoopback(url))
    return { problem: `entries must be https: URLs (http: only on loopback hosts): ${entry}` };
  if (url.search || url.hash || entry.includes("?") || entry.includes("#"))
    return { problem: `entries carry no query and no fragment: ${entry}` };
  if (url.username || url.password) return { problem: `entries carry no credentials: ${entry}` };
  return { value: url.href };
}, "comma-separated URLs");

const OIDC_ENTRY = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "ids are 1-32 of a-z, 0-9 and -"),
  name: z.string().min(1).max(64),
  issuer: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "scopes are scope tokens")).optional(),
  trustEmail: z.boolean().optional(),
  nativeClientIds: z.array(z.string().min(1)).optional(),
});

/** OIDC_PROVIDERS: a JSON array of the operator's OpenID providers. */
export const oidcProviders = {
  schema: z.string().transform((raw, ctx): ProviderSettings[] => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return fail("is not valid JSON (expected an array of {id, name, issuer, clientId, ...})");
    }
    if (!Array.isArray(parsed)) return fail("must be a JSON array of providers");
    const seen = new Set<string>();
    const providers: ProviderSettings[] = [];
    for (const [index, item] of parsed.entries()) {
      const entry = OIDC_ENTRY.safeParse(item);
      if (!entry.success) {
        const issue = entry.error.issues[0];
        return fail(`entry ${index}: ${issue?.path.join(".") || "(entry)"} ${issue?.message ?? "is malformed"}`);
      }
      const { id, name, issuer, clientId, clientSecret, scopes, trustEmail, nativeClientIds } = entry.data;
      if (RESERVED_IDS.has(id) || seen.has(id)) return fail(`entry ${index}: id ${id} is taken`);
      seen.add(id);
      const url = URL.parse(issuer);
      if (!url || !secureOrLoopback(url) || url.search || url.hash)
        return fail(`entry ${index}: issuer must be an https: URL (http: only on loopback hosts)`);
      providers.push({
        id,
        name,
        kind: "oidc",
        quirks: "generic",
        issuer,
        clientId,
        clientSecret,
        scopes: scopes ?? ["openid", "email", "profile"],
        trustEmail: trustEmail ?? false,
        nativeClientIds: nativeClientIds ?? [],
      });
    }
    return providers;
  }),
  accepts: "JSON array of `{id, name, issuer, clientId, clientSecret?, scopes?, trustEmail?, nativeClientIds?}`",
};

/** OAUTH_ENDPOINTS_FOR_TESTS_ONLY: a built-in provider's issuer or base URL, replaced by a loopback one. */
export const testEndpoints = {
  schema: z.string().transform((raw, ctx): Partial<Record<BuiltInProvider, string>> => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return fail("is not valid JSON (expected an object of provider id to loopback URL)");
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return fail("must be a JSON object");
    const endpoints: Partial<Record<BuiltInProvider, string>> = {};
    for (const [id, value] of Object.entries(parsed)) {
      if (!(BUILT_IN_PROVIDERS as readonly string[]).includes(id)) return fail(`names no built-in provider: ${id}`);
      const url = typeof value === "string" ? URL.parse(value) : null;
      // Loopback only: a deployment cannot point a built-in provider anywhere else with it.
      if (!url || !isLoopbackHost(url.hostname) || (url.protocol !== "http:" && url.protocol !== "https:"))
        return fail(`${id} must be an http(s) URL on a loopback host: it is for test suites only`);
      endpoints[id as BuiltInProvider] = (value as string).replace(/\/+$/, "");
    }
    return endpoints;
  }),
  accepts: "JSON object of loopback URLs",
};

/** The built-in providers' real issuers (OpenID) or bases (GitHub). */
const REAL_ISSUERS: Record<BuiltInProvider, string> = {
  google: "https://accounts.google.com",
  github: "https://github.com",
  apple: "https://appleid.apple.com",
  microsoft: "https://login.microsoftonline.com",
};

type BuiltInValues = {
  GOOGLE_CLIENT_ID?: string;
  GOOGLE_CLIENT_SECRET?: string;
  GOOGLE_NATIVE_CLIENT_IDS?: string[];
  GITHUB_CLIENT_ID?: string;
  GITHUB_CLIENT_SECRET?: string;
  MICROSOFT_CLIENT_ID?: string;
  MICROSOFT_CLIENT_SECRET?: string;
  APPLE_CLIENT_ID?: string;
  APPLE_TEAM_ID?: string;
  APPLE_KEY_ID?: string;
  APPLE_PRIVATE_KEY?: string;
  APPLE_NATIVE_CLIENT_IDS?: string[];
  OAUTH_ENDPOINTS_FOR_TESTS_ONLY?: Partial<Record<BuiltInProvider, string>>;
};

/**
 * The built-in providers that are configured, or the variable that is
 * missing for one that is half-configured (`[variable, reason]`).
 */
export function builtInProviders(
  v: BuiltInValues,
): { providers: ProviderSettings[] } | { problem: { variable: string; reason: string } } {
  const missing = (variable: string, reason: string) => ({ problem: { variable, reason } });
  const override = v.OAUTH_ENDPOINTS_FOR_TESTS_ONLY ?? {};
  const providers: ProviderSettings[] = [];
  const base = (id: BuiltInProvider) => override[id] ?? REAL_ISSUERS[id];
  if (v.GOOGLE_CLIENT_ID) {
    if (!v.GOOGLE_CLIENT_SECRET) return missing("GOOGLE_CLIENT_SECRET", "is not set (GOOGLE_CLIENT_ID is)");
    providers.push({
      id: "google",
      name: "Google",
      kind: "oidc",
      quirks: "google",
      issuer: base("google"),
      clientId: v.GOOGLE_CLIENT_ID,
      clientSecret: v.GOOGLE_CLIENT_SECRET,
      scopes: ["openid", "email", "profile"],
      trustEmail: true,
      nativeClientIds: v.GOOGLE_NATIVE_CLIENT_IDS ?? [],
    });
  }
  if (v.GITHUB_CLIENT_ID) {
    if (!v.GITHUB_CLIENT_SECRET) return missing("GITHUB_CLIENT_SECRET", "is not set (GITHUB_CLIENT_ID is)");
    providers.push({
      id: "github",
      name: "GitHub",
      kind: "oauth",
      quirks: "github",
      issuer: base("github"),
      apiBase: override.github ?? "https://api.github.com",
      clientId: v.GITHUB_CLIENT_ID,
      clientSecret: v.GITHUB_CLIENT_SECRET,
      scopes: ["read:user", "user:email"],
      trustEmail: true,
      nativeClientIds: [],
    });
  }
  if (v.APPLE_CLIENT_ID) {
    for (const name of ["APPLE_TEAM_ID", "APPLE_KEY_ID", "APPLE_PRIVATE_KEY"] as const)
      if (!v[name]) return missing(name, "is not set (APPLE_CLIENT_ID is)");
    providers.push({
      id: "apple",
      name: "Apple",
      kind: "oidc",
      quirks: "apple",
      issuer: base("apple"),
      clientId: v.APPLE_CLIENT_ID,
      apple: { teamId: v.APPLE_TEAM_ID!, keyId: v.APPLE_KEY_ID!, privateKey: v.APPLE_PRIVATE_KEY! },
      scopes: ["openid", "email", "name"],
      trustEmail: true,
      nativeClientIds: v.APPLE_NATIVE_CLIENT_IDS ?? [],
    });
  }
  if (v.MICROSOFT_CLIENT_ID) {
    if (!v.MICROSOFT_CLIENT_SECRET) return missing("MICROSOFT_CLIENT_SECRET", "is not set (MICROSOFT_CLIENT_ID is)");
    providers.push({
      id: "microsoft",
      name: "Microsoft",
      kind: "oidc",
      quirks: "microsoft",
      issuer: base("microsoft"),
      clientId: v.MICROSOFT_CLIENT_ID,
      clientSecret: v.MICROSOFT_CLIENT_SECRET,
      scopes: ["openid", "email", "profile"],
      trustEmail: true,
      nativeClientIds: [],
    });
  }
  return { providers };
}
