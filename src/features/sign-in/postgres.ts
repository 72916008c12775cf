// Login throttling in Postgres, exact because every attempt is admitted
// atomically before its credential is checked: parallel guesses cannot slip
// between a check and a recorded failure. Keyed on a hash of the normalised
// email whether or not the account exists; a device's bucket is keyed under
// its account's, so one statement clears both. One auth.throttled row per
// lock, not per refused attempt (`audited_lock_until` stamps it).
import { sql } from "drizzle-orm";
import type { Admission, LoginThrottleStore, SignInAttempt, ThrottleAttempt, ThrottleScope } from "./store";
import type { UserRecord } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import {
  ATTEMPT_WINDOW_SECONDS,
  auditInsert,
  clearThrottle,
  clearThrottlesOfAccount,
  insertFirstAttempt,
  lockFrom,
  USER_WITH_GRANTS,
} from "../../adapters/postgres/fragments";
import { rows, toDate } from "../../adapters/postgres/rows";
import { toUserRecord, type UserRow } from "../../adapters/postgres/user-row";

export class LoginThrottleRepository implements LoginThrottleStore {
  constructor(private readonly db: Executor) {}

  /**
   * Counts one attempt and admits it unless the key is locked. From the
   * maxAttempts-th attempt on, admitting it also locks the key for
   * 15 s x 2^(n - max) (15 s, 30 s, 1 min, ... up to 15 minutes), so
   * concurrent attempts are refused while this one is checked; a success
   * then clears the lock. The lock's first refusal writes its auth.throttled
   * row in the same statement.
   */
  async admit(attempt: ThrottleAttempt): Promise<Admission> {
    // One statement for a key with no row (every sign-in after a success,
    // which deletes it); otherwise the insert does nothing and the update
    // decides. A row deleted in between goes round once more.
    for (let round = 0; round < 2; round++) {
      const inserted = await rows<{ key: string }>(this.db, insertFirstAttempt(attempt));
      if (inserted.length > 0) return { admitted: true };
      const decided = await this.decideUnderLock(attempt);
      if (decided) return decided;
    }
    // Inserted and deleted again around us twice: refuse rather than fail open.
    return { admitted: false, lockedUntil: new Date(attempt.at.getTime() + 1000) };
  }

  /**
   * The first step of a sign-in in one round trip: the bucket chosen (the
   * device's only when the account with that email has the token's id and
   * device generation), the attempt counted in it and the account read, with
   * its grants, in the same statement. Only a key that already has a row
   * (recent failures) needs a second statement.
   */
  async admitAndFindUser(
    attempt: SignInAttempt,
  ): Promise<{ admission: Admission; user: UserRecord | undefined; counted: { key: string; scope: ThrottleScope } }> {
    const { device } = attempt;
    const deviceCounts = device
      ? sql`exists (select 1 from found where found.id = ${device.userId}::uuid
        and found.device_generation::bigint = ${device.generation}::bigint)`
      : sql`false`;
    const [row] = await rows<UserRow & { first_attempt: boolean; device_counts: boolean; id: string | null }>(
      this.db,
      sql`
      with found as (select ${USER_WITH_GRANTS} from users u where u.email = ${attempt.email}),
      chosen as (select ${deviceCounts} as device_counts),
      attempt as (${insertFirstAttempt({
        ...attempt,
        key: sql`(select case when chosen.device_counts
        then ${device?.key ?? null}::text else ${attempt.key}::text end from chosen)`,
      })})
      select exists (select 1 from attempt) as first_attempt, (select device_counts
        from chosen) as device_counts, found.*
      from (select 1) as one left join found on true`,
    );
    const user = row?.id ? toUserRecord(row) : undefined;
    const counted =
      row?.device_counts && device
        ? { key: device.key, scope: "device" as const }
        : { key: attempt.key, scope: "account" as const };
    if (row?.first_attempt) return { admission: { admitted: true }, user, counted };
    // The lock's audit row names the account the lookup found, if any.
    const again: ThrottleAttempt = {
      key: counted.key,
      maxAttempts: attempt.maxAttempts,
      at: attempt.at,
      audit: { ...attempt.audit, scope: counted.scope, userId: user?.id ?? null },
    };
    return { admission: (await this.decideUnderLock(again)) ?? (await this.admit(again)), user, counted };
  }

  async clear(key: string): Promise<void> {
    await this.db.execute(clearThrottle(key));
  }

  async clearAccount(accountKey: string): Promise<void> {
    await this.db.execute(clearThrottlesOfAccount(accountKey));
  }

  /**
   * Counts the attempt on an existing row, deciding from the row as it is
   * under its lock, so the decision uses the latest committed state even when
   * many attempts arrive at once. A locked key is left as it is and reported
   * with its real lock; the first refusal of a lock marks it audited and
   * writes its auth.throttled row. undefined when the key has no row.
   */
  private async decideUnderLock({ key, at, maxAttempts, audit }: ThrottleAttempt): Promise<Admission | undefined> {
    const windowStart = new Date(at.getTime() - ATTEMPT_WINDOW_SECONDS * 1000);
    const [row] = await rows<{ refused: boolean; locked_until: Date | string | null }>(
      this.db,
      sql`
      with decided as (
        update login_throttles lt set
          failures = case when prior.locked then prior.failures else prior.next end,
          last_failure_at = case when prior.locked then prior.last_failure_at else ${at} end,
          locked_until = case when prior.locked then prior.locked_until
            else ${lockFrom(sql`prior.next`, maxAttempts, at)} end,
          audited_lock_until = case when prior.locked then prior.locked_until else prior.audited_lock_until end
        from (
          select key, failures, last_failure_at, locked_until, audited_lock_until,
            (locked_until is not null and locked_until > ${at}) as locked,
            (case when last_failure_at < ${windowStart} then 1 else failures + 1 end) as next
          from login_throttles where key = ${key}
          for update
        ) prior
        where lt.key = prior.key
        returning prior.locked as refused, lt.locked_until,
          (prior.locked and prior.audited_lock_until is distinct from prior.locked_until) as first_refusal
      ), audited as (
        ${auditInsert({
          event: "auth.throttled",
          userId: audit.userId,
          actorId: audit.userId,
          sessionId: null,
          origin: audit.origin,
          metadata: { scope: audit.scope },
          at,
          from: sql`decided where decided.first_refusal`,
        })}
      )
      select refused, locked_until from decided`,
    );
    if (!row) return undefined;
    if (!row.refused) return { admitted: true };
    return { admitted: false, lockedUntil: toDate(row.locked_until ?? at) };
  }
}
