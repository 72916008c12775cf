// One isolate's copy of the revocation feed: every verify is answered from
// memory, with no storage read. A copy older than a second is refreshed in
// the background; one older than the freshness bound (an isolate that sat
// idle) before the answer. A refresh reads the location's shared snapshot
// (Cache API, one second long), else the Durable Object, else the Postgres
// log; only when both stores fail past the freshness bound does a verify
// fail, closed (503). How it fits together: docs/sessions.md.
import { withTimeout } from "../../core/timeout";
import { describeError, ServiceUnavailable } from "../../core/errors";
import type { Revocation, RevocationList, TokenToCheck } from "../../features/sessions/store";
import { type FeedEntry, type FeedSnapshot, RevocationSet, retentionMs } from "./entries";

/** A copy older than this is refreshed in the background while it still answers. */
export const BACKGROUND_REFRESH_MS = 1000;
/** How long the location's shared snapshot is used. */
export const SHARED_SNAPSHOT_MS = 1000;
/** How long a publish waits for the Durable Object before leaving the entry to the log's drain. */
const APPEND_TIMEOUT_MS = 2000;
/** How often the copy drops entries past the retention. */
const PRUNE_EVERY_MS = 10_000;

/** The Durable Object as an isolate sees it. */
export type FeedClient = {
  snapshot(): Promise<FeedSnapshot>;
  append(entries: FeedEntry[]): Promise<unknown>;
};

/** The snapshot the isolates of one location share. */
export type SnapshotCache = {
  get(): Promise<FeedSnapshot | undefined>;
  put(snapshot: FeedSnapshot): Promise<void>;
  /** Drops it, so the location's next refresh reads the feed. */
  clear(): Promise<void>;
};

export type FeedReaderDeps = {
  feed: FeedClient;
  /** The log's entries made after `since` (epoch ms), read from Postgres. */
  log(since: number): Promise<FeedEntry[]>;
  cache: SnapshotCache;
  /** ACCESS_TOKEN_TTL, seconds: how long entries matter. */
  accessTokenTtl: number;
  /** REVOCATION_FRESHNESS, seconds: past it, a verify waits for a refresh. */
  freshness: number;
  /** Keeps work going after the response (the Workers runtime's waitUntil). */
  defer(work: Promise<unknown>): void;
  /** Wall-clock ms; replaceable in unit tests. */
  now?: () => number;
};

export class FeedRevocationList implements RevocationList {
  private readonly set: RevocationSet;
  private readonly now: () => number;
  private readonly retention: number;
  private readonly freshnessMs: number;
  /** As of when the copy is complete (its last snapshot's takenAt); 0: never read. */
  private readAt = 0;
  private head = "";
  /** When a background refresh started; 0: none running. */
  private refreshingSince = 0;
  private prunedAt = 0;

  constructor(private readonly deps: FeedReaderDeps) {
    this.now = deps.now ?? Date.now;
    this.retention = retentionMs(deps.accessTokenTtl);
    this.freshnessMs = deps.freshness * 1000;
    this.set = new RevocationSet(this.retention);
  }

  async refuses(token: TokenToCheck): Promise<boolean> {
    const now = this.refusesNow(token);
    if (now !== undefined) return now;
    await this.refresh(true);
    return this.set.refuses(token);
  }

  /**
   * refuses without a turn of the event loop while the copy is within the freshness bound (a background refresh
   * started as refuses starts it); undefined when it is not, and the answer must wait for a refresh (refuses).
   */
  refusesNow(token: TokenToCheck): boolean | undefined {
    const now = this.now();
    const age = now - this.readAt;
    if (age >= this.freshnessMs) return undefined;
    if (age >= BACKGROUND_REFRESH_MS && now - this.refreshingSince >= this.freshnessMs) {
      this.refreshingSince = now;
      this.deps.defer(this.refresh(false).finally(() => (this.refreshingSince = 0)));
    }
    return this.set.refuses(token);
  }

  /**
   * Applies the change here at once, then appends it to the feed and drops
   * the location's shared snapshot, so the location's isolates read it on
   * their next refresh and every other location within about two seconds.
   * The caller's answer waits for the append (bounded): a client told its
   * session ended can rely on it. A failed append is logged; the feed's
   * alarm drains the log row the change's own transaction wrote.
   */
  async publish(revocations: readonly Revocation[]): Promise<void> {
    if (revocations.length === 0) return;
    const at = this.now();
    const entries = revocations.map((revocation): FeedEntry => ({ ...revocation, at }));
    for (const entry of entries) this.set.add(entry);
    // Whatever the append does, the location's next refresh reads past the shared snapshot (the feed, or the log).
    await this.deps.cache.clear().catch(() => {});
    try {
      await withTimeout(this.deps.feed.append(entries), APPEND_TIMEOUT_MS);
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "revocation feed append failed; the feed's alarm will drain it from the log",
          entries: entries.length,
          error: describeError(error),
        }),
      );
    }
  }

  /** How many entries this copy holds. */
  get size(): number {
    return this.set.size;
  }

  private async refresh(foreground: boolean): Promise<void> {
    try {
      this.apply(await this.read());
    } catch (error) {
      // Fail closed: past the freshness bound a token that cannot be checked is not accepted (503, retry).
      if (foreground) throw new ServiceUnavailable(error);
      console.error(
        JSON.stringify({ level: "warn", msg: "revocation feed refresh failed", error: describeError(error) }),
      );
    }
  }

  /** The freshest snapshot to be had: the location's, else the feed's, else the log's. */
  private async read(): Promise<FeedSnapshot> {
    const now = this.now();
    const shared = await this.deps.cache.get().catch(() => undefined);
    if (shared && now - shared.takenAt < SHARED_SNAPSHOT_MS && shared.takenAt > this.readAt) return shared;
    let snapshot: FeedSnapshot;
    try {
      snapshot = await this.deps.feed.snapshot();
      if (snapshot.complete === false) {
        // The object has not read the log since it started: what the log holds is added; not shared if unread.
        const logged = await this.deps.log(now - this.retention).catch(() => undefined);
        if (!logged) return snapshot;
        snapshot = {
          head: `${snapshot.head}+log:${now}`,
          takenAt: snapshot.takenAt,
          entries: [...snapshot.entries, ...logged],
        };
      }
    } catch (feedError) {
      try {
        snapshot = { head: `log:${now}`, takenAt: now, entries: await this.deps.log(now - this.retention) };
      } catch (logError) {
        throw new AggregateError([feedError, logError], "neither the revocation feed nor its log could be read");
      }
    }
    await this.deps.cache.put(snapshot).catch(() => {});
    return snapshot;
  }

  private apply(snapshot: FeedSnapshot): void {
    if (snapshot.head !== this.head) {
      for (const entry of snapshot.entries) this.set.add(entry);
      this.head = snapshot.head;
    }
    this.readAt = Math.max(this.readAt, snapshot.takenAt);
    const now = this.now();
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.set.prune(now);
      this.prunedAt = now;
    }
  }
}
