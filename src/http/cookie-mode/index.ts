// Browser (cookie) mode: with `X-Auth-Mode: cookie`, the sign-in, refresh,
// re-authentication and logout routes answer their tokens as `__Host-`
// cookies instead of in the body. A cookie travels with any page's request,
// so a cookie-authenticated unsafe request, and any request that sets
// cookies, needs that header and an allowed Origin (403 csrf_rejected): one
// of ALLOWED_ORIGINS, or the service's own (its hosted pages'); forward auth
// applies the rule to the request the proxy describes.
// The cookies and the rule: docs/browser-mode.md.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { serviceOrigin } from "../../core/config/providers";
import { parse as parseCookies } from "hono/utils/cookie";
import { CsrfRejected } from "../../core/errors";
import type { AppEnv } from "../context";

export const AUTH_MODE_HEADER = "X-Auth-Mode";
const COOKIE = { refresh: "sa_rt", access: "sa_at", device: "sa_dev" } as const;
/**
 * The device token outlives sessions: it names the device, not a sign-in (about 400 days, the longest browsers keep a
 * cookie).
 */
const DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600;
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** The request asks for cookie mode. */
export function wantsCookies(c: Context): boolean {
  return c.req.header(AUTH_MODE_HEADER)?.trim().toLowerCase() === "cookie";
}

/**
 * The CSRF rule for a request that is authenticated by a cookie or that
 * sets them: `X-Auth-Mode: cookie`, and an Origin the service trusts: one
 * of ALLOWED_ORIGINS, or the service's own, where the hosted pages run
 * (PUBLIC_URL's, or on a loopback host the request's own, as for the
 * providers' callback), so an operator need not list it. Safe methods
 * pass: they change nothing.
 */
export function refuseCrossSite(c: Context<AppEnv>): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  if (!wantsCookies(c)) throw new CsrfRejected("a cookie-authenticated request must carry X-Auth-Mode: cookie");
  const origin = c.req.header("Origin");
  const { allowedOrigins, federation } = c.var.config;
  const trusted =
    origin !== undefined &&
    (allowedOrigins.includes(origin) || origin === serviceOrigin(federation.publicUrl, c.req.url));
  if (!trusted) {
    throw new CsrfRejected("a cookie-authenticated request must come from an allowed origin");
  }
}

/**
 * Where a forward-auth proxy names the method of the request it asks about (Caddy and Traefik: X-Forwarded-Method;
 * nginx: set by its configuration).
 */
const FORWARDED_METHOD_HEADERS = ["X-Forwarded-Method", "X-Original-Method"] as const;

/**
 * The CSRF rule through a forward-auth proxy (GET /auth/verify), for a check
 * authenticated by the access cookie: the verify itself is a GET, so the
 * original request's method is what the proxy says. An original that is not
 * safe (either header naming anything but GET, HEAD or OPTIONS) needs an
 * Origin, forwarded by the proxy, in the allowlist; a forwarded Origin
 * outside it is refused whatever the method. X-Auth-Mode is not asked: it
 * is the service's own API convention, which the protected application's
 * requests need not follow.
 */
export function refuseForwardedCrossSite(c: Context, allowedOrigins: readonly string[]): void {
  refuseForwardedCrossSiteOf(c.req.raw.headers, allowedOrigins);
}

/** refuseForwardedCrossSite from the request's headers alone: for the verify fast path, which has no Context. */
export function refuseForwardedCrossSiteOf(headers: Headers, allowedOrigins: readonly string[]): void {
  const origin = headers.get("Origin") ?? undefined;
  if (origin !== undefined && !allowedOrigins.includes(origin)) {
    throw new CsrfRejected("a cookie-authenticated forward-auth check from an origin outside the allowlist");
  }
  const unsafe = FORWARDED_METHOD_HEADERS.some((name) => {
    const method = headers.get(name)?.trim().toUpperCase();
    return method !== undefined && method !== "" && !SAFE_METHODS.has(method);
  });
  if (unsafe && origin === undefined)
    throw new CsrfRejected("a cookie-authenticated unsafe original request without an Origin");
}

export function accessTokenCookie(c: Context): string | undefined {
  return getCookie(c, COOKIE.access, "host");
}

const ACCESS_COOKIE_NAME = `__Host-${COOKIE.access}`;

/** accessTokenCookie from a Cookie header alone (hono's getCookie parses it the same way): for the fast path. */
export function accessTokenCookieOf(cookie: string | null): string | undefined {
  if (!cookie) return undefined;
  return parseCookies(cookie, ACCESS_COOKIE_NAME)[ACCESS_COOKIE_NAME];
}

export function refreshTokenCookie(c: Context): string | undefined {
  return getCookie(c, COOKIE.refresh, "host");
}

export function deviceTokenCookie(c: Context): string | undefined {
  return getCookie(c, COOKIE.device, "host");
}

/** The device token a sign-in presents: the body's, else (cookie mode) the device cookie's. */
export function presentedDeviceToken(c: Context, fromBody: string | null | undefined): string | undefined {
  return fromBody ?? (wantsCookies(c) ? deviceTokenCookie(c) : undefined);
}

type Pair = { accessToken: string; expiresIn: number; refreshToken?: string; refreshExpiresIn: number };

/** Sets the session's cookies for this answer; the refresh cookie lives as long as the refresh token does. */
export function setSessionCookies(c: Context, tokens: Pair, deviceToken?: string): void {
  if (tokens.refreshToken !== undefined) {
    setCookie(c, COOKIE.refresh, tokens.refreshToken, {
      prefix: "host",
      path: "/",
      secure: true,
      httpOnly: true,
      sameSite: "Strict",
      maxAge: tokens.refreshExpiresIn,
    });
  }
  setCookie(c, COOKIE.access, tokens.accessToken, {
    prefix: "host",
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    maxAge: tokens.expiresIn,
  });
  if (deviceToken !== undefined) {
    setCookie(c, COOKIE.device, deviceToken, {
      prefix: "host",
      path: "/",
      secure: true,
      httpOnly: true,
      sameSite: "Strict",
      maxAge: DEVICE_COOKIE_MAX_AGE,
    });
  }
}

/**
 * Logout: the session's two cookies go. The device cookie stays: it names
 * the device, not the sign-in, and a stranger's guesses must not lock out
 * the owner's next sign-in on it.
 */
export function clearSessionCookies(c: Context): void {
  for (const name of [COOKIE.refresh, COOKIE.access])
    deleteCookie(c, name, { prefix: "host", path: "/", secure: true });
}

/** The token pair as the body carries it: never the refresh token in cookie mode. */
export function bodyTokens<T extends Pair>(c: Context, tokens: T): T | Omit<T, "refreshToken"> {
  if (!wantsCookies(c)) return tokens;
  const { refreshToken: _inCookie, ...rest } = tokens;
  return rest;
}
