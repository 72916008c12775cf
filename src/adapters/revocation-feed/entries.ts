// The revocation feed's entries and the in-memory set a verify is answered
// from. Plain data, no I/O: the Durable Object, the isolates' copies and the
// Postgres fallback all speak it. How the feed works: docs/sessions.md.
import { CLOCK_TOLERANCE_SECONDS } from "../../core/clock";
import type { Revocation, TokenToCheck } from "../../features/sessions/store";

/** One revocation as the feed carries it, with when it was made (epoch ms). */
export type FeedEntry = Revocation & { at: number };

/**
 * Every entry younger than the retention, as of `takenAt` (epoch ms), and the
 * position the source had reached (`head`: equal heads, equal entries).
 * `complete: false`: the Durable Object has not read the Postgres log since
 * it started, so a change whose append was lost may be missing; the reader
 * reads the log too.
 */
export type FeedSnapshot = { head: string; takenAt: number; entries: FeedEntry[]; complete?: boolean };

/**
 * How long an entry is kept: a token issued before the change it records is
 * refused by verify once its age passes the lifetime plus the clock
 * tolerance; the extra tolerance covers a refresh that read the old grants
 * just before the change and signed just after it.
 */
export function retentionMs(accessTokenTtl: number): number {
  return (accessTokenTtl + 2 * CLOCK_TOLERANCE_SECONDS) * 1000;
}

/** The version an entry's subject must reach, for `user` and `org`; 0 for a session. */
export function versionOf(entry: Revocation): number {
  return entry.kind === "session" ? 0 : entry.version;
}

/**
 * The revocations one isolate knows, answering a token in three map lookups.
 * Entries only add: a session once ended stays ended, versions only grow, so
 * merging copies from any source in any order is safe. An entry leaves only
 * once it is older than the retention.
 */
export class RevocationSet {
  /** session id -> when it ended. */
  private readonly sessions = new Map<string, number>();
  /** user or organization id -> [the version tokens must reach, when it was raised]. */
  private readonly users = new Map<string, [number, number]>();
  private readonly orgs = new Map<string, [number, number]>();

  constructor(private readonly retention: number) {}

  add(entry: FeedEntry): void {
    if (entry.kind === "session") {
      this.sessions.set(entry.subject, Math.max(entry.at, this.sessions.get(entry.subject) ?? 0));
      return;
    }
    const map = entry.kind === "user" ? this.users : this.orgs;
    const known = map.get(entry.subject);
    if (!known || known[0] < entry.version) map.set(entry.subject, [entry.version, entry.at]);
  }

  refuses(token: TokenToCheck): boolean {
    if (this.sessions.has(token.sid)) return true;
    const user = this.users.get(token.sub);
    if (user && token.grantsVersion < user[0]) return true;
    const org = token.org && this.orgs.get(token.org.id);
    return org !== undefined && token.org!.version < org[0];
  }

  /** Drops what no token that could still verify needs. */
  prune(now: number): void {
    const oldest = now - this.retention;
    for (const [id, at] of this.sessions) if (at < oldest) this.sessions.delete(id);
    for (const map of [this.users, this.orgs]) for (const [id, [, at]] of map) if (at < oldest) map.delete(id);
  }

  get size(): number {
    return this.sessions.size + this.users.size + this.orgs.size;
  }
}
