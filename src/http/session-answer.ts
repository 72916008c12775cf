// How the routes that open or renew a session answer, in bearer mode (the
// token pair in the body) and in cookie mode (X-Auth-Mode: cookie: the
// tokens also as cookies, and never the refresh token in the body).
import type { Context } from "hono";
import type { AppEnv } from "./context";
import { bodyTokens, refuseCrossSite, setSessionCookies, wantsCookies } from "./cookie-mode";
import type { RequestOrigin, UserRecord } from "../core/domain";
import type { TokenPair } from "../features/sessions";
import { requestOrigin } from "./request-origin";
import { toApiUser } from "./schemas";

/** The signed-in caller (after authenticate), as the self-service factor routes name them: user, session, origin. */
export function callerOf(c: Context<AppEnv>): { userId: string; sessionId: string; origin: RequestOrigin } {
  return { userId: c.var.auth.sub, sessionId: c.var.auth.sid, origin: requestOrigin(c.req.raw) };
}

/** Before any work on a cookie-mode request that will set cookies: the CSRF rule (an allowed Origin). */
export function checkCookieModeOrigin(c: Context<AppEnv>): void {
  if (wantsCookies(c)) refuseCrossSite(c);
}

/** `{user, tokens}` (register), setting the cookies in cookie mode. */
export function signedInBody(c: Context<AppEnv>, signedIn: { user: UserRecord; tokens: TokenPair }) {
  if (wantsCookies(c)) setSessionCookies(c, signedIn.tokens);
  return { user: toApiUser(signedIn.user), tokens: bodyTokens(c, signedIn.tokens) };
}

/** `{user, tokens, deviceToken}` (a sign-in), setting the cookies, the device's too, in cookie mode. */
export function loggedInBody(
  c: Context<AppEnv>,
  loggedIn: { user: UserRecord; tokens: TokenPair; deviceToken: string },
) {
  if (wantsCookies(c)) setSessionCookies(c, loggedIn.tokens, loggedIn.deviceToken);
  return { user: toApiUser(loggedIn.user), tokens: bodyTokens(c, loggedIn.tokens), deviceToken: loggedIn.deviceToken };
}

/** `{tokens}` for a refresh or a re-authentication, setting the cookies in cookie mode. */
export function tokensBody<
  T extends { accessToken: string; expiresIn: number; refreshToken?: string; refreshExpiresIn: number },
>(c: Context<AppEnv>, tokens: T) {
  if (wantsCookies(c)) setSessionCookies(c, tokens);
  return { tokens: bodyTokens(c, tokens) };
}
