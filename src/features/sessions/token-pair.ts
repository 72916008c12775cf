// The token pair of the API contract, from an access token and a refresh token.
import type { AccessTokens, AccessTokenSubject } from "../tokens";

export type TokenPair = {
  tokenType: "Bearer";
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  sessionId: string;
};

/**
 * `refreshExpiresIn` is when this refresh token stops working if it is not
 * used: the earlier of the session's idle expiry (REFRESH_IDLE_TTL after its
 * last use, 604800 with the defaults at sign-in) and its absolute expiry
 * (REFRESH_ABSOLUTE_TTL after sign-in, which no refresh moves). It matches
 * the session's `expiresAt` in GET /sessions. Counted from `now`, the
 * instant the expiries were set or read at.
 */
export async function issueTokenPair(
  tokens: AccessTokens,
  now: Date,
  subject: AccessTokenSubject,
  refresh: { token: string; idleExpiresAt: Date; absoluteExpiresAt: Date },
): Promise<TokenPair> {
  const { accessToken, expiresIn } = await tokens.issue(subject);
  const lapsesAt = Math.min(refresh.idleExpiresAt.getTime(), refresh.absoluteExpiresAt.getTime());
  return {
    tokenType: "Bearer",
    accessToken,
    expiresIn,
    refreshToken: refresh.token,
    refreshExpiresIn: Math.max(0, Math.round((lapsesAt - now.getTime()) / 1000)),
    sessionId: subject.sessionId,
  };
}

/** The tokens of an answer for the session the caller already holds: a new access token, the refresh token unchanged. */
export type SameSessionTokens = Omit<TokenPair, "refreshToken">;

/**
 * A new access token for the caller's own session (re-authentication, a switch of organization): the refresh token
 * the client holds stays as it is, so the answer has none; `refreshExpiresIn` counts to the session's expiry as read.
 */
export async function issueForSameSession(
  tokens: AccessTokens,
  now: Date,
  subject: AccessTokenSubject,
  session: { idleExpiresAt: Date; absoluteExpiresAt: Date },
): Promise<SameSessionTokens> {
  const { refreshToken: _, ...pair } = await issueTokenPair(tokens, now, subject, { token: "", ...session });
  return pair;
}
