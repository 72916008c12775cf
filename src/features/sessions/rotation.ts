// POST /auth/refresh: the four cases of the rotation with a
// deterministic successor (docs/sessions.md).
//   1. T is current and its session live: rotate (one atomic statement).
//   2. T is the immediate parent of the current, unused token and was rotated
//      within the grace window: answer the same successor again; no writes.
//   3. T is any other token of the family: reuse. End the session, audit it,
//      answer refresh_token_reused. Other sessions are untouched.
//   4. Anything else: invalid_refresh_token.
// A string that is not one of our tokens is refused before any I/O. A tagged
// token names its session, so refreshes are limited per session
// (AUTH_REFRESH_RATE_LIMITER), also before any database statement; a legacy
// token names none before its lookup and passes that limit.
import type { Clock } from "../../core/clock";
import { EmailNotVerified, InvalidRefreshToken, RateLimited, RefreshTokenReused } from "../../core/errors";
import type { KeyedRateLimit, RequestOrigin } from "../../core/domain";
import { endedSessions, type RefreshTokenStore, type RevocationList } from "./store";
import type { UserStore } from "../accounts/store";
import { requireActiveUser } from "../sign-in/active-user";
import type { AccessTokens } from "../tokens";
import type { RefreshTokenCodec } from "./refresh-token";
import { issueTokenPair, type TokenPair } from "./token-pair";

export type RotationDeps = {
  refreshTokens: RefreshTokenStore;
  users: Pick<UserStore, "findById">;
  codec: RefreshTokenCodec;
  settings: { refreshIdleTtl: number; refreshReuseGrace: number; requireVerifiedEmail: boolean };
  clock: Clock;
  tokens: AccessTokens;
  revocations: Pick<RevocationList, "publish">;
  /** Per session, keyed on the session id a tagged token carries. */
  refreshLimit: KeyedRateLimit;
};

export class RefreshTokenRotation {
  constructor(private readonly deps: RotationDeps) {}

  async rotate(presented: string, origin: RequestOrigin): Promise<TokenPair> {
    const { refreshTokens, codec, settings, clock } = this.deps;
    const checked = codec.check(presented);
    if (checked.kind === "junk") throw new InvalidRefreshToken("not a refresh token of this service");
    if (checked.kind === "tagged") {
      const limit = await this.deps.refreshLimit.take(checked.sessionId);
      if (!limit.allowed) throw new RateLimited(limit.retryAfterSeconds);
    }
    const tokenHash = codec.hash(presented);
    // A token from before tags names no session: the database does, once.
    const sessionId =
      checked.kind === "tagged" ? checked.sessionId : (await refreshTokens.lineage(tokenHash, clock()))?.sessionId;
    if (sessionId === undefined) throw new InvalidRefreshToken("unknown token");
    const successor = codec.successorOf(presented, sessionId);
    const successorHash = codec.hash(successor);

    const rotatedAt = clock();
    const rotated = await refreshTokens.rotate({
      tokenHash,
      successorHash,
      idleTtlSeconds: settings.refreshIdleTtl,
      requireVerifiedEmail: settings.requireVerifiedEmail,
      origin,
      at: rotatedAt,
    });
    if (rotated) {
      return issueTokenPair(this.deps.tokens, rotatedAt, rotated, {
        token: successor,
        idleExpiresAt: rotated.idleExpiresAt,
        absoluteExpiresAt: rotated.absoluteExpiresAt,
      });
    }

    const at = clock();
    const lineage = await refreshTokens.lineage(tokenHash, at);
    if (!lineage) throw new InvalidRefreshToken("unknown token");
    if (!lineage.sessionLive || !lineage.userActive) throw new InvalidRefreshToken("session ended or user disabled");
    // Not rotated, so the presented token stays current: once the email is verified, it refreshes.
    if (settings.requireVerifiedEmail && !lineage.userEmailVerified) throw new EmailNotVerified();
    if (lineage.usedAt === null) throw new InvalidRefreshToken("current token expired");

    const withinGrace =
      lineage.child !== null &&
      lineage.child.usedAt === null &&
      lineage.child.tokenHash === successorHash &&
      at.getTime() - lineage.usedAt.getTime() < settings.refreshReuseGrace * 1000;
    if (withinGrace) {
      const user = await requireActiveUser(
        this.deps.users,
        lineage.userId,
        (reason) => new InvalidRefreshToken(reason),
      );
      // After the grants: a membership change between the two reads leaves this token's gv behind, so it is refused.
      const org = await refreshTokens.activeMembership(lineage.sessionId, user.id);
      const subject = {
        userId: user.id,
        sessionId: lineage.sessionId,
        roles: user.roles,
        permissions: user.permissions,
        grantsVersion: user.grantsVersion,
        emailVerified: user.emailVerified,
        ...lineage.proof,
        ...(org === undefined ? {} : { org }),
      };
      return issueTokenPair(this.deps.tokens, at, subject, {
        token: successor,
        idleExpiresAt: lineage.sessionIdleExpiresAt,
        absoluteExpiresAt: lineage.sessionAbsoluteExpiresAt,
      });
    }

    await refreshTokens.revokeFamilyForReuse(lineage.sessionId, origin, at);
    await this.deps.revocations.publish(endedSessions([lineage.sessionId]));
    throw new RefreshTokenReused();
  }
}
