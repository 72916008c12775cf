// The database invariants `npm run soak` checks after each phase, as SQL over
// the service's tables. Each query returns the offending rows (at most a few
// are shown), so a failure says what broke, not only that something did.
import type pg from "pg";

export type Check = { name: string; pass: boolean; detail: string };

const END_EVENTS = ["session.revoked", "auth.logged_out", "auth.refresh_reused", "session.evicted"];
const START_EVENTS = ["auth.login_succeeded", "user.registered"];

async function offenders(
  db: pg.Client,
  name: string,
  query: string,
  params: unknown[],
  describe: (count: number) => string,
): Promise<Check> {
  const { rows } = await db.query(`select count(*) over () as total, * from (${query}) q limit 3`, params);
  const count = rows.length ? Number(rows[0].total) : 0;
  const sample = rows.map(({ total: _total, ...row }) => JSON.stringify(row)).join(" ");
  return { name, pass: count === 0, detail: count === 0 ? describe(0) : `${describe(count)}; e.g. ${sample}` };
}

/**
 * (a) No session has two refresh tokens that are both unused and unexpired: rotation leaves exactly one current token.
 */
export function singleLiveRefreshToken(db: pg.Client): Promise<Check> {
  return offenders(
    db,
    "(a) at most one live refresh token per session",
    `select session_id, count(*)::int as live_tokens from refresh_tokens
      where used_at is null and expires_at > now() group by session_id having count(*) > 1`,
    [],
    (n) => `${n} sessions with two or more live refresh tokens`,
  );
}

/** (b) Every session was opened by a login or a registration, with its audit row. */
export function sessionsHaveStartRows(db: pg.Client): Promise<Check> {
  return offenders(
    db,
    "(b) every session has an auth.login_succeeded or user.registered row",
    `select s.id as session_id from sessions s
      where not exists (select 1 from audit_logs a where a.session_id = s.id and a.event = any($1::text[]))`,
    [START_EVENTS],
    (n) => `${n} sessions without one`,
  );
}

/** (b) Every user has its user.registered row. */
export function usersHaveRegisteredRows(db: pg.Client): Promise<Check> {
  return offenders(
    db,
    "(b) every user has a user.registered row",
    `select u.id as user_id from users u
      where not exists (select 1 from audit_logs a where a.user_id = u.id and a.event = 'user.registered')`,
    [],
    (n) => `${n} users without one`,
  );
}

/**
 * (b) Every rotation has its auth.refreshed row and no auth.refreshed row
 * lacks its rotation: a successor token (parent_hash set) matches the audit
 * row of the same session written at the same instant (the rotation writes
 * both in one statement with one timestamp), and its parent's used_at is
 * that instant.
 */
export async function rotationsMatchAudit(db: pg.Client): Promise<Check> {
  const { rows } = await db.query<{
    successors: number;
    refreshed: number;
    unaudited: number;
    orphaned: number;
    mismatched_parent: number;
  }>(`
    select
      (select count(*)::int from refresh_tokens where parent_hash is not null) as successors,
      (select count(*)::int from audit_logs where event = 'auth.refreshed') as refreshed,
      (select count(*)::int from refresh_tokens c where c.parent_hash is not null and not exists (
         select 1 from audit_logs a where a.event = 'auth.refreshed' and a.session_id = c.session_id
           and a.created_at = c.created_at)) as unaudited,
      (select count(*)::int from audit_logs a where a.event = 'auth.refreshed' and not exists (
         select 1 from refresh_tokens c where c.parent_hash is not null and c.session_id = a.session_id
           and c.created_at = a.created_at)) as orphaned,
      (select count(*)::int from refresh_tokens c join refresh_tokens p on p.token_hash = c.parent_hash
         where p.used_at is distinct from c.created_at or p.session_id <> c.session_id) as mismatched_parent`);
  const r = rows[0]!;
  const pass = r.successors === r.refreshed && r.unaudited === 0 && r.orphaned === 0 && r.mismatched_parent === 0;
  return {
    name: "(b) every rotation (used token with a successor) has its auth.refreshed row",
    pass,
    detail:
      `${r.successors} successor tokens, ${r.refreshed} auth.refreshed rows; ${r.unaudited} without a row, ` +
      `${r.orphaned} rows without a rotation, ${r.mismatched_parent} parents not used at the successor's creation`,
  };
}

export async function refreshedRowCount(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from audit_logs where event = 'auth.refreshed'`,
  );
  return rows[0]!.n;
}

/** (b) Every ended session has the audit row of what ended it. */
export function endedSessionsHaveEndRows(db: pg.Client): Promise<Check> {
  return offenders(
    db,
    "(b) every ended session has a session.revoked / auth.logged_out / auth.refresh_reused / session.evicted row",
    `select s.id as session_id, s.revoked_reason from sessions s
      where s.revoked_at is not null
        and not exists (select 1 from audit_logs a where a.session_id = s.id and a.event = any($1::text[]))`,
    [END_EVENTS],
    (n) => `${n} ended sessions without one`,
  );
}

/** Nothing half-written: a user has its roles, a session its first token, a token its session. */
export async function nothingHalfWritten(db: pg.Client): Promise<Check[]> {
  return [
    await offenders(
      db,
      "no user without a user_roles row",
      `select u.id as user_id from users u where not exists (select 1 from user_roles ur where ur.user_id = u.id)`,
      [],
      (n) => `${n} users without a role`,
    ),
    await offenders(
      db,
      "no session without a refresh token",
      `select s.id as session_id from sessions s where not exists (select 1 from refresh_tokens rt where
        rt.session_id = s.id)`,
      [],
      (n) => `${n} sessions without a refresh token`,
    ),
    await offenders(
      db,
      "no refresh token without a session",
      `select rt.session_id from refresh_tokens rt where not exists (select 1 from sessions s where s.id =
        rt.session_id)`,
      [],
      (n) => `${n} refresh tokens without a session`,
    ),
  ];
}

/** What the tables hold, for the report. */
export async function tableCounts(db: pg.Client): Promise<Record<string, number>> {
  const { rows } = await db.query<Record<string, number>>(`
    select (select count(*)::int from users) as users,
      (select count(*)::int from sessions) as sessions,
      (select count(*)::int from sessions where revoked_at is null) as live_sessions,
      (select count(*)::int from refresh_tokens) as refresh_tokens,
      (select count(*)::int from audit_logs) as audit_rows`);
  const { rows: ended } = await db.query<{ reason: string; n: number }>(
    `select coalesce(revoked_reason, '?') as reason, count(*)::int as n from sessions where revoked_at is not null
      group by 1 order by 1`,
  );
  return { ...rows[0]!, ...Object.fromEntries(ended.map((row) => [`ended:${row.reason}`, row.n])) };
}
