// POST /auth/refresh: the four cases of DESIGN.md "Rotation with a
// deterministic successor".
//   1. T is current and its session live: rotate (one atomic statement).
//   2. T is the immediate parent of the current, unused token and was rotated
//      within the grace window: answer the same successor again; no writes.
//   3. T is any other token of the family: reuse. End the session, audit it,
//      answer refresh_token_reused. Other sessions are untouched.
//   4. Anything else: invalid_refresh_token.
// The data access comes in as narrow interfaces (the container passes the
// real repositories), so the rules are testable with an in-memory fake.
import type { Config } from "../config";
import type { Clock } from "../context";
import { InvalidRefreshToken, RefreshTokenReused } from "../errors";
import type { RequestOrigin } from "../repositories/audit";
import type { RefreshTokenRepository } from "../repositories/refresh-tokens";
import type { UserRepository } from "../repositories/users";
import { hashRefreshToken, looksLikeRefreshToken, successorOf } from "./refresh-token-crypto";
import type { SessionRevocationList } from "./revocation";
import { issueTokenPair, type TokenPair } from "./token-pair";
import type { AccessTokenIssuer } from "./tokens";

export type RotationDeps = {
  refreshTokens: Pick<RefreshTokenRepository, "rotate" | "lineage" | "revokeFamilyForReuse">;
  users: Pick<UserRepository, "findById">;
  config: Pick<Config, "refreshTokenSecret" | "refreshIdleTtl" | "refreshReuseGrace">;
  clock: Clock;
  tokens: () => Promise<AccessTokenIssuer>;
  revocations: Pick<SessionRevocationList, "revoke">;
};

export async function rotateRefreshToken(deps: RotationDeps, presented: string, origin: RequestOrigin): Promise<TokenPair> {
  if (!looksLikeRefreshToken(presented)) throw new InvalidRefreshToken("not a refresh token");
  const { refreshTokens, config, clock } = deps;
  const tokenHash = hashRefreshToken(presented);
  const successor = successorOf(presented, config.refreshTokenSecret);

  const rotatedAt = clock();
  const rotated = await refreshTokens.rotate({
    tokenHash,
    successorHash: hashRefreshToken(successor),
    idleTtlSeconds: config.refreshIdleTtl,
    origin,
    at: rotatedAt,
  });
  if (rotated) {
    return issueTokenPair(await deps.tokens(), rotatedAt, rotated, { token: successor, expiresAt: rotated.absoluteExpiresAt });
  }

  const at = clock();
  const lineage = await refreshTokens.lineage(tokenHash, at);
  if (!lineage) throw new InvalidRefreshToken("unknown token");
  if (!lineage.sessionLive || !lineage.userActive) throw new InvalidRefreshToken("session ended or user disabled");
  if (lineage.usedAt === null) throw new InvalidRefreshToken("current token expired");

  const withinGrace =
    lineage.child !== null &&
    lineage.child.usedAt === null &&
    lineage.child.tokenHash === hashRefreshToken(successor) &&
    at.getTime() - lineage.usedAt.getTime() < config.refreshReuseGrace * 1000;
  if (withinGrace) {
    const user = await deps.users.findById(lineage.userId);
    if (!user || user.status !== "active") throw new InvalidRefreshToken("user gone or disabled");
    const session = { userId: user.id, sessionId: lineage.sessionId, roles: user.roles, permissions: user.permissions, grantsVersion: user.grantsVersion };
    return issueTokenPair(await deps.tokens(), at, session, { token: successor, expiresAt: lineage.sessionAbsoluteExpiresAt });
  }

  await refreshTokens.revokeFamilyForReuse(lineage.sessionId, origin, at);
  await deps.revocations.revoke([lineage.sessionId]);
  throw new RefreshTokenReused();
}
