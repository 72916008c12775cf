// SQL fragments more than one statement needs, each written once. Every
// repository that returns a user, opens a session, writes an audit row or
// touches the login throttle inside a larger statement composes these.
import { isSQLWrapper, sql, type SQL } from "drizzle-orm";
import type { AuditEventName } from "../../features/activity/store";
import type { NewOneTimeToken, OneTimePurpose } from "../../features/lifecycle/store";
import type { NewSession, SessionEnd } from "../../features/sessions/store";
import type { RequestOrigin } from "../../core/domain";

/**
 * The roles and permissions a user holds, as two text[] columns `roles` and `permissions`; `userId` is an SQL
 * expression.
 */
export function grantsOf(userId: SQL): SQL {
  return sql`
  coalesce((select array_agg(ur.role_name order by ur.role_name) from user_roles ur
    where ur.user_id = ${userId}), '{}') as roles,
  coalesce((select array_agg(distinct rp.permission_name order by rp.permission_name)
            from user_roles ur join role_permissions rp on rp.role_name = ur.role_name
            where ur.user_id = ${userId}), '{}') as permissions`;
}

/** The select list of every query that returns a UserRecord (alias u); see toUserRecord. */
export const USER_WITH_GRANTS = sql`
  u.id, u.email, u.name, u.status, u.password_hash,
    u.email_verified_at, u.created_at, u.grants_version, u.device_generation, ${grantsOf(sql`u.id`)},
  ${factorsOf(sql`u.id`)}`;

/** The second factors a user has enrolled, as columns `totp_enabled` (boolean) and `passkey_count` (int). */
export function factorsOf(userId: SQL): SQL {
  return sql`exists (select 1 from totp_factors tf where
    tf.user_id = ${userId} and tf.confirmed_at is not null) as totp_enabled,
  (select count(*)::int from passkeys pk where pk.user_id = ${userId}) as passkey_count`;
}

/**
 * The INSERTs of a new session and its first refresh token, as CTEs named
 * `s` and `t` after a CTE `owner` that yields the user's id as `id` (no row:
 * nothing is inserted). `s` returns `id, user_id`.
 */
export function insertSessionWithFirstToken(session: NewSession, at: Date): SQL {
  return sql`s as (
    insert into sessions (id, user_id, device, created_at,
      last_used_at, idle_expires_at, absolute_expires_at, auth_time, amr, idp)
    select ${session.id}, owner.id,
      ${JSON.stringify(session.device)}::jsonb, ${at},
        ${at}, ${session.idleExpiresAt}, ${session.absoluteExpiresAt}, ${session.authTime ?? at},
        ${textArray(session.amr)}, ${session.idp ?? null}::text
    from owner
    returning id, user_id
  ), t as (
    insert into refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
    select ${session.refreshTokenHash}, s.id, null, ${at}, ${session.idleExpiresAt} from s
  )`;
}

/**
 * An INSERT of one audit row, for use inside a larger statement (a CTE), so
 * the event is written atomically with the change it records. `from` names a
 * CTE that yields the rows the event is about; `userId`, `actorId` and
 * `sessionId` may be SQL expressions over it.
 */
export function auditInsert(input: {
  event: AuditEventName;
  userId: SQL | string | null;
  actorId: SQL | string | null;
  sessionId: SQL | string | null;
  origin: RequestOrigin;
  /** An object, or a jsonb SQL expression over `from` (counts the statement computes). */
  metadata?: Record<string, unknown> | SQL;
  /** The organization the event concerns (audit_logs.org_id, the organization's own audit log). */
  orgId?: SQL | string | null;
  at: Date;
  from?: SQL;
}): SQL {
  const metadata = isSQLWrapper(input.metadata) ? input.metadata : sql`${JSON.stringify(input.metadata ?? {})}::jsonb`;
  const value = (v: SQL | string | null, cast: string) =>
    v === null ? sql.raw(`null::${cast}`) : typeof v === "string" ? sql`${v}::${sql.raw(cast)}` : v;
  const org = input.orgId === undefined ? sql`` : sql`, ${value(input.orgId, "uuid")}`;
  return sql`insert into audit_logs (event, user_id, actor_id, session_id, ip, user_agent, metadata, created_at${
    input.orgId === undefined ? sql`` : sql`, org_id`
  })
    select ${input.event}, ${value(input.userId, "uuid")},
      ${value(input.actorId, "uuid")}, ${value(input.sessionId, "uuid")},
           ${input.origin.ip}, ${input.origin.userAgent}, ${metadata}, ${input.at}${org}
    ${input.from ? sql`from ${input.from}` : sql``}`;
}

/** Sessions of alias `s` (or `alias`) live at `at`: not revoked, and neither expiry passed. */
export function liveSession(at: Date, alias = "s"): SQL {
  const s = sql.raw(alias);
  return sql`${s}.revoked_at is null and ${s}.idle_expires_at > ${at} and ${s}.absolute_expires_at > ${at}`;
}

/**
 * An audit row of `event` for each session a CTE `from` yields as `id, user_id` (`sessionColumn` names another id
 * column), the session's own user as the actor unless `actorId` names one (null: none).
 */
export function sessionAudit(input: {
  event: AuditEventName;
  from: string;
  sessionColumn?: string;
  actorId?: SQL | string | null;
  origin: RequestOrigin;
  metadata?: Record<string, unknown>;
  at: Date;
}): SQL {
  const from = sql.raw(input.from);
  const user = sql`${from}.user_id`;
  return auditInsert({
    event: input.event,
    userId: user,
    actorId: input.actorId === undefined ? user : input.actorId,
    sessionId: sql`${from}.${sql.raw(input.sessionColumn ?? "id")}`,
    origin: input.origin,
    metadata: input.metadata,
    at: input.at,
    from,
  });
}

/**
 * The CTEs `ended`, the UPDATE ending the live sessions `where` picks (alias s; it returns `id, user_id,
 * last_used_at`), and `ended_audit`, one row of `end.event` for each with the reason; every way a session ends
 * writes these two.
 */
export function endSessions(where: SQL, end: SessionEnd): SQL {
  return sql`ended as (
        update sessions s set revoked_at = ${end.at}, revoked_reason = ${end.reason}
        where ${where} and ${liveSession(end.at)}
        returning s.id, s.user_id, s.last_used_at
      ), ended_audit as (
        ${sessionAudit({
          event: end.event,
          from: "ended",
          actorId: end.actorId ?? undefined,
          origin: end.origin,
          metadata: { reason: end.reason },
          at: end.at,
        })}
      )`;
}

/** A text[] parameter. */
export function textArray(values: readonly string[]): SQL {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

/** A stored hash replaced: a rehash of the same password (at sign-in) or a new password (see endResetTokens). */
export function setPasswordHash(id: string, passwordHash: string, at: Date, onlyIf: SQL = sql`true`): SQL {
  return sql`update users set password_hash = ${passwordHash}, updated_at = ${at} where id = ${id} and ${onlyIf}`;
}

/**
 * The UPDATE ending a user's live one-time tokens (all purposes, or the ones
 * named), as a statement or a CTE body: a reset link dies when the password
 * changes, a link mailed to an address dies when the address does, a pending
 * email change dies when the account's credentials or sessions are taken back.
 */
export function endOneTimeTokens(
  userId: SQL | string,
  reason: string,
  at: Date,
  purpose?: OneTimePurpose | readonly OneTimePurpose[],
): SQL {
  const user = typeof userId === "string" ? sql`${userId}::uuid` : userId;
  const purposes = purpose === undefined ? undefined : typeof purpose === "string" ? [purpose] : purpose;
  return sql`update one_time_tokens set used_at = ${at}, ended_reason = ${reason}
    where user_id = ${user} and used_at is null ${purposes ? sql`and purpose = any(${textArray(purposes)})` : sql``}`;
}

/**
 * The UPDATE ending a user's pending email changes, as a CTE body, for the
 * statements by which an owner takes the account back (the password, the
 * sessions, a factor): whoever asked for the change may have held the
 * account only for a while. `userId` may be an SQL expression yielding no
 * row, in which case nothing ends.
 */
export function endPendingEmailChanges(
  userId: SQL | string,
  reason: "password_changed" | "sessions_ended" | "factor_changed",
  at: Date,
): SQL {
  return endOneTimeTokens(userId, reason, at, "email_change");
}

/**
 * The INSERT of a one-time token (hash only) for the user a CTE `owner` yields as `id, email`; live unless
 * `endedReason`.
 */
export function insertOneTimeToken(token: Omit<NewOneTimeToken, "userId" | "email">, at: Date): SQL {
  const endedAt = token.endedReason === undefined ? null : at;
  return sql`insert into one_time_tokens (token_hash,
    user_id, purpose, email, new_email, requester_network, created_at, expires_at, used_at, ended_reason)
    select ${token.tokenHash}, owner.id, ${token.purpose},
      owner.email, ${token.newEmail ?? null}, ${token.requesterNetwork ?? null}, ${at}, ${token.expiresAt},
           ${endedAt}::timestamptz, ${token.endedReason ?? null}::text from owner`;
}

/** Attempts older than this no longer count. */
export const ATTEMPT_WINDOW_SECONDS = 3600;
/** The first lock; each further attempt doubles it. */
const BASE_LOCK_SECONDS = 15;
/** The longest lock. */
const MAX_LOCK_SECONDS = 900;

/** The insert of a key's first attempt, returning the key when it was the first; `key` may be an SQL expression. */
export function insertFirstAttempt(input: { key: string | SQL; maxAttempts: number; at: Date }): SQL {
  return sql`
    insert into login_throttles (key, failures, last_failure_at, locked_until)
    values (${input.key}, 1, ${input.at}, ${lockFrom(sql`1`, input.maxAttempts, input.at)})
    on conflict (key) do nothing
    returning key`;
}

export function clearThrottle(key: string, onlyIf: SQL = sql`true`): SQL {
  return sql`delete from login_throttles where key = ${key} and ${onlyIf}`;
}

/**
 * The deletion of an account's throttle row and of every device row under it
 * (`device:<account key>:...`). The first `like` repeats the predicate of
 * the partial index login_throttles_device_key_idx (text_pattern_ops), so
 * the planner can use it whatever the database's collation.
 */
export function clearThrottlesOfAccount(accountKey: string): SQL {
  const devices = `device:${accountKey.replace(/[\\%_]/g, "\\$&")}:%`;
  return sql`delete from login_throttles where key = ${accountKey} or (key like 'device:%' and key like ${devices})`;
}

/** The lock an attempt numbered `n` sets: none below the limit, then 15 s doubling up to 15 min. */
export function lockFrom(n: SQL, maxAttempts: number, at: Date): SQL {
  return sql`case when ${n} >= ${maxAttempts}::int
    then ${at}::timestamptz + make_interval(secs => least(${MAX_LOCK_SECONDS}::int,
           ${BASE_LOCK_SECONDS}::int * power(2, least(20, ${n} - ${maxAttempts}::int))::int))
  end`;
}
