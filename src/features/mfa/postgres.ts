// TOTP factors and recovery codes. Accepting a code is one conditional
// UPDATE on the factor's last accepted step, so a code works once even when
// two requests race with it; confirming a factor stores its recovery codes
// and the audit row in that same statement. Every change of a factor (added,
// removed, new recovery codes) ends the user's pending email change in its
// statement: a change requested by someone who held the account for a while
// must not survive the owner securing it.
import { sql, type SQL } from "drizzle-orm";
import type { FactorAudit, SecondFactorStore, TotpFactorRecord } from "./store";
import type { RequestOrigin } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import { auditInsert, endPendingEmailChanges } from "../../adapters/postgres/fragments";
import { rows } from "../../adapters/postgres/rows";

/** The INSERT of a set of recovery code hashes for `userId`, as a CTE body. */
function insertRecoveryCodes(userId: string, hashes: readonly string[], at: Date, onlyIf: SQL): SQL {
  return sql`insert into recovery_codes (code_hash, user_id, created_at)
    select h, ${userId}::uuid, ${at} from jsonb_array_elements_text(${JSON.stringify(hashes)}::jsonb) as h
      where ${onlyIf}`;
}

function factorAudit(
  event: Parameters<typeof auditInsert>[0]["event"],
  userId: string,
  audit: FactorAudit,
  from: SQL,
  metadata?: Record<string, unknown>,
): SQL {
  return auditInsert({
    event,
    userId,
    actorId: audit.actorId,
    sessionId: audit.sessionId,
    origin: audit.origin,
    metadata,
    at: audit.at,
    from,
  });
}

export class SecondFactorRepository implements SecondFactorStore {
  constructor(private readonly db: Executor) {}

  async totp(userId: string): Promise<TotpFactorRecord | undefined> {
    const [row] = await rows<{ secret_ciphertext: string; confirmed: boolean; last_used_step: number | string | null }>(
      this.db,
      sql`select secret_ciphertext, confirmed_at is not null as confirmed, last_used_step from totp_factors
        where user_id = ${userId}`,
    );
    return (
      row && {
        secretCiphertext: row.secret_ciphertext,
        confirmed: row.confirmed,
        lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
      }
    );
  }

  async putPendingTotp(userId: string, secretCiphertext: string, at: Date): Promise<boolean> {
    const stored = await rows<{ user_id: string }>(
      this.db,
      sql`insert into totp_factors (user_id, secret_ciphertext, created_at)
        values (${userId}, ${secretCiphertext}, ${at})
        on conflict (user_id) do update set
          secret_ciphertext = excluded.secret_ciphertext, created_at = excluded.created_at, last_used_step = null,
          failed_confirmations = 0
          where totp_factors.confirmed_at is null
        returning user_id`,
    );
    return stored.length > 0;
  }

  async acceptTotpStep(input: {
    userId: string;
    step: number;
    at: Date;
    confirm?: { recoveryCodeHashes: string[]; audit: FactorAudit };
  }): Promise<boolean> {
    const { userId, step, at, confirm } = input;
    const state = confirm ? sql`confirmed_at is null` : sql`confirmed_at is not null`;
    const accepted = sql`update totp_factors set
      last_used_step = ${step}${confirm ? sql`, confirmed_at = ${at}` : sql``}
      where user_id = ${userId} and ${state} and (last_used_step is null or last_used_step < ${step})
      returning user_id`;
    if (!confirm) return (await rows(this.db, accepted)).length > 0;
    const [row] = await rows<{ accepted: boolean }>(
      this.db,
      sql`with accepted as (${accepted}),
        cleared as (delete from recovery_codes where user_id = ${userId} and exists (select 1 from accepted)),
        codes as (${insertRecoveryCodes(userId, confirm.recoveryCodeHashes, at, sql`exists (select 1 from accepted)`)}),
        a as (${factorAudit("mfa.totp_enrolled", userId, confirm.audit, sql`accepted`, {
          recoveryCodes: confirm.recoveryCodeHashes.length,
        })}),
        changes as (${endPendingEmailChanges(sql`(select user_id from accepted)`, "factor_changed", at)})
      select exists (select 1 from accepted) as accepted`,
    );
    return row?.accepted === true;
  }

  /**
   * The pending row is locked and counted; at the limit it is deleted
   * instead of updated (the two CTEs touch the row exclusively, never both).
   */
  async failPendingTotp(input: { userId: string; maxFailures: number; audit: FactorAudit }): Promise<boolean> {
    const { userId, maxFailures, audit } = input;
    const [row] = await rows<{ ended: boolean }>(
      this.db,
      sql`with pending as (
          select user_id, failed_confirmations + 1 as failures from totp_factors
            where user_id = ${userId} and confirmed_at is null for update
        ), ended as (
          delete from totp_factors t using pending where t.user_id = pending.user_id
            and pending.failures >= ${maxFailures}::int returning t.user_id
        ), counted as (
          update totp_factors t set failed_confirmations = pending.failures from pending
          where t.user_id = pending.user_id and pending.failures < ${maxFailures}::int returning t.user_id
        ), a as (
          ${auditInsert({
            event: "mfa.challenge_failed",
            userId,
            actorId: audit.actorId,
            sessionId: audit.sessionId,
            origin: audit.origin,
            metadata: { method: "totp", enrolment: true },
            at: audit.at,
            from: sql`pending`,
          })}
        )
      select exists (select 1 from ended) as ended`,
    );
    return row?.ended === true;
  }

  async removeTotp(userId: string, audit: FactorAudit): Promise<boolean> {
    const [row] = await rows<{ removed: boolean }>(
      this.db,
      sql`with removed as (delete from totp_factors where user_id = ${userId} and confirmed_at is not null
        returning user_id),
        pending as (delete from totp_factors where user_id = ${userId} and confirmed_at is null),
        codes as (delete from recovery_codes where user_id = ${userId} and exists (select 1 from removed)),
        a as (${factorAudit("mfa.totp_removed", userId, audit, sql`removed`)}),
        changes as (${endPendingEmailChanges(sql`(select user_id from removed)`, "factor_changed", audit.at)})
      select exists (select 1 from removed) as removed`,
    );
    return row?.removed === true;
  }

  async replaceRecoveryCodes(userId: string, codeHashes: string[], audit: FactorAudit): Promise<boolean> {
    const [row] = await rows<{ replaced: boolean }>(
      this.db,
      sql`with factor as (select user_id from totp_factors
        where user_id = ${userId} and confirmed_at is not null for update),
        cleared as (delete from recovery_codes where user_id = ${userId} and exists (select 1 from factor)),
        codes as (${insertRecoveryCodes(userId, codeHashes, audit.at, sql`exists (select 1 from factor)`)}),
        a as (${factorAudit("mfa.recovery_codes_regenerated", userId, audit, sql`factor`, {
          recoveryCodes: codeHashes.length,
        })}),
        changes as (${endPendingEmailChanges(sql`(select user_id from factor)`, "factor_changed", audit.at)})
      select exists (select 1 from factor) as replaced`,
    );
    return row?.replaced === true;
  }

  async spendRecoveryCode(input: {
    userId: string;
    codeHash: string;
    origin: RequestOrigin;
    at: Date;
  }): Promise<boolean> {
    const { userId, at } = input;
    const [row] = await rows<{ spent: boolean; remaining: number }>(
      this.db,
      sql`with spent as (
          update recovery_codes set used_at = ${at} where
            code_hash = ${input.codeHash} and user_id = ${userId} and used_at is null returning user_id
        ), a as (
          ${auditInsert({
            event: "mfa.recovery_code_used",
            userId,
            actorId: userId,
            sessionId: null,
            origin: input.origin,
            metadata: {},
            at,
            from: sql`spent`,
          })}
        )
      select exists (select 1 from spent) as spent`,
    );
    return row?.spent === true;
  }

  async removeAll(userId: string, audit: FactorAudit): Promise<boolean> {
    const [row] = await rows<{ totp: number; codes: number; passkeys: number }>(
      this.db,
      sql`with t as (delete from totp_factors where user_id = ${userId} returning confirmed_at),
        c as (delete from recovery_codes where user_id = ${userId} returning 1),
        p as (delete from passkeys where user_id = ${userId} returning 1),
        counted as (select (select count(*) from t where
          confirmed_at is not null)::int as totp, (select count(*) from c)::int as codes, (select count(*)
            from p)::int as passkeys),
        a as (${factorAudit("mfa.removed", userId, audit, sql`counted where counted.totp + counted.passkeys > 0`, {})}),
        changes as (${endPendingEmailChanges(
          sql`(select ${userId}::uuid from counted
          where counted.totp + counted.passkeys > 0)`,
          "factor_changed",
          audit.at,
        )})
      select totp, codes, passkeys from counted`,
    );
    return (row?.totp ?? 0) + (row?.passkeys ?? 0) > 0;
  }
}
