// Device sessions: list the caller's live sessions, end one, end all others,
// log out. Every ended session is audited with its change and pushed to the
// edge revocation list, so its access tokens stop working at once.
import type { Clock } from "../context";
import { NotFound } from "../errors";
import type { RequestOrigin } from "../repositories/audit";
import type { Database } from "../repositories/database";
import { SessionRepository, type SessionRecord } from "../repositories/sessions";
import { hashRefreshToken, looksLikeRefreshToken } from "./refresh-token-crypto";
import { isUuid } from "./ids";
import type { SessionRevocationList } from "./revocation";

export type SessionDeps = { db: Database; clock: Clock; revocations: SessionRevocationList };

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

  async list(userId: string, currentSessionId: string): Promise<SessionView[]> {
    const sessions = await new SessionRepository(this.deps.db).listLive(userId, this.deps.clock());
    return sessions.map((s) => toSessionView(s, currentSessionId));
  }

  /** 404 for a session that is absent, already ended, or someone else's: the same answer for all three. */
  async revoke(userId: string, sessionId: string, origin: RequestOrigin): Promise<void> {
    if (!isUuid(sessionId)) throw new NotFound();
    const ended = await new SessionRepository(this.deps.db).end(sessionId, userId, {
      reason: "revoked_by_user",
      event: "session.revoked",
      actorId: userId,
      origin,
      at: this.deps.clock(),
    });
    if (!ended) throw new NotFound();
    await this.deps.revocations.revoke([sessionId]);
  }

  async revokeOthers(userId: string, currentSessionId: string, origin: RequestOrigin): Promise<void> {
    const ended = await new SessionRepository(this.deps.db).endAllForUser(
      userId,
      { reason: "revoked_by_user", event: "session.revoked", actorId: userId, origin, at: this.deps.clock() },
      currentSessionId,
    );
    await this.deps.revocations.revoke(ended);
  }

  /** Ends the session of an access token. Already ended: nothing to do, no error. */
  async logoutSession(userId: string, sessionId: string, origin: RequestOrigin): Promise<void> {
    await new SessionRepository(this.deps.db).end(sessionId, userId, {
      reason: "logged_out",
      event: "auth.logged_out",
      actorId: userId,
      origin,
      at: this.deps.clock(),
    });
    // Push even if the row had already ended: the token in hand must stop now.
    await this.deps.revocations.revoke([sessionId]);
  }

  /** Ends the session a refresh token belongs to. Unknown or ended: silently nothing, revealing nothing. */
  async logoutRefreshToken(refreshToken: string, origin: RequestOrigin): Promise<void> {
    if (!looksLikeRefreshToken(refreshToken)) return;
    const ended = await new SessionRepository(this.deps.db).endByRefreshTokenHash(hashRefreshToken(refreshToken), {
      reason: "logged_out",
      event: "auth.logged_out",
      origin,
      at: this.deps.clock(),
    });
    if (ended) await this.deps.revocations.revoke([ended.id]);
  }
}

export function toSessionView(session: SessionRecord, currentSessionId: string | null): SessionView {
  const expiresAt = session.idleExpiresAt < session.absoluteExpiresAt ? session.idleExpiresAt : session.absoluteExpiresAt;
  return {
    id: session.id,
    current: session.id === currentSessionId,
    device: session.device,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
  };
}
