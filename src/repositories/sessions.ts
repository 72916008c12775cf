// Sessions: one login on one device, the refresh-token family. Opening a
// session writes the session, its first refresh token and the audit event in
// one statement; ending sessions writes revoked_at and one audit row per
// ended session in one statement, and returns the ids so the caller can push
// them to the edge revocation list.
import { and, desc, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import { sessions } from "../db/schema";
import type { NewSession, RequestOrigin, SessionEnd, SessionRecord, SessionStore } from "../services/ports";
import type { Executor } from "./database";
import { auditInsert, clearThrottle, insertSessionWithFirstToken, setPasswordHash } from "./fragments";
import { rows } from "./rows";

export class SessionRepository implements SessionStore {
  constructor(private readonly db: Executor) {}

  /**
   * The user row is read FOR SHARE: a disable committing meanwhile is waited
   * for and seen, so no session opens for a user who was just disabled. The
   * sign-in's side effects (throttle cleared, rehashed password stored) are
   * in the same statement and happen only if the session opens.
   */
  async openSignIn(input: { userId: string; session: NewSession; origin: RequestOrigin; at: Date; clearThrottleKey: string; rehashedPassword?: string }): Promise<boolean> {
    const { session, at } = input;
    const opened = sql`exists (select 1 from owner)`;
    const rehash = input.rehashedPassword === undefined ? sql`` : sql`, rehashed as (${setPasswordHash(input.userId, input.rehashedPassword, at, opened)})`;
    const inserted = await rows<{ id: string }>(
      this.db,
      sql`
      with owner as (
        select id from users where id = ${input.userId} and status = 'active' for share
      ), ${insertSessionWithFirstToken(session, at)}, a as (
        ${auditInsert({ event: "auth.login_succeeded", userId: sql`s.user_id`, actorId: sql`s.user_id`, sessionId: sql`s.id`, origin: input.origin, at, from: sql`s` })}
      ), cleared as (${clearThrottle(input.clearThrottleKey, opened)})${rehash}
      select id from s`,
    );
    return inserted.length > 0;
  }

  async listLive(userId: string, now: Date): Promise<SessionRecord[]> {
    return this.db
      .select({
        id: sessions.id,
        userId: sessions.userId,
        device: sessions.device,
        createdAt: sessions.createdAt,
        lastUsedAt: sessions.lastUsedAt,
        idleExpiresAt: sessions.idleExpiresAt,
        absoluteExpiresAt: sessions.absoluteExpiresAt,
      })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.idleExpiresAt, now), gt(sessions.absoluteExpiresAt, now)))
      .orderBy(desc(sessions.lastUsedAt), desc(sessions.id));
  }

  async end(sessionId: string, userId: string, end: SessionEnd): Promise<boolean> {
    const ended = await this.endWhere(sql`s.id = ${sessionId} and s.user_id = ${userId}`, end);
    return ended.length > 0;
  }

  async endByRefreshTokenHash(tokenHash: string, end: Omit<SessionEnd, "actorId">): Promise<string | undefined> {
    const ended = await this.endWhere(sql`s.id = (select session_id from refresh_tokens where token_hash = ${tokenHash})`, { ...end, actorId: null });
    return ended[0];
  }

  async endAllForUser(userId: string, end: SessionEnd, exceptSessionId?: string): Promise<string[]> {
    const except = exceptSessionId ? sql` and s.id <> ${exceptSessionId}` : sql``;
    return this.endWhere(sql`s.user_id = ${userId}${except}`, end);
  }

  /** The statement behind every way a session ends; revoked or expired sessions are left alone. */
  private async endWhere(where: SQL, end: SessionEnd): Promise<string[]> {
    const ended = await rows<{ id: string }>(
      this.db,
      sql`
      with ended as (
        update sessions s set revoked_at = ${end.at}, revoked_reason = ${end.reason}
        where ${where} and s.revoked_at is null
          and s.idle_expires_at > ${end.at} and s.absolute_expires_at > ${end.at}
        returning s.id, s.user_id
      ), a as (
        ${auditInsert({
          event: end.event,
          userId: sql`ended.user_id`,
          actorId: end.actorId === null ? sql`ended.user_id` : end.actorId,
          sessionId: sql`ended.id`,
          origin: end.origin,
          metadata: { reason: end.reason },
          at: end.at,
          from: sql`ended`,
        })}
      )
      select id from ended`,
    );
    return ended.map((r) => r.id);
  }
}
