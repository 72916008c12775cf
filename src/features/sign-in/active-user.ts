// The one check every way in makes, written once: the account must still
// exist and be active. Each caller names what a gone or disabled account
// answers (invalid_credentials unless it says otherwise), so the answers stay
// as each endpoint documents them.
import type { UserRecord } from "../../core/domain";
import { InvalidCredentials } from "../../core/errors";
import type { UserStore } from "../accounts/store";

/** What the active-user check answers for a gone or disabled user, unless the caller names its own error. */
export const USER_GONE = "user gone or disabled";

/** The user behind `userId` if the account is active; else `refuse` (invalid_credentials by default) is thrown. */
export async function requireActiveUser(
  users: Pick<UserStore, "findById">,
  userId: string,
  refuse: (reason: string) => Error = (reason) => new InvalidCredentials(reason),
): Promise<UserRecord> {
  const user = await users.findById(userId);
  if (!isActive(user)) throw refuse(USER_GONE);
  return user;
}

/** Whether a looked-up user exists and may sign in. */
export function isActive(user: UserRecord | undefined): user is UserRecord {
  return user?.status === "active";
}
