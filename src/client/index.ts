// SecureAuth client for browsers, Node and other Workers, published as
// `secureauth/client` (built by `npm run build:client` into dist/client: ESM
// and .d.ts, no dependencies). It signs in (with a second factor when the
// account has one), keeps the tokens, attaches the access token to requests,
// and refreshes it.
//
// - One refresh for any number of concurrent requests: in one page they
//   share one promise; across tabs they take turns under a Web Lock (or a
//   BroadcastChannel election), and a tab that waited adopts what the other
//   tab left instead of replaying its own refresh token, which the server
//   would treat as reuse once its grace has passed (coordination.ts).
// - Two modes. "bearer": the token pair lives in the TokenStore (in memory
//   unless the app passes another; a store shared by the tabs, such as one
//   over localStorage, is what lets them share a session). "cookie": the
//   server keeps the refresh token in an HttpOnly cookie; every request to
//   the service carries `credentials: "include"` and `X-Auth-Mode: cookie`
//   (the service's CSRF rule), and only the access token and its expiry are
//   kept (in memory).
// - What crosses tabs (the BroadcastChannel reaches every page of the
//   origin, so it carries no more than each of them could get anyway):
//   never a refresh token. Bearer mode with the memory store: nothing, the
//   client does not join the other tabs (no other tab holds its session).
//   Bearer mode with another store: signals only ("rotated": a session id
//   and the new expiry; "ended"); a tab that shares the store reads the new
//   pair there, and a tab whose own store holds a copy another tab just
//   rotated away forgets it (replaying it would be reuse: every tab logged
//   out). Cookie mode: the access token and its expiry, which any page of
//   the origin could get from the service with the shared cookie, so one
//   refresh serves every tab; and sign-ins and ends.
// - The access token is attached only to the service's own origin and to the
//   origins the app lists in `trustedOrigins`: a request anywhere else goes
//   out as it is.
// - A rotated-away or reused refresh token, or a logout, ends the session in
//   every tab and calls onSessionEnded in each.
//
// Not imported by the Worker, and imports nothing outside src/client.

import { isRecord, TabCoordinator, type Coordination } from "./coordination.js";

export type { ChannelLike, Coordination, LockManagerLike } from "./coordination.js";

/** The token pair of the API; `refreshToken` is absent in cookie mode, where it lives in the __Host-sa_rt cookie. */
export type TokenPair = {
  tokenType: "Bearer";
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  refreshToken?: string;
  /** Seconds until the refresh token lapses unused. */
  refreshExpiresIn: number;
  sessionId: string;
};

/** The user as the API answers it. */
export type AuthUser = {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  mfa: { totp: boolean; passkeys: number };
  roles: string[];
  permissions: string[];
  status: "active" | "disabled";
  createdAt: string;
};

export type MfaMethod = "totp" | "recovery_code" | "passkey";
/** What re-authenticates an account (reauthentication_required): the password alone without a second factor, else a two-factor proof. */
export type ReauthMethod = "password" | "password+totp" | "password+recovery_code" | "passkey";

/** RFC 9457 problem details, as the API answers every error. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: { path: string; message: string }[];
  /** mfa_required: what completes the sign-in (completeMfa, or loginWithPasskey with it). */
  mfaToken?: string;
  /** mfa_required: the second factors that complete it; reauthentication_required: what POST /auth/reauthenticate needs. */
  methods?: (MfaMethod | ReauthMethod)[];
};

/** A sign-in: the user, the tokens, and the device token to present at the next sign-in from this device (bearer mode; a cookie in cookie mode). */
export type LoggedIn = { user: AuthUser; tokens: TokenPair; deviceToken: string };

/** A registration: no tokens when the service requires a verified email before the first sign-in. */
export type Registered = { user: AuthUser; tokens?: TokenPair };

export type SessionEndReason = "refresh_token_reused" | "invalid_refresh_token" | "logged_out";

/** Where the tokens live between page loads; in memory by default. */
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
   * "bearer" (the default): the token pair is kept in `store` and sent in
   * request bodies. "cookie" (browsers): the refresh token stays in the
   * service's HttpOnly cookie; the page must be same-site with the service
   * (app.example.com and auth.example.com; http://localhost in development).
   */
  mode?: "bearer" | "cookie";
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
  /** Cross-tab coordination; by default the browser's Web Locks and BroadcastChannel, none outside a browser. */
  coordination?: Coordination | false;
  /** Called once in every tab when the session ends: logged out (here or in another tab) or ended by the server. */
  onSessionEnded?: (reason: SessionEndReason) => void;
};

export class AuthApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.title);
    this.name = "AuthApiError";
  }
  get code(): string {
    return this.problem.code;
  }
  /** For mfa_required: the token that completes the sign-in. */
  get mfaToken(): string | undefined {
    return this.problem.mfaToken;
  }
  /** For mfa_required: the methods that can complete it; for reauthentication_required: the proofs that would be enough. */
  get methods(): (MfaMethod | ReauthMethod)[] | undefined {
    return this.problem.methods;
  }
}

/** Stores no other tab can read: a client holding one shares nothing with the other tabs. */
const tabPrivateStores = new WeakSet<TokenStore>();

/** The pair in this page's memory: this client's alone, so nothing about it crosses tabs. */
export function memoryStore(): TokenStore {
  let tokens: StoredTokens | null = null;
  const store: TokenStore = { get: () => tokens, set: (next) => void (tokens = next) };
  tabPrivateStores.add(store);
  return store;
}

/**
 * A store over a Web Storage object (localStorage), shared by the tabs of
 * the origin: what lets tabs share one bearer-mode session. Any script of
 * the origin can read it; prefer cookie mode where XSS is a concern.
 */
export function webStorageStore(
  storage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  },
  key = "secureauth:tokens",
): TokenStore {
  return {
    get() {
      const text = storage.getItem(key);
      if (text === null) return null;
      try {
        return JSON.parse(text) as StoredTokens;
      } catch {
        return null;
      }
    },
    set(tokens) {
      if (tokens === null) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(tokens));
    },
  };
}

const AUTH_MODE_HEADER = "X-Auth-Mode";

export class AuthClient {
  readonly mode: "bearer" | "cookie";
  private readonly baseUrl: string;
  private readonly serviceOrigin: string;
  private readonly trusted: ReadonlySet<string>;
  private readonly store: TokenStore;
  private readonly fetcher: typeof fetch;
  private readonly skewMs: number;
  private readonly now: () => number;
  private readonly tabs: TabCoordinator;
  private refreshing: Promise<StoredTokens | null> | null = null;
  /** Bumped whenever the tokens change other than by this client's own refresh: adopted from another tab, or ended. */
  private generation = 0;
  /** Messages from other tabs, applied in order; a refresh that waited for the lock waits for these too. */
  private inbox: Promise<void> = Promise.resolve();
  /** The session this client last saw, to know whether another tab's "ended" concerns it. */
  private sessionId: string | undefined;
  /** Cookie mode: whether the cookie is known to hold a session ("unknown" until the first refresh or sign-in). */
  private cookieSession: "unknown" | "present" | "none" = "unknown";

  constructor(private readonly options: AuthClientOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) throw new TypeError("AuthClient: baseUrl must be an http(s) URL");
    this.mode = options.mode ?? "bearer";
    if (this.mode !== "bearer" && this.mode !== "cookie")
      throw new TypeError('AuthClient: mode must be "bearer" or "cookie"');
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    this.serviceOrigin = new URL(this.baseUrl).origin;
    this.trusted = new Set([this.serviceOrigin, ...(options.trustedOrigins ?? []).map(exactOrigin)]);
    this.store = options.store ?? memoryStore();
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    this.skewMs = (options.refreshSkewSeconds ?? 30) * 1000;
    this.now = options.now ?? Date.now;
    // Bearer mode over the memory store: no other tab holds this session, so
    // the client neither hears nor tells the others anything (the refresh
    // token once went to every page of the origin here).
    const joinsTabs = this.mode === "cookie" || !tabPrivateStores.has(this.store);
    this.tabs = new TabCoordinator(this.baseUrl, randomId(), joinsTabs ? options.coordination : false, (message) => {
      this.inbox = this.inbox.then(() => this.receive(message)).catch(() => undefined);
    });
  }

  async register(input: { email: string; password: string; name?: string }): Promise<Registered> {
    const body = await this.post<Registered>("/auth/register", input);
    if (body.tokens) await this.signedIn(body.tokens);
    return body;
  }

  /**
   * Signs in with email and password. For an account with a second factor
   * this rejects with an AuthApiError whose code is "mfa_required" and whose
   * `mfaToken` and `methods` say how to finish: completeMfa, or
   * loginWithPasskey with the mfaToken.
   */
  async login(input: {
    email: string;
    password: string;
    deviceName?: string;
    deviceToken?: string;
  }): Promise<LoggedIn> {
    const body = await this.post<LoggedIn>("/auth/login", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /** The second step of a sign-in that answered mfa_required: a TOTP code or a recovery code. */
  async completeMfa(
    input: ({ mfaToken: string; code: string } | { mfaToken: string; recoveryCode: string }) & { deviceName?: string },
  ): Promise<LoggedIn> {
    const body = await this.post<LoggedIn>("/auth/mfa", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /**
   * Signs in with a passkey: `response` is the WebAuthn assertion (as JSON)
   * for the options of POST /auth/passkey/options; with the `mfaToken` of an
   * mfa_required answer it completes that sign-in instead.
   */
  async loginWithPasskey(input: { response: unknown; mfaToken?: string; deviceName?: string }): Promise<LoggedIn> {
    const body = await this.post<LoggedIn>("/auth/passkey", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /**
   * Proves it is the user again, for an action that answered
   * reauthentication_required, with one of the error's `methods`: the current
   * password alone (no second factor), the password with a TOTP code or a
   * recovery code, or a passkey assertion for the options of
   * POST /auth/reauthenticate/options (`auth.fetch` gets them). A new access
   * token for the same session; the refresh token stays.
   */
  async reauthenticate(
    input:
      | { currentPassword: string }
      | { currentPassword: string; code: string }
      | { currentPassword: string; recoveryCode: string }
      | { response: unknown },
  ): Promise<StoredTokens> {
    const token = await this.accessToken();
    const res = await this.fetcher(
      `${this.baseUrl}/auth/reauthenticate`,
      this.serviceInit(
        { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(input) },
        token,
      ),
    );
    if (!res.ok) throw new AuthApiError(await readProblem(res));
    const { tokens } = (await res.json()) as { tokens: TokenPair };
    const current = await this.store.get();
    return this.keep({ ...tokens, refreshToken: tokens.refreshToken ?? current?.refreshToken });
  }

  /** Ends the session on the server and in every tab; onSessionEnded("logged_out") is called. */
  async logout(): Promise<void> {
    const tokens = await this.store.get();
    const hadSession = tokens !== null || (this.mode === "cookie" && this.cookieSession !== "none");
    await this.store.set(null);
    this.generation++;
    this.cookieSession = "none";
    if (!hadSession) return;
    const request: RequestInit =
      this.mode === "cookie"
        ? this.serviceInit({ method: "POST" }, tokens?.accessToken ?? null)
        : {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ refreshToken: tokens?.refreshToken }),
          };
    await this.fetcher(`${this.baseUrl}/auth/logout`, request).catch(() => undefined);
    this.tabs.post({ type: "ended", reason: "logged_out", sessionId: tokens?.sessionId ?? this.sessionId });
    this.options.onSessionEnded?.("logged_out");
  }

  /** A valid access token, refreshing first if it is expired or about to be. null when signed out. */
  async accessToken(): Promise<string | null> {
    const tokens = await this.current();
    if (tokens && tokens.accessExpiresAt - this.skewMs > this.now()) return tokens.accessToken;
    // Cookie mode: a page just loaded has no access token yet, but the cookie may hold a session.
    if (!tokens && (this.mode === "bearer" || this.cookieSession === "none")) return null;
    return (await this.refresh())?.accessToken ?? null;
  }

  /**
   * Refreshes the tokens once, however many callers (and tabs) ask at the
   * same time. Resolves null when there is no session (any more).
   */
  refresh(): Promise<StoredTokens | null> {
    this.refreshing ??= this.coordinatedRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * fetch with the access token attached when the URL's origin is trusted
   * (and, in cookie mode, credentials and X-Auth-Mode for the service's own
   * origin); on a 401 invalid_token it refreshes once and retries once. Any
   * other origin gets the request as it is, without the token.
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const origin = originOf(input);
    if (origin === undefined || !this.trusted.has(origin)) return this.fetcher(input, init);
    const forService = origin === this.serviceOrigin;
    const attach = (token: string | null) => (forService ? this.serviceInit(init, token) : withBearer(init, token));
    const token = await this.accessToken();
    const first = await this.fetcher(input, attach(token));
    if (first.status !== 401 || token === null || !(await isInvalidToken(first))) return first;
    const current = await this.store.get();
    // Another caller (or tab) may already have refreshed while this request was out.
    const fresh = current && current.accessToken !== token ? current : await this.refresh();
    if (!fresh) return first;
    return this.fetcher(input, attach(fresh.accessToken));
  }

  /** Stops listening to the other tabs (and closes the channel the client opened itself). */
  close(): void {
    this.tabs.close();
  }

  private async current(): Promise<StoredTokens | null> {
    const tokens = await this.store.get();
    if (tokens) this.sessionId = tokens.sessionId;
    return tokens;
  }

  private async coordinatedRefresh(): Promise<StoredTokens | null> {
    const before = await this.current();
    if (!before && this.mode === "bearer") return null;
    const generation = this.generation;
    return this.tabs.exclusive(async () => {
      // What another tab did while this one waited: its broadcast applied, its write to a shared store visible.
      await this.inbox;
      const now = await this.current();
      if (this.mode === "bearer") {
        if (!now) return null;
        const changed = now.refreshToken !== before?.refreshToken || now.accessToken !== before?.accessToken;
        if (changed && now.accessExpiresAt - this.skewMs > this.now()) return now;
      } else if (this.generation !== generation) {
        // Another tab refreshed, signed in or out: the cookie is shared, so its word holds here too.
        if (!now || now.accessExpiresAt - this.skewMs > this.now()) return now;
      }
      return this.rotate(now);
    });
  }

  private async rotate(tokens: StoredTokens | null): Promise<StoredTokens | null> {
    const request: RequestInit =
      this.mode === "cookie"
        ? // No body: the service reads the refresh token from its cookie.
          this.serviceInit({ method: "POST" }, null)
        : {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ refreshToken: tokens?.refreshToken }),
          };
    const res = await this.fetcher(`${this.baseUrl}/auth/refresh`, request);
    if (res.ok) {
      this.cookieSession = "present";
      const stored = await this.keep(((await res.json()) as { tokens: TokenPair }).tokens);
      // Bearer mode: the refresh token just rotated. A tab sharing the store reads the new pair there; one whose
      // own store holds the old pair learns it is spent. Neither is told the pair.
      if (this.mode === "bearer")
        this.tabs.post({ type: "rotated", sessionId: stored.sessionId, accessExpiresAt: stored.accessExpiresAt });
      return stored;
    }
    const problem = await readProblem(res);
    if (problem.code === "refresh_token_reused" || problem.code === "invalid_refresh_token") {
      // In cookie mode a page with no session yet learns there is none: nothing ended.
      const hadSession = tokens !== null || this.cookieSession === "present";
      await this.store.set(null);
      this.generation++;
      this.cookieSession = "none";
      if (hadSession) {
        this.tabs.post({ type: "ended", reason: problem.code, sessionId: tokens?.sessionId ?? this.sessionId });
        this.options.onSessionEnded?.(problem.code);
      }
      return null;
    }
    throw new AuthApiError(problem);
  }

  private async signedIn(tokens: TokenPair): Promise<StoredTokens> {
    this.cookieSession = "present";
    return this.keep(tokens, true);
  }

  /** Stores the tokens; in cookie mode, tells the other tabs the access token (see "What crosses tabs" above). */
  private async keep(tokens: TokenPair, signedIn = false): Promise<StoredTokens> {
    const stored: StoredTokens = { ...tokens, accessExpiresAt: this.now() + tokens.expiresIn * 1000 };
    // Cookie mode keeps no refresh token, whatever a body might carry.
    if (this.mode === "cookie" || stored.refreshToken === undefined) delete stored.refreshToken;
    await this.store.set(stored);
    this.sessionId = stored.sessionId;
    if (this.mode === "cookie") {
      // Named field by field, so nothing else a body might carry is ever shared.
      const { tokenType, accessToken, expiresIn, refreshExpiresIn, sessionId, accessExpiresAt } = stored;
      this.tabs.post({
        type: "tokens",
        signedIn,
        mode: "cookie",
        tokens: { tokenType, accessToken, expiresIn, refreshExpiresIn, sessionId, accessExpiresAt },
      });
    }
    return stored;
  }

  /** A message from another tab. */
  private async receive(message: Record<string, unknown>): Promise<void> {
    if (message.type === "rotated") {
      if (
        this.mode !== "bearer" ||
        typeof message.sessionId !== "string" ||
        typeof message.accessExpiresAt !== "number"
      )
        return;
      const current = await this.store.get();
      // A store the tabs share holds the new pair already (or a newer one); another session is not this one's.
      if (!current || current.sessionId !== message.sessionId || current.accessExpiresAt >= message.accessExpiresAt)
        return;
      // This tab's own store (a duplicated tab's sessionStorage) holds a refresh token another tab has just rotated
      // away. Presenting it would be reuse and end the session in every tab: this tab forgets it instead.
      await this.store.set(null);
      this.generation++;
      this.sessionId = undefined;
      this.options.onSessionEnded?.("invalid_refresh_token");
      return;
    }
    if (message.type === "tokens") {
      const tokens = message.tokens;
      // Only cookie mode shares tokens, and never a refresh token.
      if (this.mode !== "cookie" || message.mode !== "cookie" || !isStoredTokens(tokens)) return;
      const current = await this.store.get();
      if (!(message.signedIn === true || !current || tokens.accessExpiresAt > current.accessExpiresAt)) return;
      delete tokens.refreshToken;
      await this.store.set(tokens);
      this.sessionId = tokens.sessionId;
      this.cookieSession = "present";
      this.generation++;
      return;
    }
    if (message.type === "ended") {
      const reason = message.reason;
      if (reason !== "logged_out" && reason !== "refresh_token_reused" && reason !== "invalid_refresh_token") return;
      const current = await this.store.get();
      let concerned: boolean;
      if (this.mode === "cookie") concerned = current !== null || this.cookieSession === "present";
      else
        concerned =
          typeof message.sessionId === "string" && (current?.sessionId ?? this.sessionId) === message.sessionId;
      if (!concerned) return;
      if (current) await this.store.set(null);
      this.generation++;
      this.cookieSession = "none";
      this.sessionId = undefined;
      this.options.onSessionEnded?.(reason);
    }
  }

  /** A request to the service itself: the bearer, and in cookie mode its cookies and X-Auth-Mode. */
  private serviceInit(init: RequestInit, token: string | null): RequestInit {
    const request = withBearer(init, token);
    if (this.mode !== "cookie") return request;
    (request.headers as Headers).set(AUTH_MODE_HEADER, "cookie");
    // Cast: Workers' RequestInit has no `credentials` (cookie mode is for browsers).
    return { ...request, credentials: "include" } as RequestInit;
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.fetcher(
      `${this.baseUrl}${path}`,
      this.serviceInit(
        { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) },
        null,
      ),
    );
    if (!res.ok) throw new AuthApiError(await readProblem(res));
    return (await res.json()) as T;
  }
}

function originOf(input: string | URL): string | undefined {
  try {
    // Relative URLs resolve against the page in a browser; elsewhere they are not URLs at all.
    return new URL(input, (globalThis as { location?: { href: string } }).location?.href).origin;
  } catch {
    return undefined;
  }
}

function exactOrigin(origin: string): string {
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {}
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin.replace(/\/$/, "")) {
    throw new TypeError(
      `AuthClient: trustedOrigins entries must be exact origins like https://api.example.com, not ${JSON.stringify(origin)}`,
    );
  }
  return url.origin;
}

function withBearer(init: RequestInit, token: string | null): RequestInit {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return { ...init, headers };
}

function isStoredTokens(value: unknown): value is StoredTokens {
  return (
    isRecord(value) &&
    typeof value.accessToken === "string" &&
    typeof value.accessExpiresAt === "number" &&
    typeof value.sessionId === "string"
  );
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
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
