// Federated sign-in against the local identity providers the global setup
// starts (test/setup/identity-providers.ts): the Worker's env with every
// provider configured, accounts at the providers, and a browser made of
// fetch calls that follows a flow from the app's first redirect through the
// provider's login to the app's return URL, keeping each site's cookies
// apart as a browser does.
import { env } from "cloudflare:workers";
import { sha256Hex } from "../../src/core/encoding";
import { BASE, testService, type TestService } from "./harness";

const bindings = env as unknown as { IDENTITY_PROVIDERS_URL: string; APPLE_TEST_PRIVATE_KEY: string };
export const IDP = bindings.IDENTITY_PROVIDERS_URL;
export const MICROSOFT_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";
export const RETURN_URL = "https://app.example.com/auth/return";
export const OTHER_RETURN_URL = "http://127.0.0.1:5173/signed-in";

/** Every provider on, against the stand-ins; `overrides` on top. */
export function federationEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PUBLIC_URL: BASE,
    REDIRECT_URLS: `${RETURN_URL},${OTHER_RETURN_URL}`,
    GOOGLE_CLIENT_ID: "google-client",
    GOOGLE_CLIENT_SECRET: "google-secret",
    GOOGLE_NATIVE_CLIENT_IDS: "google-ios",
    GITHUB_CLIENT_ID: "github-client",
    GITHUB_CLIENT_SECRET: "github-secret",
    MICROSOFT_CLIENT_ID: "microsoft-client",
    MICROSOFT_CLIENT_SECRET: "microsoft-secret",
    APPLE_CLIENT_ID: "com.example.web",
    APPLE_TEAM_ID: "TEAM123456",
    APPLE_KEY_ID: "KEY1234567",
    APPLE_PRIVATE_KEY: bindings.APPLE_TEST_PRIVATE_KEY,
    APPLE_NATIVE_CLIENT_IDS: "com.example.ios",
    OIDC_PROVIDERS: JSON.stringify([
      {
        id: "acme",
        name: "Acme SSO",
        issuer: `${IDP}/generic`,
        clientId: "acme-client",
        clientSecret: "acme-secret",
        trustEmail: true,
        nativeClientIds: ["acme-native"],
      },
      {
        id: "untrusted",
        name: "Untrusted",
        issuer: `${IDP}/generic`,
        clientId: "untrusted-client",
        clientSecret: "untrusted-secret",
      },
    ]),
    OAUTH_ENDPOINTS_FOR_TESTS_ONLY: JSON.stringify({
      google: `${IDP}/google`,
      microsoft: `${IDP}/ms`,
      apple: `${IDP}/apple`,
      github: `${IDP}/github`,
    }),
    ...overrides,
  };
}

let accounts = 0;
/** A fresh subject for an account at a provider. */
export const uniqueSubject = (tag = "sub") => `${tag}-${Date.now().toString(36)}-${++accounts}`;

/** The claims an OpenID account has at the stand-ins. */
export async function providerAccount(sub: string, claims: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${IDP}/control/accounts`, { method: "POST", body: JSON.stringify({ sub, claims }) });
  if (res.status !== 204) throw new Error(`control/accounts answered ${res.status}`);
}

/** A GitHub user at the GitHub stand-in; signs in with `login`. */
export async function githubUser(user: { id: number; login: string; name?: string; emails: unknown[] }) {
  const res = await fetch(`${IDP}/control/github-users`, {
    method: "POST",
    body: JSON.stringify({ name: null, ...user }),
  });
  if (res.status !== 204) throw new Error(`control/github-users answered ${res.status}`);
}

export async function appleRevocations(): Promise<number> {
  return ((await (await fetch(`${IDP}/control/apple-revocations`)).json()) as { count: number }).count;
}

/** A PKCE pair the app makes: the verifier it keeps and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Cookies per host, as a browser keeps them (paths and expiry ignored: each test is short). */
export class CookieJar {
  readonly byHost = new Map<string, Map<string, string>>();

  store(url: string, res: Response): void {
    const host = new URL(url).host;
    const jar = this.byHost.get(host) ?? new Map<string, string>();
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
    this.byHost.set(host, jar);
  }

  header(url: string): string | undefined {
    const jar = this.byHost.get(new URL(url).host);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** This host's cookies whose name starts with `prefix`. */
  names(url: string, prefix = ""): string[] {
    return [...(this.byHost.get(new URL(url).host)?.keys() ?? [])].filter((name) => name.startsWith(prefix));
  }
}

/**
 * A browser: the service's requests through the Worker's fetch, the
 * providers' over the network, each host with its cookies.
 */
export class TestBrowser {
  readonly jar = new CookieJar();
  constructor(readonly service: TestService) {}

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.jar.header(url);
    if (cookie) headers.set("Cookie", cookie);
    const request = new Request(url, { ...init, headers, redirect: "manual" });
    const res = url.startsWith(BASE) ? await this.service.fetch(request) : await fetch(request);
    this.jar.store(url, res);
    return res;
  }

  /** Follows redirects until one leaves for `stopAt` (the app) or a page answers; Apple's form_post is submitted. */
  async follow(url: string, stopAt: string, login?: string): Promise<{ res: Response; url: string }> {
    let current = url;
    for (let hop = 0; hop < 12; hop++) {
      if (current.startsWith(stopAt)) return { res: new Response(null, { status: 200 }), url: current };
      const res = await this.request(current);
      if (res.status >= 300 && res.status < 400) {
        current = new URL(res.headers.get("Location")!, current).href;
        if (login && /\/interaction\/[^/?]+$/.test(new URL(current).pathname) && !current.includes("login=")) {
          current = `${current}?login=${encodeURIComponent(login)}`;
        }
        if (login && current.includes("/github/login/oauth/authorize") && !current.includes("login=")) {
          current = `${current}&login=${encodeURIComponent(login)}`;
        }
        continue;
      }
      const text = await res.text();
      const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(text);
      if (res.status === 200 && form) {
        // form_post: the browser posts the answer across sites to the callback, with its cookies.
        const body = new URLSearchParams();
        for (const input of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) {
          body.set(input[1]!, decodeEntities(input[2]!));
        }
        const action = decodeEntities(form[1]!);
        const posted = await this.request(action, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: new URL(current).origin },
          body: body.toString(),
        });
        if (posted.status >= 300 && posted.status < 400) {
          current = new URL(posted.headers.get("Location")!, action).href;
          continue;
        }
        return { res: posted, url: action };
      }
      return { res: new Response(text, { status: res.status, headers: res.headers }), url: current };
    }
    throw new Error("too many redirects");
  }
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The query of the app's return URL. */
export const returned = (url: string) => Object.fromEntries(new URL(url).searchParams);

/**
 * One browser sign-in through `provider` as `login`: the app's start URL,
 * the flow followed to the app's return URL; the app's verifier to exchange with.
 */
export async function signInThrough(
  browser: TestBrowser,
  provider: string,
  login: string,
  options: { redirectTo?: string; state?: string } = {},
) {
  const { verifier, challenge } = await pkcePair();
  const redirectTo = options.redirectTo ?? RETURN_URL;
  const start = new URL(`${BASE}/auth/oauth/${provider}`);
  start.searchParams.set("redirect_to", redirectTo);
  start.searchParams.set("code_challenge", challenge);
  start.searchParams.set("code_challenge_method", "S256");
  start.searchParams.set("state", options.state ?? "app-state-1");
  const { url, res } = await browser.follow(start.href, redirectTo, login);
  return { url, res, query: url.startsWith(redirectTo) ? returned(url) : {}, verifier, challenge };
}

/** POST /auth/exchange. */
export function exchange(
  service: TestService,
  code: string,
  codeVerifier: string,
  headers: Record<string, string> = {},
) {
  return service.call("POST", "/auth/exchange", { body: { code, codeVerifier }, headers });
}

/**
 * A native app's ID token from the stand-in `path` (generic, google, apple)
 * for `clientId`, its nonce the SHA-256 hex of `rawNonce`: a code flow the
 * app runs itself against the provider.
 */
export async function nativeIdToken(path: string, clientId: string, login: string, rawNonce: string): Promise<string> {
  const browser = new TestBrowser(testService());
  const { verifier, challenge } = await pkcePair();
  const redirectUri = "https://app.example.com/native";
  const auth = new URL(`${IDP}/${path}/auth`);
  auth.searchParams.set("client_id", clientId);
  auth.searchParams.set("response_type", "code");
  auth.searchParams.set("scope", "openid email profile");
  auth.searchParams.set("redirect_uri", redirectUri);
  auth.searchParams.set("nonce", sha256Hex(rawNonce));
  auth.searchParams.set("state", "native");
  auth.searchParams.set("code_challenge", challenge);
  auth.searchParams.set("code_challenge_method", "S256");
  const { url } = await browser.follow(auth.href, redirectUri, login);
  const code = new URL(url).searchParams.get("code");
  if (!code) throw new Error(`no code: ${url}`);
  const res = await fetch(`${IDP}/${path}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
    }),
  });
  const body = (await res.json()) as { id_token?: string };
  if (!body.id_token) throw new Error(`no id_token: ${JSON.stringify(body)}`);
  return body.id_token;
}
