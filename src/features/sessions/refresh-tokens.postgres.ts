// Refresh-token rotation in SQL (docs/sessions.md: rotation with a
// deterministic successor). The happy path is one statement: it locks the session, marks
// the presented token used only if it is still current and everything about
// it is live, inserts the successor, slides the idle expiry, writes the audit
// row and returns the user's current grants, with the session's active
// organization (the membership, its custom roles, the organization's slug and
// version; dropped when the user is no longer a member). Two racing refreshes cannot both
// pass the `used_at is null` check, and a revocation racing it waits on the
// session lock, so no descendant of a revoked session is ever issued.
import { sql } from "drizzle-orm";
import type { RefreshTokenStore, Rotated, Rotation, TokenLineage } from "./store";
import type { RequestOrigin } from "../../core/domain";
import type { ActiveMembership } from "../../core/active-organization";
import type { Executor } from "../../adapters/postgres/database";
import { grantsOf, liveSession, sessionAudit } from "../../adapters/postgres/fragments";
import { activeMembershipOf, STILL_A_MEMBER, toActiveMembership } from "../../adapters/postgres/active-organization";
import { rows, toAmr, toDate, toStringArray } from "../../adapters/postgres/rows";

export class RefreshTokenRepository implements RefreshTokenStore {
  constructor(private readonly db: Executor) {}

  async rotate(input: Rotation): Promise<Rotated | undefined> {
    const { at } = input;
    const idleUntil = new Date(at.getTime() + input.idleTtlSeconds * 1000);
    const ipPatch = input.origin.ip ? sql`jsonb_build_object('ip', ${input.origin.ip}::text)` : sql`'{}'::jsonb`;
    const [row] = await rows<{
      session_id: string;
      user_id: string;
      idle_expires_at: Date | string;
      absolute_expires_at: Date | string;
      roles: unknown;
      permissions: unknown;
      grants_version: number;
      email_verified: boolean;
      auth_time: Date | string;
      amr: unknown;
      idp: string | null;
      active_org: unknown;
    }>(
      this.db,
      sql`
      with live as (
        select s.id, s.user_id, s.absolute_expires_at
        from sessions s join users u on u.id = s.user_id
        where s.id = (select session_id from refresh_tokens where token_hash = ${input.tokenHash})
          and ${liveSession(at)}
          and u.status = 'active' ${input.requireVerifiedEmail ? sql`and u.email_verified_at is not null` : sql``}
        for update of s
      ), current as (
        update refresh_tokens rt set used_at = ${at}
        from live
        where rt.token_hash = ${input.tokenHash} and rt.session_id = live.id
          and rt.used_at is null and rt.expires_at > ${at}
        returning rt.session_id, live.user_id, live.absolute_expires_at
      ), successor as (
        insert into refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
        select ${input.successorHash}, current.session_id,
          ${input.tokenHash}, ${at}, least(${idleUntil}::timestamptz, current.absolute_expires_at)
        from current
      ), slid as (
        update sessions s set last_used_at = ${at},
          idle_expires_at = least(${idleUntil}::timestamptz, s.absolute_expires_at),
          device = s.device || ${ipPatch},
          active_org_id = ${STILL_A_MEMBER}
        from current where s.id = current.session_id
        returning s.id, s.idle_expires_at, s.absolute_expires_at, s.auth_time, s.amr, s.idp, s.active_org_id
      ), audit as (
        ${sessionAudit({
          event: "auth.refreshed",
          from: "current",
          sessionColumn: "session_id",
          origin: input.origin,
          at,
        })}
      )
      select slid.id as session_id, current.user_id,
        slid.idle_expires_at, slid.absolute_expires_at, slid.auth_time, slid.amr, slid.idp,
        (select u.grants_version from users u where u.id = current.user_id) as grants_version,
        (select u.email_verified_at is not null from users u where u.id = current.user_id) as email_verified,
        ${grantsOf(sql`current.user_id`)},
        ${activeMembershipOf(sql`slid.active_org_id`, sql`current.user_id`)} as active_org
      from current join slid on slid.id = current.session_id`,
    );
    if (!row) return undefined;
    const org = toActiveMembership(row.active_org);
    return {
      sessionId: row.session_id,
      userId: row.user_id,
      roles: toStringArray(row.roles),
      permissions: toStringArray(row.permissions),
      grantsVersion: Number(row.grants_version ?? 0),
      emailVerified: row.email_verified === true,
      idleExpiresAt: toDate(row.idle_expires_at),
      absoluteExpiresAt: toDate(row.absolute_expires_at),
      authTime: toDate(row.auth_time),
      amr: toAmr(row.amr),
      ...(row.idp === null ? {} : { idp: row.idp }),
      ...(org === undefined ? {} : { org }),
    };
  }

  async activeMembership(sessionId: string, userId: string): Promise<ActiveMembership | undefined> {
    const [row] = await rows<{ active_org: unknown }>(
      this.db,
      sql`select ${activeMembershipOf(sql`s.active_org_id`, sql`s.user_id`)} as active_org
        from sessions s where s.id = ${sessionId} and s.user_id = ${userId}`,
    );
    return row && toActiveMembership(row.active_org);
  }

  async lineage(tokenHash: string, at: Date): Promise<TokenLineage | undefined> {
    const [row] = await rows<{
      session_id: string;
      user_id: string;
      used_at: Date | string | null;
      session_live: boolean;
      idle_expires_at: Date | string;
      absolute_expires_at: Date | string;
      user_active: boolean;
      user_email_verified: boolean;
      auth_time: Date | string;
      amr: unknown;
      idp: string | null;
      child_hash: string | null;
      child_used_at: Date | string | null;
    }>(
      this.db,
      sql`
      select rt.session_id, s.user_id, rt.used_at,
        (${liveSession(at)}) as session_live,
        s.idle_expires_at, s.absolute_expires_at, s.auth_time, s.amr, s.idp,
        (u.status = 'active') as user_active, (u.email_verified_at is not null) as user_email_verified,
        child.token_hash as child_hash, child.used_at as child_used_at
      from refresh_tokens rt
        join sessions s on s.id = rt.session_id
        join users u on u.id = s.user_id
        left join refresh_tokens child on child.parent_hash = rt.token_hash
      where rt.token_hash = ${tokenHash}`,
    );
    if (!row) return undefined;
    return {
      sessionId: row.session_id,
      userId: row.user_id,
      usedAt: row.used_at === null ? null : toDate(row.used_at),
      sessionLive: row.session_live,
      sessionIdleExpiresAt: toDate(row.idle_expires_at),
      sessionAbsoluteExpiresAt: toDate(row.absolute_expires_at),
      userActive: row.user_active,
      userEmailVerified: row.user_email_verified,
      proof: {
        authTime: toDate(row.auth_time),
        amr: toAmr(row.amr),
        ...(row.idp === null ? {} : { idp: row.idp }),
      },
      child:
        row.child_hash === null
          ? null
          : { tokenHash: row.child_hash, usedAt: row.child_used_at === null ? null : toDate(row.child_used_at) },
    };
  }

  /** Reuse detected: end the whole family and record it. Returns false if it had already ended. */
  async revokeFamilyForReuse(sessionId: string, origin: RequestOrigin, at: Date): Promise<boolean> {
    const ended = await rows<{ id: string }>(
      this.db,
      sql`
      with ended as (
        update sessions s set revoked_at = ${at}, revoked_reason = 'refresh_token_reused'
        where s.id = ${sessionId} and s.revoked_at is null
        returning s.id, s.user_id
      ), audit as (
        ${sessionAudit({
          event: "auth.refresh_reused",
          from: "ended",
          actorId: null,
          origin,
          metadata: { reason: "rotated refresh token presented again" },
          at,
        })}
      )
      select id from ended`,
    );
    return ended.length > 0;
  }
}
