// Per-account login throttling with exponential back-off, exact because it
// lives in Postgres. Keyed on a hash of the normalised email whether or not
// the account exists, so a lock reveals nothing about which emails exist.
// Each failure is recorded in the same statement as its audit row.
import { eq, sql } from "drizzle-orm";
import { loginThrottles } from "../db/schema";
import { auditInsert, type RequestOrigin } from "./audit";
import type { Executor } from "./database";
import { rows, toDate } from "./rows";

/** Failures older than this no longer count. */
const FAILURE_WINDOW_SECONDS = 3600;
/** The longest lock. */
const MAX_LOCK_SECONDS = 900;

export class LoginThrottleRepository {
  constructor(private readonly db: Executor) {}

  async lockedUntil(key: string, at: Date): Promise<Date | undefined> {
    const [row] = await this.db.select({ lockedUntil: loginThrottles.lockedUntil }).from(loginThrottles).where(eq(loginThrottles.key, key));
    return row?.lockedUntil && row.lockedUntil > at ? row.lockedUntil : undefined;
  }

  /**
   * Counts a failed login and writes auth.login_failed. From the
   * maxFailures-th failure on, the account is locked for 2^(n - max) seconds,
   * up to 15 minutes.
   */
  async recordFailure(input: {
    key: string;
    maxFailures: number;
    userId: string | null;
    reason: string;
    origin: RequestOrigin;
    at: Date;
  }): Promise<{ failures: number; lockedUntil: Date | null }> {
    const { at } = input;
    const windowStart = new Date(at.getTime() - FAILURE_WINDOW_SECONDS * 1000);
    const [row] = await rows<{ failures: number; locked_until: Date | string | null }>(
      this.db,
      sql`
      with t as (
        insert into login_throttles as lt (key, failures, last_failure_at, locked_until)
        values (${input.key}, 1, ${at}, case when 1 >= ${input.maxFailures}::int then ${at}::timestamptz + interval '1 second' end)
        on conflict (key) do update set
          failures = case when lt.last_failure_at < ${windowStart} then 1 else lt.failures + 1 end,
          last_failure_at = ${at},
          locked_until = case
            when (case when lt.last_failure_at < ${windowStart} then 1 else lt.failures + 1 end) >= ${input.maxFailures}::int
            then ${at}::timestamptz + make_interval(secs => least(${MAX_LOCK_SECONDS}::int,
                   power(2, least(20, (case when lt.last_failure_at < ${windowStart} then 1 else lt.failures + 1 end) - ${input.maxFailures}::int))::int))
          end
        returning failures, locked_until
      ), a as (
        ${auditInsert({ event: "auth.login_failed", userId: input.userId, actorId: input.userId, sessionId: null, origin: input.origin, metadata: { reason: input.reason }, at })}
      )
      select failures, locked_until from t`,
    );
    return { failures: row?.failures ?? 0, lockedUntil: row?.locked_until ? toDate(row.locked_until) : null };
  }

  /** A statement that clears the key, to run with a successful login. */
  static clear(key: string) {
    return sql`delete from login_throttles where key = ${key}`;
  }
}
