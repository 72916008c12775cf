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
import type { UserRecord } from "../../core/domain";

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
