// Switching a session's active organization in one statement: the membership
// check, the session's update, its audit row and the read of what the new
// access token carries (the user's grants, the membership now active) share
// one snapshot, so a membership removed or a role redefined before it is
// seen, and one after it raises a version the token carries the old value of.
import { sql } from "drizzle-orm";
import type { Executor } from "../../adapters/postgres/database";
import { auditInsert, grantsOf, liveSession } from "../../adapters/postgres/fragments";
import { activeMembershipOf, toActiveMembership } from "../../adapters/postgres/active-organization";
import { rows, toAmr, toDate, toStringArray } from "../../adapters/postgres/rows";
import type { ActiveOrganizationStore, OrgSwitch, SwitchOutcome } from "./store";

export class ActiveOrganizationRepository implements ActiveOrganizationStore {
  constructor(private readonly db: Executor) {}

  async switchTo(input: OrgSwitch): Promise<SwitchOutcome> {
    const { at, orgId } = input;
    const target = orgId === null ? sql`null::uuid` : sql`(select org_id from target)`;
    const [row] = await rows<{
      member: boolean;
      switched: boolean;
      idle_expires_at: Date | string | null;
      absolute_expires_at: Date | string | null;
      auth_time: Date | string | null;
      amr: unknown;
      idp: string | null;
      grants_version: number | null;
      email_verified: boolean | null;
      roles: unknown;
      permissions: unknown;
      active_org: unknown;
    }>(
      this.db,
      sql`
      with target as (
        select m.org_id from organization_members m
        where m.org_id = ${orgId}::uuid and m.user_id = ${input.userId}
      ), switched as (
        update sessions s set active_org_id = ${target}
        from users u
        where s.id = ${input.sessionId} and s.user_id = ${input.userId} and ${liveSession(at)}
          and u.id = s.user_id and u.status = 'active'
          ${orgId === null ? sql`` : sql`and exists (select 1 from target)`}
        returning s.id, s.user_id, s.active_org_id, s.idle_expires_at, s.absolute_expires_at, s.auth_time, s.amr,
          s.idp, u.grants_version, u.email_verified_at is not null as email_verified
      ), audit as (
        ${auditInsert({
          event: "auth.org_switched",
          userId: sql`switched.user_id`,
          actorId: sql`switched.user_id`,
          sessionId: sql`switched.id`,
          origin: input.origin,
          metadata: { orgId },
          orgId,
          at,
          from: sql`switched`,
        })}
      )
      select ${orgId === null ? sql`true` : sql`exists (select 1 from target)`} as member,
        switched.id is not null as switched,
        switched.idle_expires_at, switched.absolute_expires_at, switched.auth_time, switched.amr, switched.idp,
        switched.grants_version, switched.email_verified,
        ${grantsOf(sql`switched.user_id`)},
        ${activeMembershipOf(sql`switched.active_org_id`, sql`switched.user_id`)} as active_org
      from (select 1) one left join switched on true`,
    );
    if (!row?.member) return { kind: "not_member" };
    if (!row.switched) return { kind: "session_ended" };
    const org = toActiveMembership(row.active_org);
    return {
      kind: "switched",
      session: {
        roles: toStringArray(row.roles),
        permissions: toStringArray(row.permissions),
        grantsVersion: Number(row.grants_version ?? 0),
        emailVerified: row.email_verified === true,
        idleExpiresAt: toDate(row.idle_expires_at!),
        absoluteExpiresAt: toDate(row.absolute_expires_at!),
        authTime: toDate(row.auth_time!),
        amr: toAmr(row.amr),
        ...(row.idp === null ? {} : { idp: row.idp }),
        ...(org === undefined ? {} : { org }),
      },
    };
  }
}
