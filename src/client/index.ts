// SecureAuth client for browsers, Node and other Workers: signs in, keeps the
// token pair, attaches the access token to requests, and refreshes it. Many
// concurrent requests that find the access token expired (or get a 401
// invalid_token) share ONE refresh: the first starts it, the rest await the
// same promise, then each retries once. A rotated-away or reused refresh
// token ends the local session and calls onSessionEnded. The access token is
// attached only to the service's own origin and to the origins the app lists
// in `trustedOrigins`: a request anywhere else goes out without it.
//
// Not imported by the Worker; it depends only on fetch.

// Types only: erased at build, so the client still depends on nothing but fetch.
import type { TokenPair } from "../services/sessions";

export type { TokenPair };

export type Problem = { type: string; title: string; status: number; code: string; detail?: string; errors?: { path: string; message: string }[] };

/** Where the token pair lives between page loads; in memory by default. */
export type TokenStore = {
  get(): StoredTokens | null | Promise<StoredTokens | null>;
  set(tokens: StoredTokens | null): void | Promise<void>;
};

/** The pair plus when the access token expires, in epoch ms by the client's clock. */
export type StoredTokens = TokenPair & { accessExpiresAt: number };

export type AuthClientOptions = {
  /** The SecureAuth origin, e.g. https://auth.example.com */
  baseUrl: string;
  /**
   * Origins, besides baseUrl's, that `fetch` may send the access token to
   * (your APIs), e.g. ["https://api.example.com"]. Exact origins only.
   */
  trustedOrigins?: readonly string[];
  store?: TokenStore;
  fetch?: typeof fetch;
  /** Refresh this long before the access token expires, so a request does not leave with a token about to die. */
  refreshSkewSeconds?: number;
  now?: () => number;
  onSessionEnded?: (reason: "refresh_token_reused" | "invalid_refresh_token" | "logged_out") => void;
};

export class AuthApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.title);
    this.name = "AuthApiError";
  }
  get code(): string {
    return this.problem.code;
  }
}

export function memoryStore(): TokenStore {
  let tokens: StoredTokens | null = null;
  return { get: () => tokens, set: (next) => void (tokens = next) };
}

export class AuthClient {
  private readonly baseUrl: string;
  private readonly trusted: ReadonlySet<string>;
  private readonly store: TokenStore;
  private readonly fetcher: typeof fetch;
  private readonly skewMs: number;
  private readonly now: () => number;
  private refreshing: Promise<StoredTokens | null> | null = null;

  constructor(private readonly options: AuthClientOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) throw new TypeError("AuthClient: baseUrl must be an http(s) URL");
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    this.trusted = new Set([new URL(this.baseUrl).origin, ...(options.trustedOrigins ?? []).map(exactOrigin)]);
    this.store = options.store ?? memoryStore();
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    this.skewMs = (options.refreshSkewSeconds ?? 30) * 1000;
    this.now = options.now ?? Date.now;
  }

  async register(input: { email: string; password: string; name?: string }) {
    const body = await this.post<{ user: unknown; tokens: TokenPair }>("/auth/register", input);
    await this.keep(body.tokens);
    return body;
  }

  async login(input: { email: string; password: string; deviceName?: string }) {
    const body = await this.post<{ user: unknown; tokens: TokenPair }>("/auth/login", input);
    await this.keep(body.tokens);
    return body;
  }

  async logout(): Promise<void> {
    const tokens = await this.store.get();
    await this.store.set(null);
    if (!tokens) return;
    await this.fetcher(`${this.baseUrl}/auth/logout`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: tokens.refreshToken }),
    }).catch(() => undefined);
    this.options.onSessionEnded?.("logged_out");
  }

  /** A valid access token, refreshing first if it is expired or about to be. null when signed out. */
  async accessToken(): Promise<string | null> {
    const tokens = await this.store.get();
    if (!tokens) return null;
    if (tokens.accessExpiresAt - this.skewMs > this.now()) return tokens.accessToken;
    return (await this.refresh())?.accessToken ?? null;
  }

  /**
   * Refreshes the token pair once, however many callers ask at the same time.
   * Resolves null when the session has ended.
   */
  refresh(): Promise<StoredTokens | null> {
    this.refreshing ??= this.rotate().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * fetch with the access token attached when the URL's origin is trusted;
   * on a 401 invalid_token it refreshes once and retries once. Any other
   * origin gets the request as it is, without the token.
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    if (!this.trusts(input)) return this.fetcher(input, init);
    const token = await this.accessToken();
    const first = await this.fetcher(input, withBearer(init, token));
    if (first.status !== 401 || token === null || !(await isInvalidToken(first))) return first;
    const current = await this.store.get();
    // Another caller may already have refreshed while this request was out.
    const fresh = current && current.accessToken !== token ? current : await this.refresh();
    if (!fresh) return first;
    return this.fetcher(input, withBearer(init, fresh.accessToken));
  }

  private trusts(input: string | URL): boolean {
    let url: URL;
    try {
      // Relative URLs resolve against the page in a browser; elsewhere they are not URLs at all.
      url = new URL(input, (globalThis as { location?: { href: string } }).location?.href);
    } catch {
      return false;
    }
    return this.trusted.has(url.origin);
  }

  private async rotate(): Promise<StoredTokens | null> {
    const tokens = await this.store.get();
    if (!tokens) return null;
    const res = await this.fetcher(`${this.baseUrl}/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refreshToken: tokens.refreshToken }),
    });
    if (res.ok) return this.keep(((await res.json()) as { tokens: TokenPair }).tokens);
    const problem = await readProblem(res);
    if (problem.code === "refresh_token_reused" || problem.code === "invalid_refresh_token") {
      await this.store.set(null);
      this.options.onSessionEnded?.(problem.code);
      return null;
    }
    throw new AuthApiError(problem);
  }

  private async keep(tokens: TokenPair): Promise<StoredTokens> {
    const stored = { ...tokens, accessExpiresAt: this.now() + tokens.expiresIn * 1000 };
    await this.store.set(stored);
    return stored;
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.fetcher(`${this.baseUrl}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new AuthApiError(await readProblem(res));
    return (await res.json()) as T;
  }
}

function exactOrigin(origin: string): string {
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {}
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin.replace(/\/$/, "")) {
    throw new TypeError(`AuthClient: trustedOrigins entries must be exact origins like https://api.example.com, not ${JSON.stringify(origin)}`);
  }
  return url.origin;
}

function withBearer(init: RequestInit, token: string | null): RequestInit {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return { ...init, headers };
}

async function isInvalidToken(res: Response): Promise<boolean> {
  const challenge = res.headers.get("WWW-Authenticate") ?? "";
  if (/error="invalid_token"/.test(challenge)) return true;
  const problem = await readProblem(res.clone());
  return problem.code === "invalid_token";
}

async function readProblem(res: Response): Promise<Problem> {
  try {
    const body = (await res.json()) as Problem;
    if (typeof body?.code === "string") return body;
  } catch {}
  return { type: "about:blank", title: res.statusText || "Request failed", status: res.status, code: "internal_error" };
}
