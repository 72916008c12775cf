// The session half of AuthClient: signs in (with a second factor when the
// account has one), keeps the tokens, attaches the access token to requests,
// refreshes it, re-authenticates, switches the organization it acts in and
// signs out. client.ts adds the rest of the account's operations on top.
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
// - A refresh that got no answer (the connection dropped) is sent again at
//   once, and after short pauses, within the service's grace window, which
//   answers the same token with the same successor (refreshRequest).
//
// Imports nothing outside this package: no server code, no dependency.

import { isRecord, TabCoordinator } from "./coordination.js";
import { isTabPrivate, memoryStore } from "./stores.js";
import {
  AuthApiError,
  type AuthClientOptions,
  type LoggedIn,
  type Problem,
  type ReauthenticationProof,
  type Registered,
  type RequestBody,
  type ResponseBody,
  type StoredTokens,
  type TokenPair,
  type TokenStore,
} from "./types.js";

const AUTH_MODE_HEADER = "X-Auth-Mode";
/** Pauses before each retry of a refresh that got no answer: the first at once. */
const REFRESH_RETRY_PAUSES_MS = [0, 250, 1000];
/** A retry must reach the service inside its grace window: it is sent no later than this before the window ends. */
const REFRESH_RETRY_MARGIN_MS = 1000;

/** The session a client holds: its tokens, their refresh, and the requests that carry them. Use AuthClient. */
export class SessionClient {
  readonly mode: "bearer" | "cookie";
  protected readonly baseUrl: string;
  private readonly serviceOrigin: string;
  private readonly trusted: ReadonlySet<string>;
  private readonly store: TokenStore;
  private readonly fetcher: typeof fetch;
  private readonly skewMs: number;
  private readonly now: () => number;
  /** The service's REFRESH_REUSE_GRACE: how long a lost refresh may be retried. */
  private readonly graceMs: number;
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
    this.graceMs = (options.refreshGraceSeconds ?? 10) * 1000;
    this.now = options.now ?? Date.now;
    // Bearer mode over the memory store: no other tab holds this session, so
    // the client neither hears nor tells the others anything (the refresh
    // token once went to every page of the origin here).
    const joinsTabs = this.mode === "cookie" || !isTabPrivate(this.store);
    this.tabs = new TabCoordinator(this.baseUrl, randomId(), joinsTabs ? options.coordination : false, (message) => {
      this.inbox = this.inbox.then(() => this.receive(message)).catch(() => undefined);
    });
  }

  /** POST /auth/register; signed in at once unless the service requires a verified email first. */
  async register(input: RequestBody<"register">): Promise<Registered> {
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
  async login(input: RequestBody<"login">): Promise<LoggedIn> {
    const body = await this.post<LoggedIn>("/auth/login", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /**
   * Signs in (or up: `isNewUser`) with the 6-digit code mailed by
   * requestEmailCode (`{email, code}`) or its magic link's token (`{token}`).
   * For an account with a second factor this rejects with mfa_required, as
   * login does; a wrong, expired or spent code rejects with invalid_email_code.
   */
  async signInWithEmailCode(input: RequestBody<"verifyEmailCode">): Promise<ResponseBody<"verifyEmailCode">> {
    const body = await this.post<ResponseBody<"verifyEmailCode">>("/auth/email/code/verify", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /** signInWithEmailCode under its operation's name (POST /auth/email/code/verify, `verifyEmailCode`). */
  verifyEmailCode(input: RequestBody<"verifyEmailCode">): Promise<ResponseBody<"verifyEmailCode">> {
    return this.signInWithEmailCode(input);
  }

  /** The second step of a sign-in that answered mfa_required: a TOTP code or a recovery code. */
  async completeMfa(input: RequestBody<"completeMfaSignIn">): Promise<ResponseBody<"completeMfaSignIn">> {
    const body = await this.post<ResponseBody<"completeMfaSignIn">>("/auth/mfa", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /**
   * Signs in with a passkey: `response` is the WebAuthn assertion (as JSON)
   * for the options of POST /auth/passkey/options; with the `mfaToken` of an
   * mfa_required answer it completes that sign-in instead.
   */
  async loginWithPasskey(input: RequestBody<"passkeySignIn">): Promise<ResponseBody<"passkeySignIn">> {
    const body = await this.post<ResponseBody<"passkeySignIn">>("/auth/passkey", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /**
   * POST /auth/exchange: the one-time code a provider sign-in returned to the
   * app, with the verifier of the code_challenge it started with (what
   * `handleRedirect` calls). Answers as login, with `isNewUser`; rejects
   * with mfa_required for an account with a second factor, as login does.
   */
  async exchangeSignInCode(input: RequestBody<"exchangeSignInCode">): Promise<ResponseBody<"exchangeSignInCode">> {
    const body = await this.post<ResponseBody<"exchangeSignInCode">>("/auth/exchange", input);
    await this.signedIn(body.tokens);
    return body;
  }

  /**
   * POST /auth/oauth/{provider}/id-token: a native app's ID token from the
   * provider's SDK, and the raw nonce whose SHA-256 (hex) the app gave the
   * provider. Answers as exchangeSignInCode.
   */
  async signInWithIdToken(
    provider: string,
    input: RequestBody<"signInWithIdToken">,
  ): Promise<ResponseBody<"signInWithIdToken">> {
    const path = `/auth/oauth/${encodeURIComponent(provider)}/id-token`;
    const body = await this.post<ResponseBody<"signInWithIdToken">>(path, input);
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
  async reauthenticate(input: ReauthenticationProof): Promise<StoredTokens> {
    const { tokens } = await this.call<ResponseBody<"reauthenticate">>("POST", "/auth/reauthenticate", input);
    const current = await this.store.get();
    return this.keep({ ...tokens, refreshToken: current?.refreshToken });
  }

  /**
   * POST /auth/org: acts in one of the user's organizations, or with null in none. A new access token for the same
   * session, whose `org` claim names the organization and what the user holds there (none with null); the refresh
   * token stays, and its refreshes keep the organization while the user is a member. An organization the user is
   * not a member of rejects with an AuthApiError not_found, and the tokens held stay as they were.
   */
  async switchOrganization(orgId: string | null): Promise<StoredTokens> {
    const { tokens } = await this.call<ResponseBody<"switchOrganization">>("POST", "/auth/org", { orgId });
    const current = await this.store.get();
    return this.keep({ ...tokens, refreshToken: current?.refreshToken });
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
    const res = await this.refreshRequest(request);
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

  /**
   * POST /auth/refresh, sent again when no answer came back (the fetch rejected: the connection dropped, the
   * network failed). The lost attempt may have reached the service and rotated the token; within the service's grace
   * window (REFRESH_REUSE_GRACE, 10 s by default) the same token is answered with the same successor, so the retry
   * goes at once, then after short pauses, while the window is open with a second to spare for the trip. After
   * that the error reaches the caller: a later refresh with that token is answered as the service finds it, and if
   * the lost attempt had rotated it, that is reuse, which ends the session (onSessionEnded "refresh_token_reused").
   * An HTTP answer of any status is an answer, and is not retried here.
   */
  private async refreshRequest(request: RequestInit): Promise<Response> {
    const started = this.now();
    const windowMs = this.graceMs - REFRESH_RETRY_MARGIN_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetcher(`${this.baseUrl}/auth/refresh`, request);
      } catch (error) {
        const pause = REFRESH_RETRY_PAUSES_MS[attempt];
        if (pause === undefined || this.now() - started + pause >= windowMs) throw error;
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
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

  /** A request to the service that needs no session (a sign-in, a link's token): its JSON, or undefined for 204. */
  protected async post<T>(path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method: "POST" };
    if (body !== undefined) {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    return answer<T>(await this.fetcher(`${this.baseUrl}${path}`, this.serviceInit(init, null)));
  }

  /** A GET that needs no session (GET /auth/providers). */
  protected async get<T>(path: string): Promise<T> {
    return answer<T>(await this.fetcher(`${this.baseUrl}${path}`, this.serviceInit({ method: "GET" }, null)));
  }

  /** A request to the service as the signed-in user (the access token, refreshed once if refused). */
  protected async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    return answer<T>(await this.fetch(`${this.baseUrl}${path}`, init));
  }

  /** The id of the session this client holds, if it knows one. */
  protected async currentSessionId(): Promise<string | undefined> {
    return (await this.current())?.sessionId ?? this.sessionId;
  }

  /**
   * The server ended this client's session at the user's word (the session
   * list, deleting the account): forget it here and in the tabs that share
   * it, as a logout does.
   */
  protected async ended(sessionId: string | undefined): Promise<void> {
    await this.store.set(null);
    this.generation++;
    this.cookieSession = "none";
    this.tabs.post({ type: "ended", reason: "logged_out", sessionId });
    this.sessionId = undefined;
    this.options.onSessionEnded?.("logged_out");
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
      "AuthClient: trustedOrigins entries must be exact origins (a scheme, a host and a port, no path), " +
        `not ${JSON.stringify(origin)}`,
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

/** The API's answer: its JSON, undefined for 204, or an AuthApiError with its problem details. */
async function answer<T>(res: Response): Promise<T> {
  if (!res.ok) throw new AuthApiError(await readProblem(res));
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

async function readProblem(res: Response): Promise<Problem> {
  try {
    const body = (await res.json()) as Problem;
    if (typeof body?.code === "string") return body;
  } catch {}
  return { type: "about:blank", title: res.statusText || "Request failed", status: res.status, code: "internal_error" };
}
