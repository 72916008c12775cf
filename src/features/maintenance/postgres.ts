// Data retention: the deletes the daily Cron Trigger runs (MaintenanceService
// decides what and how often). Each method is one statement that deletes at
// most `limit` rows, picked with FOR UPDATE SKIP LOCKED, so a run never waits
// on a row a request holds and never holds locks for long; it runs outside
// any transaction, so each batch commits on its own.
import { sql, type SQL } from "drizzle-orm";
import type { MaintenanceStore } from "./store";
import type { Executor } from "../../adapters/postgres/database";
import { rows } from "../../adapters/postgres/rows";

/** A session ended before `cutoff`: revoked, idle-expired or absolutely expired. */
const endedBefore = (cutoff: Date) =>
  sql`(s.revoked_at < ${cutoff} or s.idle_expires_at < ${cutoff} or s.absolute_expires_at < ${cutoff})`;

export class MaintenanceRepository implements MaintenanceStore {
  constructor(private readonly db: Executor) {}

  /**
   * Refresh tokens of sessions that ended before `cutoff`. Never a token of a
   * live session: rotation needs those to recognise a replayed one as reuse.
   */
  deleteTokensOfEndedSessions(cutoff: Date, limit: number): Promise<number> {
    return this.count(sql`
      with doomed as (
        select rt.token_hash from refresh_tokens rt join sessions s on s.id = rt.session_id
        where ${endedBefore(cutoff)}
        limit ${limit}::int
        for update of rt skip locked
      ), deleted as (
        delete from refresh_tokens where token_hash in (select token_hash from doomed) returning 1
      )
      select count(*)::int as deleted from deleted`);
  }

  /**
   * Sessions that ended before `cutoff` and hold no refresh tokens any more
   * (deleteTokensOfEndedSessions runs first), so the FK cascade has nothing
   * to do and the statement stays bounded by `limit`.
   */
  deleteEndedSessions(cutoff: Date, limit: number): Promise<number> {
    return this.count(sql`
      with doomed as (
        select s.id from sessions s
        where ${endedBefore(cutoff)}
          and not exists (select 1 from refresh_tokens rt where rt.session_id = s.id)
        limit ${limit}::int
        for update skip locked
      ), deleted as (
        delete from sessions where id in (select id from doomed) returning 1
      )
      select count(*)::int as deleted from deleted`);
  }

  /** Throttle rows whose last failure is before `lastFailureBefore` and that are not locked at `at`. */
  deleteStaleLoginThrottles(lastFailureBefore: Date, at: Date, limit: number): Promise<number> {
    return this.deleteBatch(
      "login_throttles",
      "key",
      sql`last_failure_at < ${lastFailureBefore} and (locked_until is null or locked_until <= ${at})`,
      limit,
    );
  }

  /** mfaTokens and WebAuthn challenges that expired before `cutoff`. */
  deleteExpiredChallenges(cutoff: Date, limit: number): Promise<number> {
    return this.deleteBatch("auth_challenges", "key_hash", sql`expires_at < ${cutoff}`, limit);
  }

  /** Expired one-time tokens; the per-user send limit counts only the last hour's rows. */
  deleteExpiredOneTimeTokens(cutoff: Date, limit: number): Promise<number> {
    return this.deleteBatch("one_time_tokens", "token_hash", sql`expires_at < ${cutoff}`, limit);
  }

  deleteOldRevocationLog(cutoff: Date, limit: number): Promise<number> {
    return this.deleteBatch("revocation_log", "seq", sql`created_at < ${cutoff}`, limit);
  }

  /** Expired email sign-in codes; the per-address hourly cap counts only the last hour's rows. */
  deleteExpiredEmailCodes(cutoff: Date, limit: number): Promise<number> {
    return this.deleteBatch("email_sign_in_codes", "id", sql`expires_at < ${cutoff}`, limit);
  }

  deleteStaleEmailCodeQuotas(before: Date, limit: number): Promise<number> {
    return this.deleteBatch("email_code_quotas", "address_key", sql`last_requested_at < ${before}`, limit);
  }

  /** Invitations whose link can no longer work since before `cutoff`: expired, accepted or revoked. */
  deleteSpentInvitations(cutoff: Date, limit: number): Promise<number> {
    return this.deleteBatch(
      "organization_invitations",
      "id",
      sql`(expires_at < ${cutoff} or accepted_at < ${cutoff} or revoked_at < ${cutoff})`,
      limit,
    );
  }

  /**
   * Provider flows, one-time codes and nonces that expired before `cutoff`,
   * up to `limit` of each kind, in one statement; how many in all (a batch
   * that comes back short of `limit` in all is the last the run asks for).
   */
  deleteExpiredProviderState(cutoff: Date, limit: number): Promise<number> {
    const kind = (name: string, table: string, key: string) => {
      const [t, k] = [sql.identifier(table), sql.identifier(key)];
      return sql`${sql.identifier(`${name}_doomed`)} as (
          select ${k} from ${t} where expires_at < ${cutoff} limit ${limit}::int for update skip locked
        ), ${sql.identifier(name)} as (
          delete from ${t} where ${k} in (select ${k} from ${sql.identifier(`${name}_doomed`)}) returning 1
        )`;
    };
    return this.count(sql`
      with ${kind("flows", "oauth_flows", "state_hash")}, ${kind("codes", "oauth_codes", "code_hash")},
        ${kind("nonces", "oauth_nonces", "nonce_hash")}
      select ((select count(*) from flows) + (select count(*) from codes) + (select count(*) from nonces))::int
        as deleted`);
  }

  /** At most `limit` rows of one table matching `where`, by their key, skipping rows another run holds. */
  private deleteBatch(
    table:
      | "login_throttles"
      | "auth_challenges"
      | "one_time_tokens"
      | "revocation_log"
      | "email_sign_in_codes"
      | "email_code_quotas"
      | "organization_invitations",
    key: "key" | "key_hash" | "token_hash" | "seq" | "id" | "address_key",
    where: SQL,
    limit: number,
  ): Promise<number> {
    const [t, k] = [sql.identifier(table), sql.identifier(key)];
    return this.count(sql`
      with doomed as (
        select ${k} from ${t} where ${where}
        limit ${limit}::int
        for update skip locked
      ), deleted as (
        delete from ${t} where ${k} in (select ${k} from doomed) returning 1
      )
      select count(*)::int as deleted from deleted`);
  }

  private async count(statement: SQL): Promise<number> {
    const [row] = await rows<{ deleted: number | string }>(this.db, statement);
    return Number(row?.deleted ?? 0);
  }
}
