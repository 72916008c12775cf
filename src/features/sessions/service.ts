// Device sessions: list the caller's live sessions, end one, end all others,
// log out. Every ended session is audited with its change and pushed to the
// edge revocation list, so its access tokens stop working at once: one
// ended session as itself, all other sessions as one mark for the user.
import type { Clock } from "../../core/clock";
import { InvalidToken, NotFound } from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { RequestOrigin } from "../../core/domain";
import { endedSessions, type RevocationList, type SessionRecord, type SessionStore } from "./store";
import type { AccessTokens } from "../tokens";
import type { RefreshTokenCodec } from "./refresh-token";

export type SessionDeps = {
  sessions: SessionStore;
  codec: RefreshTokenCodec;
  clock: Clock;
  revocations: Pick<RevocationList, "publish">;
  tokens: Pick<AccessTokens, "verify">;
};

export type SessionView = {
  id: string;
  current: boolean;
  device: SessionRecord["device"];
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
};

export class SessionService {
  constructor(private readonly deps: SessionDeps) {}

  async list(userId: string, currentSessionId: string | null): Promise<SessionView[]> {
    const sessions = await this.deps.sessions.listLive(userId, this.deps.clock());
    return sessions.map((s) => toSessionView(s, currentSessionId));
  }

  /** 404 for a session that is absent, already ended, or someone else's: the same answer for all three. */
  async revoke(userId: string, sessionId: string, origin: RequestOrigin): Promise<void> {
    if (!isUuid(sessionId)) throw new NotFound();
    // One spelling everywhere: the id the database, the audit row and the edge see.
    const id = sessionId.toLowerCase();
    const ended = await this.deps.sessions.end(id, userId, {
      reason: "revoked_by_user",
      event: "session.revoked",
      actorId: userId,
      origin,
      at: this.deps.clock(),
    });
    if (!ended) throw new NotFound();
    await this.deps.revocations.publish(endedSessions([id]));
  }

  /**
   * Ends all the user's sessions but the current one, each refused at the
   * edge by its own feed entry.
   */
  async revokeOthers(userId: string, currentSessionId: string, origin: RequestOrigin): Promise<void> {
    const { sessions, clock } = this.deps;
    const ended = await sessions.endAllForUser(
      userId,
      { reason: "revoked_by_user", event: "session.revoked", actorId: userId, origin, at: clock() },
      currentSessionId,
    );
    await this.deps.revocations.publish(endedSessions(ended.map((session) => session.id)));
  }

  /**
   * POST /auth/logout: ends the session of a refresh token, of an access
   * token, or both. Idempotent and revealing nothing: an unknown or already
   * ended session is no error. The access token must verify (signature and
   * claims; its session may already be revoked), except that beside a
   * refresh token a stale one does not stop the logout.
   */
  async logout(credentials: { accessToken?: string; refreshToken?: string }, origin: RequestOrigin): Promise<void> {
    const { accessToken, refreshToken } = credentials;
    if (accessToken === undefined && refreshToken === undefined) {
      throw new InvalidToken({
        bearerError: "invalid_request",
        cause: new Error("neither an access token nor a refresh token"),
      });
    }
    if (refreshToken !== undefined) await this.logoutRefreshToken(refreshToken, origin);
    if (accessToken === undefined) return;
    const verified = await this.deps.tokens.verify(accessToken).catch((error: unknown) => {
      if (refreshToken === undefined) throw error;
      return undefined;
    });
    if (!verified) return;
    const { sub, sid } = verified.claims;
    await this.deps.sessions.end(sid, sub, {
      reason: "logged_out",
      event: "auth.logged_out",
      actorId: sub,
      origin,
      at: this.deps.clock(),
    });
    // Pushed even if the row had already ended: the token in hand must stop now.
    await this.deps.revocations.publish(endedSessions([sid]));
  }

  private async logoutRefreshToken(refreshToken: string, origin: RequestOrigin): Promise<void> {
    const { codec } = this.deps;
    if (codec.check(refreshToken).kind === "junk") return;
    const ended = await this.deps.sessions.endByRefreshTokenHash(codec.hash(refreshToken), {
      reason: "logged_out",
      event: "auth.logged_out",
      origin,
      at: this.deps.clock(),
    });
    if (ended) await this.deps.revocations.publish(endedSessions([ended]));
  }
}

export function toSessionView(session: SessionRecord, currentSessionId: string | null): SessionView {
  const expiresAt = new Date(Math.min(session.idleExpiresAt.getTime(), session.absoluteExpiresAt.getTime()));
  return {
    id: session.id,
    current: session.id === currentSessionId,
    device: session.device,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
  };
}
