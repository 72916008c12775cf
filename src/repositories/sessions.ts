// Sessions: one login on one device, the refresh-token family. Opening a
// session writes the session, its first refresh token and the audit event in
// one statement; ending sessions writes revoked_at and one audit row per
// ended session in one statement, and returns the ids so the caller can push
// them to the edge revocation list.
import { and, desc, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import { sessions, type DeviceInfo } from "../db/schema";
import { auditInsert, type AuditEventName, type RequestOrigin } from "./audit";
import type { Executor } from "./database";
import { LoginThrottleRepository } from "./login-throttles";
import { rows } from "./rows";
import { UserRepository } from "./users";

export type SessionRecord = {
  id: string;
  userId: string;
  device: DeviceInfo;
  createdAt: Date;
  lastUsedAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
};

export type NewSession = {
  id: string;
  userId: string;
  device: DeviceInfo;
  refreshTokenHash: string;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  at: Date;
};

export type SessionEnd = {
  reason: string;
  event: AuditEventName;
  actorId: string | null;
  origin: RequestOrigin;
  at: Date;
};

export class SessionRepository {
  constructor(private readonly db: Executor) {}

  /**
   * Opens a session for an existing, active user with its first refresh
   * token and the audit event, atomically. With a sign-in it also clears the
   * login throttle and, if given, stores a rehashed password, in the same
   * statement and only if the session opens. False when the user was
   * disabled meanwhile: then nothing is written.
   */
  async open(
    session: NewSession,
    audit: { event: AuditEventName; origin: RequestOrigin; metadata?: Record<string, unknown> },
    signIn: { clearThrottleKey?: string; rehashedPassword?: string } = {},
  ): Promise<boolean> {
    const opened = sql`exists (select 1 from active)`;
    const also: SQL[] = [];
    if (signIn.clearThrottleKey !== undefined) also.push(LoginThrottleRepository.clear(signIn.clearThrottleKey, opened));
    if (signIn.rehashedPassword !== undefined) also.push(UserRepository.setPasswordHash(session.userId, signIn.rehashedPassword, session.at, opened));
    const extra = also.map((statement, i) => sql`, ${sql.raw(`also_${i}`)} as (${statement})`);
    // The user row is read FOR SHARE: a disable committing meanwhile is waited
    // for and seen, so no session opens for a user who was just disabled.
    const inserted = await rows<{ id: string }>(
      this.db,
      sql`
      with active as (
        select id from users where id = ${session.userId} and status = 'active' for share
      ), s as (
        insert into sessions (id, user_id, device, created_at, last_used_at, idle_expires_at, absolute_expires_at)
        select ${session.id}, active.id, ${JSON.stringify(session.device)}::jsonb, ${session.at}, ${session.at},
               ${session.idleExpiresAt}, ${session.absoluteExpiresAt}
        from active
        returning id, user_id
      ), t as (
        insert into refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
        select ${session.refreshTokenHash}, s.id, null, ${session.at}, ${session.idleExpiresAt} from s
      ), a as (
        ${auditInsert({ event: audit.event, userId: sql`s.user_id`, actorId: sql`s.user_id`, sessionId: sql`s.id`, origin: audit.origin, metadata: audit.metadata ?? {}, at: session.at, from: sql`s` })}
      )${sql.join(extra, sql``)}
      select id from s`,
    );
    return inserted.length > 0;
  }

  /** The user's live sessions, most recently used first. */
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

  /** Ends one live session of the user. Returns false when there was none to end. */
  async end(sessionId: string, userId: string, end: SessionEnd): Promise<boolean> {
    const ended = await this.endWhere(sql`s.id = ${sessionId} and s.user_id = ${userId}`, end);
    return ended.length > 0;
  }

  /** Ends the session a refresh token belongs to, whoever's it is. Returns the ended id, if any. */
  async endByRefreshTokenHash(tokenHash: string, end: Omit<SessionEnd, "actorId">): Promise<{ id: string; userId: string } | undefined> {
    const ended = await this.endWhere(sql`s.id = (select session_id from refresh_tokens where token_hash = ${tokenHash})`, { ...end, actorId: null });
    return ended[0];
  }

  /** Ends every live session of the user, except one if given. Returns the ended ids. */
  async endAllForUser(userId: string, end: SessionEnd, exceptSessionId?: string): Promise<string[]> {
    const except = exceptSessionId ? sql` and s.id <> ${exceptSessionId}` : sql``;
    const ended = await this.endWhere(sql`s.user_id = ${userId}${except}`, end);
    return ended.map((s) => s.id);
  }

  /** The statement behind every way a session ends; revoked or expired sessions are left alone. */
  private async endWhere(where: SQL, end: SessionEnd): Promise<{ id: string; userId: string }[]> {
    const ended = await rows<{ id: string; user_id: string }>(
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
      select id, user_id from ended`,
    );
    return ended.map((r) => ({ id: r.id, userId: r.user_id }));
  }
}
