// The token pair of API.md, from an access token and a refresh token.
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
 * `refreshExpiresIn` counts down to the session's absolute expiry: the
 * longest the pair can be kept alive by refreshing (REFRESH_ABSOLUTE_TTL, the
 * 2592000 of API.md's example, at sign-in). A refresh token left unused also
 * lapses after REFRESH_IDLE_TTL. Both numbers come from one instant, `now`.
 */
export async function issueTokenPair(
  tokens: AccessTokens,
  now: Date,
  subject: AccessTokenSubject,
  refresh: { token: string; expiresAt: Date },
): Promise<TokenPair> {
  const { accessToken, expiresIn } = await tokens.issue(subject);
  return {
    tokenType: "Bearer",
    accessToken,
    expiresIn,
    refreshToken: refresh.token,
    refreshExpiresIn: Math.max(0, Math.round((refresh.expiresAt.getTime() - now.getTime()) / 1000)),
    sessionId: subject.sessionId,
  };
}
