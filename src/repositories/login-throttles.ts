// Per-account login throttling with exponential back-off, exact because it
// lives in Postgres and every attempt is admitted atomically BEFORE the
// password is checked: parallel guesses cannot slip in between a check and a
// recorded failure. Keyed on a hash of the normalised email whether or not
// the account exists, so a lock reveals nothing about which emails exist.
//
// The row counts attempts since the last success (`failures`, stamped by
// `last_failure_at`); a successful sign-in deletes it.
import { sql } from "drizzle-orm";
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
    // One statement for a key with no row (every sign-in after a success,
    // which deletes it); otherwise the insert does nothing and the update
    // decides. A row deleted in between goes round once more.
    for (let round = 0; round < 2; round++) {
      if (await this.insertFirstAttempt(input)) return { admitted: true };
      const decided = await this.decideUnderLock(input);
      if (decided) return decided;
    }
    // Inserted and deleted again around us twice: refuse rather than fail open.
    return { admitted: false, lockedUntil: new Date(input.at.getTime() + 1000) };
  }

  /**
   * Counts the attempt on an existing row, deciding from the row as it is
   * under its lock, so the decision uses the latest committed state even when
   * many attempts arrive at once. A locked key is left as it is and reported
   * with its real lock. undefined when the key has no row.
   */
  async decideUnderLock(input: { key: string; maxAttempts: number; at: Date }): Promise<Admission | undefined> {
    const { at, maxAttempts } = input;
    const windowStart = new Date(at.getTime() - ATTEMPT_WINDOW_SECONDS * 1000);
    const [row] = await rows<{ refused: boolean; locked_until: Date | string | null }>(
      this.db,
      sql`
      update login_throttles lt set
        failures = case when prior.locked then prior.failures else prior.next end,
        last_failure_at = case when prior.locked then prior.last_failure_at else ${at} end,
        locked_until = case when prior.locked then prior.locked_until else ${lockFrom(sql`prior.next`, maxAttempts, at)} end
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
    if (!row) return undefined;
    if (!row.refused) return { admitted: true };
    return { admitted: false, lockedUntil: toDate(row.locked_until ?? at) };
  }

  /** The first attempt on a key: admitted. False when the key already has a row. */
  private async insertFirstAttempt(input: { key: string; maxAttempts: number; at: Date }): Promise<boolean> {
    const inserted = await rows<{ key: string }>(this.db, LoginThrottleRepository.firstAttempt(input));
    return inserted.length > 0;
  }

  /** The insert of a key's first attempt, returning the key when it was the first; for use in a larger statement. */
  static firstAttempt(input: { key: string; maxAttempts: number; at: Date }): SQL {
    return sql`
      insert into login_throttles (key, failures, last_failure_at, locked_until)
      values (${input.key}, 1, ${input.at}, ${lockFrom(sql`1`, input.maxAttempts, input.at)})
      on conflict (key) do nothing
      returning key`;
  }

  /** A statement that clears the key, to run with a successful sign-in; `onlyIf` makes it conditional. */
  static clear(key: string, onlyIf: SQL = sql`true`) {
    return sql`delete from login_throttles where key = ${key} and ${onlyIf}`;
  }
}

type SQL = ReturnType<typeof sql>;

/** The lock an attempt numbered `n` sets: none below the limit, then 15 s doubling up to 15 min. */
function lockFrom(n: SQL, maxAttempts: number, at: Date): SQL {
  return sql`case when ${n} >= ${maxAttempts}::int
    then ${at}::timestamptz + make_interval(secs => least(${MAX_LOCK_SECONDS}::int,
           ${BASE_LOCK_SECONDS}::int * power(2, least(20, ${n} - ${maxAttempts}::int))::int))
  end`;
}
