// One isolate's copy of the revocation feed, over fakes of the Durable
// Object, the location cache and the Postgres log, with a clock the test
// moves: when a verify reads nothing, refreshes in the background, waits for
// a refresh, falls back to the log, and fails closed.
import { describe, expect, it, vi } from "vitest";
import { ServiceUnavailable } from "../../src/core/errors";
import {
  type FeedEntry,
  type FeedSnapshot,
  RevocationSet,
  retentionMs,
} from "../../src/adapters/revocation-feed/entries";
import { FeedRevocationList, type SnapshotCache } from "../../src/adapters/revocation-feed/reader";

const TTL = 600;
const FRESHNESS = 5;

function setup() {
  let now = 1_000_000_000;
  const feedEntries: FeedEntry[] = [];
  const logEntries: FeedEntry[] = [];
  const calls = { snapshot: 0, append: 0, log: 0, cacheGet: 0, cachePut: 0, cacheClear: 0 };
  const down = { feed: false, log: false };
  /** Whether the Durable Object has read the log since it started. */
  const drained = { yes: true };
  let head = 0;
  let shared: FeedSnapshot | undefined;
  const deferred: Promise<unknown>[] = [];
  const cache: SnapshotCache = {
    async get() {
      calls.cacheGet++;
      return shared;
    },
    async put(snapshot) {
      calls.cachePut++;
      shared = snapshot;
    },
    async clear() {
      calls.cacheClear++;
      shared = undefined;
    },
  };
  const list = new FeedRevocationList({
    feed: {
      async snapshot() {
        calls.snapshot++;
        if (down.feed) throw new Error("feed down");
        return { head: `h:${head}`, takenAt: now, entries: [...feedEntries], complete: drained.yes };
      },
      async append(entries) {
        calls.append++;
        if (down.feed) throw new Error("feed down");
        feedEntries.push(...entries);
        head++;
      },
    },
    async log(since) {
      calls.log++;
      if (down.log) throw new Error("log down");
      return logEntries.filter((entry) => entry.at > since);
    },
    cache,
    accessTokenTtl: TTL,
    freshness: FRESHNESS,
    defer: (work) => deferred.push(work),
    now: () => now,
  });
  /** Another location's committed change: in the feed and the log, not yet in this isolate. */
  const elsewhere = (entry: FeedEntry) => {
    feedEntries.push(entry);
    logEntries.push(entry);
    head++;
  };
  /** A committed change whose append was lost: in the log only. */
  const logOnly = (entry: FeedEntry) => logEntries.push(entry);
  return {
    list,
    calls,
    down,
    drained,
    logOnly,
    elsewhere,
    advance: (ms: number) => (now += ms),
    now: () => now,
    setShared: (snapshot: FeedSnapshot | undefined) => (shared = snapshot),
    settle: () => Promise.all(deferred.splice(0)),
  };
}

const token = (sid: string, sub = "user-1", grantsVersion = 0) => ({ sid, sub, grantsVersion });

describe("FeedRevocationList: a verify reads no storage", () => {
  it("answers from memory while the copy is younger than a second: no feed, cache or log read", async () => {
    const t = setup();
    await t.list.refuses(token("a")); // first catch-up of a new isolate
    const reads = { ...t.calls };
    for (let i = 0; i < 100; i++) {
      t.advance(5);
      expect(await t.list.refuses(token(`s${i}`))).toBe(false);
    }
    expect(t.calls).toEqual(reads);
  });

  it(
    "a copy older than a second answers at once from memory and is refreshed " +
      "in the background, once however many verifies come meanwhile",
    async () => {
      const t = setup();
      await t.list.refuses(token("a"));
      t.elsewhere({ kind: "session", subject: "revoked-elsewhere", at: t.now() });
      t.advance(1500);
      expect(await t.list.refuses(token("revoked-elsewhere"))).toBe(false); // the old copy answered
      expect(await t.list.refuses(token("revoked-elsewhere"))).toBe(false);
      expect(t.calls.snapshot).toBe(2); // the catch-up and one background refresh
      await t.settle();
      expect(await t.list.refuses(token("revoked-elsewhere"))).toBe(true);
    },
  );

  it("past the freshness bound (an isolate that sat idle) the verify waits for the refresh", async () => {
    const t = setup();
    await t.list.refuses(token("a"));
    t.elsewhere({ kind: "session", subject: "revoked-while-idle", at: t.now() });
    t.advance(FRESHNESS * 1000);
    expect(await t.list.refuses(token("revoked-while-idle"))).toBe(true);
  });

  it(
    "answers at once (refusesNow) only from a copy within the freshness bound: a new isolate's empty copy or an " +
      "idle one's stale copy says nothing, so a session ended meanwhile is never accepted without a turn",
    async () => {
      const t = setup();
      t.elsewhere({ kind: "session", subject: "ended-before-start", at: t.now() });
      expect(t.list.refusesNow(token("ended-before-start"))).toBeUndefined();
      expect(await t.list.refuses(token("ended-before-start"))).toBe(true);
      expect(t.list.refusesNow(token("ended-before-start"))).toBe(true);
      expect(t.list.refusesNow(token("live"))).toBe(false);
      t.elsewhere({ kind: "session", subject: "revoked-while-idle", at: t.now() });
      t.advance(FRESHNESS * 1000);
      expect(t.list.refusesNow(token("revoked-while-idle"))).toBeUndefined();
      expect(await t.list.refuses(token("revoked-while-idle"))).toBe(true);
    },
  );

  it("a new isolate's first verify waits for its first copy", async () => {
    const t = setup();
    t.elsewhere({ kind: "session", subject: "ended-before-start", at: t.now() });
    expect(await t.list.refuses(token("ended-before-start"))).toBe(true);
  });
});

describe("FeedRevocationList: the location's shared snapshot", () => {
  it("is used instead of the feed while it is younger than a second", async () => {
    const t = setup();
    t.setShared({
      head: "shared",
      takenAt: t.now() - 500,
      entries: [{ kind: "session", subject: "x", at: t.now() }],
    });
    expect(await t.list.refuses(token("x"))).toBe(true);
    expect(t.calls.snapshot).toBe(0);
  });

  it("is not used once a second old by this isolate's clock, and the feed's snapshot replaces it", async () => {
    const t = setup();
    t.setShared({ head: "stale", takenAt: t.now() - 1000, entries: [] });
    t.elsewhere({ kind: "session", subject: "y", at: t.now() });
    expect(await t.list.refuses(token("y"))).toBe(true);
    expect(t.calls.snapshot).toBe(1);
    expect(t.calls.cachePut).toBe(1);
  });
});

describe("FeedRevocationList: publishing", () => {
  it(
    "refuses at once in the isolate that made the change, appends it to the " +
      "feed and drops the location's snapshot",
    async () => {
      const t = setup();
      await t.list.refuses(token("a"));
      await t.list.publish([{ kind: "session", subject: "logged-out" }]);
      expect(await t.list.refuses(token("logged-out"))).toBe(true);
      expect(t.calls).toMatchObject({ append: 1, cacheClear: 1 });
    },
  );

  it("still refuses here, and logs without the entry's id, when the append fails", async () => {
    const t = setup();
    await t.list.refuses(token("a"));
    t.down.feed = true;
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      await t.list.publish([{ kind: "session", subject: "secret-session-id" }]);
      expect(logged).toHaveBeenCalledTimes(1);
      expect(String(logged.mock.calls[0])).not.toContain("secret-session-id");
    } finally {
      logged.mockRestore();
    }
    expect(await t.list.refuses(token("secret-session-id"))).toBe(true);
  });

  it("a grants-version entry refuses the user's older tokens and accepts the new version", async () => {
    const t = setup();
    await t.list.publish([{ kind: "user", subject: "user-1", version: 3 }]);
    expect(await t.list.refuses(token("s", "user-1", 2))).toBe(true);
    expect(await t.list.refuses(token("s", "user-1", 3))).toBe(false);
    expect(await t.list.refuses(token("s", "user-2", 0))).toBe(false);
  });

  it("an organization-version entry refuses tokens of that organization carrying an older version", async () => {
    const t = setup();
    await t.list.publish([{ kind: "org", subject: "org-1", version: 2 }]);
    expect(await t.list.refuses({ ...token("s"), org: { id: "org-1", version: 1 } })).toBe(true);
    expect(await t.list.refuses({ ...token("s"), org: { id: "org-1", version: 2 } })).toBe(false);
    expect(await t.list.refuses({ ...token("s"), org: { id: "org-2", version: 0 } })).toBe(false);
    expect(await t.list.refuses(token("s"))).toBe(false);
  });
});

describe("FeedRevocationList: a Durable Object that has not read the log since it started", () => {
  it("has its snapshot completed from the Postgres log: a change whose append was lost is refused", async () => {
    const t = setup();
    t.drained.yes = false;
    t.logOnly({ kind: "session", subject: "append-lost", at: t.now() });
    expect(await t.list.refuses(token("append-lost"))).toBe(true);
    expect(t.calls.log).toBe(1);
  });

  it("is not shared with the location while the log cannot be read to complete it", async () => {
    const t = setup();
    t.drained.yes = false;
    t.down.log = true;
    expect(await t.list.refuses(token("a"))).toBe(false);
    expect(t.calls.cachePut).toBe(0);
  });
});

describe("FeedRevocationList: when the Durable Object is unreachable", () => {
  it("reads the entries from the Postgres log instead", async () => {
    const t = setup();
    t.down.feed = true;
    t.elsewhere({ kind: "session", subject: "from-the-log", at: t.now() });
    expect(await t.list.refuses(token("from-the-log"))).toBe(true);
    expect(t.calls.log).toBe(1);
  });

  it(
    "when the log fails too, answers from its copy within the freshness bound " +
      "and fails closed (ServiceUnavailable) past it",
    async () => {
      const t = setup();
      await t.list.publish([{ kind: "session", subject: "known" }]);
      await t.list.refuses(token("a"));
      t.down.feed = true;
      t.down.log = true;
      const logged = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        t.advance(FRESHNESS * 1000 - 1);
        expect(await t.list.refuses(token("known"))).toBe(true);
        expect(await t.list.refuses(token("other"))).toBe(false);
        await t.settle(); // the background refresh failed, logged
        t.advance(1);
        await expect(t.list.refuses(token("other"))).rejects.toBeInstanceOf(ServiceUnavailable);
        t.down.log = false;
        expect(await t.list.refuses(token("known"))).toBe(true);
      } finally {
        logged.mockRestore();
      }
    },
  );
});

describe("RevocationSet", () => {
  it("keeps an entry for the access-token lifetime plus twice the clock tolerance, then drops it", () => {
    const set = new RevocationSet(retentionMs(TTL));
    set.add({ kind: "session", subject: "s", at: 0 });
    set.add({ kind: "user", subject: "u", version: 1, at: 0 });
    set.prune(retentionMs(TTL));
    expect(set.refuses(token("s", "u", 0))).toBe(true);
    set.prune(retentionMs(TTL) + 1);
    expect(set.refuses(token("s", "u", 0))).toBe(false);
    expect(retentionMs(TTL)).toBe((TTL + 60) * 1000);
  });

  it("merges copies in any order: versions only grow, an ended session stays ended", () => {
    const set = new RevocationSet(retentionMs(TTL));
    set.add({ kind: "user", subject: "u", version: 5, at: 10 });
    set.add({ kind: "user", subject: "u", version: 4, at: 20 });
    expect(set.refuses(token("s", "u", 4))).toBe(true);
    expect(set.refuses(token("s", "u", 5))).toBe(false);
  });
});
