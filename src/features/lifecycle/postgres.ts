// One-time tokens mailed as links (verification, reset, email change). Issuing
// is one statement: the per-user hourly limit, the end of the user's earlier
// tokens of that purpose, the new row and its audit row. Spending is one
// statement too: a token is spent only while unused, unexpired, of the
// purpose asked for, and while its user is active and still has the address
// it was mailed to; the row lock makes two racing spends of one token
// resolve to one.
import { sql } from "drizzle-orm";
import type { AuditEventName } from "../activity/store";
import type { NewOneTimeToken, OneTimeIssue, OneTimePurpose, OneTimeTokenStore, SpentOneTimeToken } from "./store";
import type { RequestOrigin } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import { auditInsert, endOneTimeTokens, insertOneTimeToken } from "../../adapters/postgres/fragments";
import { rows, toDate } from "../../adapters/postgres/rows";

const HOUR_MS = 3600_000;

export class OneTimeTokenRepository implements OneTimeTokenStore {
  constructor(private readonly db: Executor) {}

  /**
   * The user's row is locked first, so two issues for one user count each
   * other: the limit holds exactly. A token with a requester network counts
   * against that network's tokens only.
   */
  async issue(input: {
    token: NewOneTimeToken;
    maxPerHour: number;
    audit: { event: AuditEventName; actorId: string | null; sessionId?: string | null; origin: RequestOrigin };
    at: Date;
  }): Promise<OneTimeIssue> {
    const { token, at } = input;
    const windowStart = new Date(at.getTime() - HOUR_MS);
    const [row] = await rows<{ issued: boolean; oldest: Date | string | null }>(
      this.db,
      sql`
      with target as (
        select id, email from users where id = ${token.userId} for update
      ), recent as (
        select count(*)::int as sent, min(created_at) as oldest from one_time_tokens
        where user_id = ${token.userId} and purpose = ${token.purpose} and created_at > ${windowStart}
          ${token.requesterNetwork === undefined ? sql`` : sql`and requester_network = ${token.requesterNetwork}`}
      ), owner as (
        select target.id, ${token.email}::text as email from target, recent where recent.sent < ${input.maxPerHour}::int
      ), ended as (
        ${endOneTimeTokens(sql`(select id from owner)`, "replaced", at, token.purpose)}
      ), inserted as (
        ${insertOneTimeToken(token, at)}
      ), audited as (
        ${auditInsert({
          event: input.audit.event,
          userId: sql`owner.id`,
          actorId: input.audit.actorId,
          sessionId: input.audit.sessionId ?? null,
          origin: input.audit.origin,
          at,
          from: sql`owner`,
        })}
      )
      select exists (select 1 from owner) as issued, (select oldest from recent) as oldest`,
    );
    if (row?.issued) return { issued: true };
    const oldest = row?.oldest ? toDate(row.oldest).getTime() : at.getTime();
    return { issued: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + HOUR_MS - at.getTime()) / 1000)) };
  }

  async spend(input: { tokenHash: string; purpose: OneTimePurpose; at: Date }): Promise<SpentOneTimeToken | undefined> {
    const [row] = await rows<{ user_id: string; email: string; new_email: string | null }>(
      this.db,
      sql`
      update one_time_tokens t set used_at = ${input.at}, ended_reason = 'used'
      from users u
      where t.token_hash = ${input.tokenHash} and t.purpose = ${input.purpose}
        and t.used_at is null and t.expires_at > ${input.at}
        and u.id = t.user_id and u.status = 'active' and u.email = t.email
      returning t.user_id, t.email, t.new_email`,
    );
    return row && { userId: row.user_id, email: row.email, newEmail: row.new_email };
  }
}
