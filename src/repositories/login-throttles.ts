// Per-account login throttling with exponential back-off, exact because it
// lives in Postgres and every attempt is admitted atomically BEFORE the
// password is checked: parallel guesses cannot slip in between a check and a
// recorded failure. Keyed on a hash of the normalised email whether or not
// the account exists, so a lock reveals nothing about which emails exist.
//
// The row counts attempts since the last success (`failures`, stamped by
// `last_failure_at`); a successful sign-in deletes it.
import { eq, sql } from "drizzle-orm";
import { loginThrottles } from "../db/schema";
import type { Executor } from "./database";
import { rows, toDate } from "./rows";

/** Attempts older than this no longer count. */
const ATTEMPT_WINDOW_SECONDS = 3600;
/** The first lock; each further attempt doubles it. */
const BASE_LOCK_SECONDS = 15;
/** The longest lock. */
const MAX_LOCK_SECONDS = 900;

export type Admission = { admitted: true } | { admitted: false; lockedUntil: Date };

export class LoginThrottleRepository {
  constructor(private readonly db: Executor) {}

  /**
   * Counts one attempt and admits it unless the key is locked. From the
   * maxAttempts-th attempt on, admitting it also locks the key for
   * 15 s x 2^(n - max) (15 s, 30 s, 1 min, ... up to 15 minutes), so concurrent attempts are
   * refused while this one is checked; a success then clears the lock.
   */
  async admit(input: { key: string; maxAttempts: number; at: Date }): Promise<Admission> {
    const { at, maxAttempts } = input;
    const windowStart = new Date(at.getTime() - ATTEMPT_WINDOW_SECONDS * 1000);
    const count = sql`(case when lt.last_failure_at < ${windowStart} then 1 else lt.failures + 1 end)`;
    const lockFor = (n: SQL) =>
      sql`case when ${n} >= ${maxAttempts}::int
        then ${at}::timestamptz + make_interval(secs => least(${MAX_LOCK_SECONDS}::int, ${BASE_LOCK_SECONDS}::int * power(2, least(20, ${n} - ${maxAttempts}::int))::int))
      end`;
    const [row] = await rows<{ admitted: boolean; locked_until: Date | string | null }>(
      this.db,
      sql`
      with attempt as (
        insert into login_throttles as lt (key, failures, last_failure_at, locked_until)
        values (${input.key}, 1, ${at}, ${lockFor(sql`1`)})
        on conflict (key) do update set
          failures = ${count},
          last_failure_at = ${at},
          locked_until = ${lockFor(count)}
        where lt.locked_until is null or lt.locked_until <= ${at}
        returning locked_until
      )
      select true as admitted, locked_until from attempt
      union all
      select false, locked_until from login_throttles where key = ${input.key} and not exists (select 1 from attempt)`,
    );
    if (!row || row.admitted) return { admitted: true };
    return { admitted: false, lockedUntil: toDate(row.locked_until ?? at) };
  }

  async lockedUntil(key: string, at: Date): Promise<Date | undefined> {
    const [row] = await this.db.select({ lockedUntil: loginThrottles.lockedUntil }).from(loginThrottles).where(eq(loginThrottles.key, key));
    return row?.lockedUntil && row.lockedUntil > at ? row.lockedUntil : undefined;
  }

  /** A statement that clears the key, to run with a successful sign-in; `onlyIf` makes it conditional. */
  static clear(key: string, onlyIf: SQL = sql`true`) {
    return sql`delete from login_throttles where key = ${key} and ${onlyIf}`;
  }
}

type SQL = ReturnType<typeof sql>;
