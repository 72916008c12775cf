// Sessions: one login on one device, the refresh-token family. Opening a
// session writes the session, its first refresh token and the audit event in
// one statement, and ends the user's least recently used sessions beyond the
// cap in that same statement; ending sessions writes revoked_at and one audit
// row per ended session in one statement, and returns them so the caller can
// push them to the edge revocation list.
import { and, desc, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import { sessions } from "../../db/schema";
import type { AuthMethod, RequestOrigin } from "../../core/domain";
import type { EndedSession, SessionEnd, SessionRecord, SessionStore, SignInOpening } from "./store";
import type { Executor } from "../../adapters/postgres/database";
import {
  clearThrottle,
  endPendingEmailChanges,
  endSessions,
  insertSessionWithFirstToken,
  liveSession,
  sessionAudit,
  setPasswordHash,
  textArray,
} from "../../adapters/postgres/fragments";
import { rows, toDate } from "../../adapters/postgres/rows";
import { activeMembershipOf, STILL_A_MEMBER, toActiveMembership } from "../../adapters/postgres/active-organization";
import type { ActiveMembership } from "../../core/active-organization";

/** revoked_reason and audit reason of a session ended by the cap on live sessions. */
const EVICTED = "evicted";

export class SessionRepository implements SessionStore {
  constructor(private readonly db: Executor) {}

  /**
   * The user row is read FOR SHARE: a disable committing meanwhile is waited
   * for and seen, so no session opens for a user who was just disabled. The
   * sign-in's side effects (throttle cleared, rehashed password stored) are
   * in the same statement and happen only if the session opens.
   *
   * The cap: the user's live sessions after the (maxSessions - 1) most
   * recently used ones are locked and ended (reason evicted, one
   * session.evicted row each, the user as actor), so with the new one the
   * user holds at most maxSessions. Every CTE sees the statement's snapshot,
   * so the new session is not among them. Sign-ins of one user racing each
   * other may each leave one more; the next sign-in trims them.
   */
  async openSignIn(input: SignInOpening): Promise<{ opened: boolean; evicted: string[] }> {
    const { session, at } = input;
    const opened = sql`exists (select 1 from owner)`;
    const rehash =
      input.rehashedPassword === undefined
        ? sql``
        : sql`, rehashed as (${setPasswordHash(input.userId, input.rehashedPassword, at, opened)})`;
    const keep = Math.max(0, Math.floor(input.maxSessions) - 1);
    const result = await rows<{ id: string; opened: boolean; last_used_at: Date | string | null }>(
      this.db,
      sql`
      with owner as (
        select id from users where id = ${input.userId} and status = 'active' for share
      ), ${insertSessionWithFirstToken(session, at)}, a as (
        ${sessionAudit({
          event: "auth.login_succeeded",
          from: "s",
          origin: input.origin,
          metadata: { amr: session.amr },
          at,
        })}
      ), cleared as (${clearThrottle(input.clearThrottleKey, opened)})${rehash}, beyond_cap as (
        select v.id from sessions v
        where v.user_id = ${input.userId} and ${opened} and ${liveSession(at, "v")}
        order by v.last_used_at desc, v.id desc
        offset ${keep}::int
        for update of v
      ), evicted as (
        update sessions e set revoked_at = ${at}, revoked_reason = ${EVICTED}
        from beyond_cap where e.id = beyond_cap.id
        returning e.id, e.user_id, e.last_used_at
      ), ea as (
        ${sessionAudit({
          event: "session.evicted",
          from: "evicted",
          origin: input.origin,
          metadata: { reason: EVICTED },
          at,
        })}
      )
      select id, true as opened, null::timestamptz as last_used_at from s
      union all
      select id, false, last_used_at from evicted`,
    );
    const evicted = result
      .filter((r) => !r.opened)
      .map((r) => ({ id: r.id, lastUsedAt: toDate(r.last_used_at!) }))
      .sort(mostRecentlyUsedFirst)
      .map((r) => r.id);
    return { opened: result.some((r) => r.opened), evicted };
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
      .where(
        and(
          eq(sessions.userId, userId),
          isNull(sessions.revokedAt),
          gt(sessions.idleExpiresAt, now),
          gt(sessions.absoluteExpiresAt, now),
        ),
      )
      .orderBy(desc(sessions.lastUsedAt), desc(sessions.id));
  }

  async end(sessionId: string, userId: string, end: SessionEnd): Promise<boolean> {
    const ended = await this.endWhere(sql`s.id = ${sessionId} and s.user_id = ${userId}`, end);
    return ended.length > 0;
  }

  async endByRefreshTokenHash(tokenHash: string, end: Omit<SessionEnd, "actorId">): Promise<string | undefined> {
    const ended = await this.endWhere(
      sql`s.id = (select session_id from refresh_tokens where token_hash = ${tokenHash})`,
      { ...end, actorId: null },
    );
    return ended[0]?.id;
  }

  /**
   * A bulk end is the owner taking the account back (sign-out-everywhere, a
   * password change or reset, an administrator, deletion): in the same
   * statement, whether or not a session was live, the user's device tokens
   * end (a new device generation) and so does a pending email change.
   */
  async endAllForUser(userId: string, end: SessionEnd, exceptSessionId?: string): Promise<EndedSession[]> {
    const except = exceptSessionId ? sql` and s.id <> ${exceptSessionId}` : sql``;
    const alongside = sql`generation as (update users set device_generation = device_generation + 1
      where id = ${userId}),
      pending as (${endPendingEmailChanges(userId, "sessions_ended", end.at)}), `;
    return this.endWhere(sql`s.user_id = ${userId}${except}`, end, alongside);
  }

  /**
   * The statement behind every way a session ends; revoked or expired
   * sessions are left alone. Most recently used first. `alongside`: CTEs
   * (each followed by a comma) the same statement runs too.
   */
  private async endWhere(where: SQL, end: SessionEnd, alongside: SQL = sql``): Promise<EndedSession[]> {
    const ended = await rows<{ id: string; last_used_at: Date | string }>(
      this.db,
      sql`
      with ${alongside}${endSessions(where, end)}
      select id, last_used_at from ended order by last_used_at desc, id desc`,
    );
    return ended.map((r) => ({ id: r.id, lastUsedAt: toDate(r.last_used_at) }));
  }

  async reauthenticate(input: {
    sessionId: string;
    userId: string;
    amr: AuthMethod[];
    origin: RequestOrigin;
    at: Date;
  }): Promise<{ idleExpiresAt: Date; absoluteExpiresAt: Date; idp?: string; org?: ActiveMembership } | undefined> {
    const { at } = input;
    const [row] = await rows<{
      idle_expires_at: Date | string;
      absolute_expires_at: Date | string;
      idp: string | null;
      active_org: unknown;
    }>(
      this.db,
      sql`
      with proved as (
        update sessions s set auth_time = ${at}, amr = ${textArray(input.amr)}, active_org_id = ${STILL_A_MEMBER}
        where s.id = ${input.sessionId} and s.user_id = ${input.userId} and ${liveSession(at)}
        returning s.id, s.user_id, s.idle_expires_at, s.absolute_expires_at, s.idp, s.active_org_id
      ), a as (
        ${sessionAudit({
          event: "auth.reauthenticated",
          from: "proved",
          origin: input.origin,
          metadata: { amr: input.amr },
          at,
        })}
      )
      select idle_expires_at, absolute_expires_at, idp,
        ${activeMembershipOf(sql`proved.active_org_id`, sql`proved.user_id`)} as active_org
      from proved`,
    );
    if (!row) return undefined;
    const org = toActiveMembership(row.active_org);
    return {
      idleExpiresAt: toDate(row.idle_expires_at),
      absoluteExpiresAt: toDate(row.absolute_expires_at),
      ...(row.idp === null ? {} : { idp: row.idp }),
      ...(org === undefined ? {} : { org }),
    };
  }
}

function mostRecentlyUsedFirst(a: EndedSession, b: EndedSession): number {
  return b.lastUsedAt.getTime() - a.lastUsedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
