// The first step of a sign-in in one round trip: count the attempt against
// the account's throttle and read the account, with its roles, permissions
// and grants version, in the same statement. Only a key that already has a
// throttle row (recent failures) needs a second statement, which decides
// under the row's lock (LoginThrottleRepository.decideUnderLock).
import { sql } from "drizzle-orm";
import type { Executor } from "./database";
import { LoginThrottleRepository, type Admission } from "./login-throttles";
import { rows } from "./rows";
import { toUserRecord, USER_WITH_GRANTS, type UserRecord } from "./users";

export class SignInRepository {
  constructor(private readonly db: Executor) {}

  async admitAndFind(input: { key: string; maxAttempts: number; at: Date; email: string }): Promise<{ admission: Admission; user: UserRecord | undefined }> {
    const [row] = await rows<Parameters<typeof toUserRecord>[0] & { first_attempt: boolean; id: string | null }>(
      this.db,
      sql`
      with attempt as (${LoginThrottleRepository.firstAttempt(input)})
      select exists (select 1 from attempt) as first_attempt, found.*
      from (select 1) as one
        left join lateral (select ${USER_WITH_GRANTS} from users u where u.email = ${input.email}) as found on true`,
    );
    const user = row?.id ? toUserRecord(row) : undefined;
    if (row?.first_attempt) return { admission: { admitted: true }, user };
    const throttles = new LoginThrottleRepository(this.db);
    return { admission: (await throttles.decideUnderLock(input)) ?? (await throttles.admit(input)), user };
  }
}
