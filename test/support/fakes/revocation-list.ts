// A RevocationList that records what reaches it and answers `refuses` from
// what it recorded, as the edge list would once every write has propagated
// (the sessions-ended rule is the real one, revocation-list.ts markRefuses).
import type { RevocationList, SessionsEnded, TokenToCheck } from "../../../src/features/sessions/store";
import { markRefuses, mergeMarks, type SessionsEndedMark } from "../../../src/adapters/revocation-list";

export class RecordingRevocationList implements RevocationList {
  /** Each revoke call's ids, in order. */
  readonly revokeCalls: string[][] = [];
  /** Each markGrantsChanged call's changes, in order. */
  readonly grantsCalls: { userId: string; grantsVersion: number }[][] = [];
  /** Each endSessionsOf call: the user and the mark, in order. */
  readonly endSessionsCalls: { userId: string; before: Date; except?: string; ended: string[] }[] = [];

  /** Every session id revoked so far one by one, deduplicated, in first-seen order. */
  get revoked(): string[] {
    return [...new Set(this.revokeCalls.flat())];
  }

  /** Every session id ended so far, one by one or by a user's mark, deduplicated, in first-seen order. */
  get ended(): string[] {
    return [...new Set([...this.revokeCalls.flat(), ...this.endSessionsCalls.flatMap((c) => c.ended)])];
  }

  /** The latest grants version recorded for a user (0: none). */
  grantsVersionOf(userId: string): number {
    return Math.max(
      0,
      ...this.grantsCalls
        .flat()
        .filter((c) => c.userId === userId)
        .map((c) => c.grantsVersion),
    );
  }

  /**
   * The user's marks as one, as KV would hold them. Every ended session is listed (a superset of what the real list
   * keeps).
   */
  markOf(userId: string): SessionsEndedMark | null {
    return this.endSessionsCalls
      .filter((c) => c.userId === userId)
      .reduce<SessionsEndedMark | null>(
        (mark, c) =>
          mergeMarks(mark, { before: c.before.getTime(), ...(c.except === undefined ? {} : { except: c.except }) }),
        null,
      );
  }

  async refuses(token: TokenToCheck): Promise<boolean> {
    const mark = this.markOf(token.sub);
    return (
      this.ended.includes(token.sid) ||
      token.grantsVersion < this.grantsVersionOf(token.sub) ||
      (mark !== null && markRefuses(mark, token))
    );
  }

  async revoke(sessionIds: readonly string[]): Promise<void> {
    this.revokeCalls.push([...sessionIds]);
  }

  async endSessionsOf(userId: string, mark: SessionsEnded): Promise<void> {
    this.endSessionsCalls.push({
      userId,
      before: new Date(mark.before),
      ...(mark.except === undefined ? {} : { except: mark.except }),
      ended: mark.ended.map((s) => s.id),
    });
  }

  async markGrantsChanged(changes: readonly { userId: string; grantsVersion: number }[]): Promise<void> {
    this.grantsCalls.push(changes.map((c) => ({ ...c })));
  }
}
