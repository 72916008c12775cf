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
   * Counts one attempt and admits it unless the key is locked (two short
   * statements: make sure the row exists, then decide under its lock). From the
   * maxAttempts-th attempt on, admitting it also locks the key for
   * 15 s x 2^(n - max) (15 s, 30 s, 1 min, ... up to 15 minutes), so concurrent attempts are
   * refused while this one is checked; a success then clears the lock.
   */
  async admit(input: { key: string; maxAttempts: number; at: Date }): Promise<Admission> {
    const { at, maxAttempts } = input;
    const windowStart = new Date(at.getTime() - ATTEMPT_WINDOW_SECONDS * 1000);
    // The row must exist to be locked; a new one counts nothing yet.
    await this.db.execute(sql`
      insert into login_throttles (key, failures, last_failure_at, locked_until)
      values (${input.key}, 0, '-infinity', null)
      on conflict (key) do nothing`);
    // Read under the row lock, so the decision uses the latest committed
    // state even when many attempts arrive at once; a locked key is left as
    // it is and reported with its real lock.
    const [row] = await rows<{ refused: boolean; locked_until: Date | string | null }>(
      this.db,
      sql`
      update login_throttles lt set
        failures = case when prior.locked then prior.failures else prior.next end,
        last_failure_at = case when prior.locked then prior.last_failure_at else ${at} end,
        locked_until = case when prior.locked then prior.locked_until
          when prior.next >= ${maxAttempts}::int
          then ${at}::timestamptz + make_interval(secs => least(${MAX_LOCK_SECONDS}::int,
                 ${BASE_LOCK_SECONDS}::int * power(2, least(20, prior.next - ${maxAttempts}::int))::int))
        end
      from (
        select key, failures, last_failure_at, locked_until,
          (locked_until is not null and locked_until > ${at}) as locked,
          (case when last_failure_at < ${windowStart} then 1 else failures + 1 end) as next
        from login_throttles where key = ${input.key}
        for update
      ) prior
      where lt.key = prior.key
      returning prior.locked as refused, lt.locked_until`,
    );
    // No row: it vanished between the statements (pruned); refuse rather than fail open.
    if (!row) return { admitted: false, lockedUntil: new Date(at.getTime() + 1000) };
    if (!row.refused) return { admitted: true };
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
