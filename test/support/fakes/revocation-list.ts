// A RevocationList that records what is published to it and answers
// `refuses` from what it recorded, as every isolate's copy of the feed would
// once the entries reached it.
import type { Revocation, RevocationList, TokenToCheck } from "../../../src/features/sessions/store";

export class RecordingRevocationList implements RevocationList {
  /** Each publish call's entries, in order. */
  readonly publishCalls: Revocation[][] = [];

  /** Each call's ended session ids, for the calls that ended any, in order. */
  get sessionCalls(): string[][] {
    return this.publishCalls
      .map((call) => call.filter((entry) => entry.kind === "session").map((entry) => entry.subject))
      .filter((ids) => ids.length > 0);
  }

  /** Each call's raised grants versions, for the calls that raised any, in order. */
  get grantsCalls(): { userId: string; grantsVersion: number }[][] {
    return this.publishCalls
      .map((call) =>
        call.flatMap((entry) =>
          entry.kind === "user" ? [{ userId: entry.subject, grantsVersion: entry.version }] : [],
        ),
      )
      .filter((changes) => changes.length > 0);
  }

  /** Every session id ended so far, deduplicated, in first-seen order. */
  get ended(): string[] {
    return [...new Set(this.sessionCalls.flat())];
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

  async refuses(token: TokenToCheck): Promise<boolean> {
    return this.ended.includes(token.sid) || token.grantsVersion < this.grantsVersionOf(token.sub);
  }

  async publish(revocations: readonly Revocation[]): Promise<void> {
    this.publishCalls.push(revocations.map((entry) => ({ ...entry })));
  }
}
