// The token pair of API.md, from an access-token subject and a refresh token.
import type { Clock } from "../context";
import type { AccessTokenIssuer } from "./tokens";
import type { AccessTokenSubject } from "./tokens/types";

export type TokenPair = {
  tokenType: "Bearer";
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  sessionId: string;
};

export async function issueTokenPair(
  issuer: AccessTokenIssuer,
  clock: Clock,
  subject: AccessTokenSubject,
  refresh: { token: string; expiresAt: Date },
): Promise<TokenPair> {
  const { accessToken, expiresIn } = await issuer.issue(subject);
  return {
    tokenType: "Bearer",
    accessToken,
    expiresIn,
    refreshToken: refresh.token,
    refreshExpiresIn: Math.max(0, Math.floor((refresh.expiresAt.getTime() - clock().getTime()) / 1000)),
    sessionId: subject.sessionId,
  };
}
