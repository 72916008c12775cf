// Who may add a way into an account (a second factor, a passkey, a new
// address): its proven holder. Written once for every such operation.
//
// - The address must be verified: whoever registered an address that is not
//   theirs must not plant anything that outlives its owner's recovery
//   (pre-account hijack, UserStore.claimByProof).
// - The caller's session must still be live in the store, not only at the
//   edge: the edge may accept an ended session's access token for the
//   revocation list's bound, and the proof that claims an address ends the
//   unproven holder's sessions in the same commit that verifies it. The user
//   is read before the session, so a caller who sees the address verified by
//   a claim also sees its own session ended.
import { EmailNotVerified, InvalidToken } from "../../core/errors";
import type { SessionStore } from "../sessions/store";
import type { Clock } from "../../core/clock";
import type { UserRecord } from "../../core/domain";
import { requireActiveUser } from "../sign-in/active-user";
import type { UserStore } from "./store";

/** Throws email_not_verified (with `detail`) or invalid_token; `user` must have been read before this call. */
export async function requireProvenHolder(
  sessions: Pick<SessionStore, "listLive">,
  user: UserRecord,
  sessionId: string,
  now: Date,
  detail: string,
): Promise<void> {
  if (!user.emailVerified) throw new EmailNotVerified(detail);
  const live = await sessions.listLive(user.id, now);
  if (!live.some((session) => session.id === sessionId))
    throw new InvalidToken({ cause: new Error("the caller's session has ended") });
}

/** The caller, read, active (invalid_credentials otherwise) and the proven holder of the account, in that order. */
export async function provenHolder(
  deps: { stores: { users: Pick<UserStore, "findById">; sessions: Pick<SessionStore, "listLive"> }; clock: Clock },
  actor: { userId: string; sessionId: string },
  detail: string,
): Promise<UserRecord> {
  const user = await requireActiveUser(deps.stores.users, actor.userId);
  await requireProvenHolder(deps.stores.sessions, user, actor.sessionId, deps.clock(), detail);
  return user;
}
