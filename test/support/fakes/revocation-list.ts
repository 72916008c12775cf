// A RevocationList that records what reaches it and answers `refuses` from
// what it recorded, as the edge list would once every write has propagated.
import type { RevocationList } from "../../../src/services/ports";

export class RecordingRevocationList implements RevocationList {
  /** Each revoke call's ids, in order. */
  readonly revokeCalls: string[][] = [];
  /** Each markGrantsChanged call's changes, in order. */
  readonly grantsCalls: { userId: string; grantsVersion: number }[][] = [];

  /** Every session id revoked so far, deduplicated, in first-seen order. */
  get revoked(): string[] {
    return [...new Set(this.revokeCalls.flat())];
  }

  /** The latest grants version recorded for a user (0: none). */
  grantsVersionOf(userId: string): number {
    return Math.max(0, ...this.grantsCalls.flat().filter((c) => c.userId === userId).map((c) => c.grantsVersion));
  }

  async refuses(token: { sid: string; sub: string; grantsVersion: number }): Promise<boolean> {
    return this.revoked.includes(token.sid) || token.grantsVersion < this.grantsVersionOf(token.sub);
  }

  async revoke(sessionIds: readonly string[]): Promise<void> {
    this.revokeCalls.push([...sessionIds]);
  }

  async markGrantsChanged(changes: readonly { userId: string; grantsVersion: number }[]): Promise<void> {
    this.grantsCalls.push(changes.map((c) => ({ ...c })));
  }
}
