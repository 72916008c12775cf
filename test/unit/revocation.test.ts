// The edge revocation list with a fake KV and clock: when a revocation takes
// effect in this isolate, in another isolate, and how long entries live.
import { describe, expect, it } from "vitest";
import { CONFIRMED_LIVE_REUSE_MS, markRefuses, SessionRevocationList } from "../../src/adapters/revocation-list";

function fakeKv() {
  const data = new Map<string, { value: string; ttl?: number }>();
  let reads = 0;
  let writes = 0;
  const kv = {
    /** One read, for one key or a bulk get of many (KV's own accounting). */
    async get(key: string | string[]) {
      reads++;
      if (Array.isArray(key)) return new Map(key.map((k) => [k, data.get(k)?.value ?? null]));
      return data.get(key)?.value ?? null;
    },
    async put(key: string, value: string, options?: { expirationTtl?: number }) {
      writes++;
      data.set(key, { value, ttl: options?.expirationTtl });
    },
  } as unknown as KVNamespace;
  return { kv, data, reads: () => reads, writes: () => writes };
}

describe("SessionRevocationList", () => {
  it("reads KV once for a session and user this isolate has not seen, and not again within a second", async () => {
    const { kv, reads } = fakeKv();
    let now = 5_000_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const token = { sid: crypto.randomUUID(), sub: crypto.randomUUID(), grantsVersion: 0, iat: Math.floor(now / 1000) };
    expect(await list.refuses(token)).toBe(false);
    expect(reads()).toBe(1);
    expect(await list.refuses(token)).toBe(false);
    expect(reads()).toBe(1);
    now += CONFIRMED_LIVE_REUSE_MS;
    expect(await list.refuses(token)).toBe(false);
    expect(reads()).toBe(2);
    // Another session of a user already seen: one read, of the session's key alone.
    expect(await list.refuses({ ...token, sid: crypto.randomUUID() })).toBe(false);
    expect(reads()).toBe(3);
  });

  it(
    "still refuses from that one read what another isolate wrote: an ended " +
      "session, a newer grants version, a sessions-ended mark",
    async () => {
      const { kv, data, reads } = fakeKv();
      const now = 7_000_000;
      const list = new SessionRevocationList(kv, 600, () => now);
      const token = () => ({
        sid: crypto.randomUUID(),
        sub: crypto.randomUUID(),
        grantsVersion: 0,
        iat: Math.floor(now / 1000) - 5,
      });

      const ended = token();
      data.set(`revoked-session:${ended.sid}`, { value: "1" });
      const regranted = token();
      data.set(`grants-version:${regranted.sub}`, { value: "3" });
      const signedOutEverywhere = token();
      data.set(`sessions-ended:${signedOutEverywhere.sub}`, { value: JSON.stringify({ before: now }) });

      for (const [refused, expected] of [
        [ended, true],
        [regranted, true],
        [signedOutEverywhere, true],
        [token(), false],
      ] as const) {
        const before = reads();
        expect(await list.refuses(refused)).toBe(expected);
        expect(reads() - before).toBe(1);
      }
      expect(await list.refuses({ ...regranted, sid: crypto.randomUUID(), grantsVersion: 3 })).toBe(false);
    },
  );

  it("refuses a session at once in the isolate that revoked it, even right after a live answer", async () => {
    const { kv } = fakeKv();
    let now = 1_000_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const sid = crypto.randomUUID();
    expect(await list.isRevoked(sid)).toBe(false);
    await list.revoke([sid]);
    expect(await list.isRevoked(sid)).toBe(true);
    now += 1;
    expect(await list.isRevoked(sid)).toBe(true);
  });

  it(
    "answers a token seen live from memory, and still refuses it at once " +
      "after a revocation, a role change or a sign-out-everywhere made here",
    async () => {
      const { kv, reads } = fakeKv();
      const now = 3_000_000_000;
      const list = new SessionRevocationList(kv, 600, () => now);
      const seen = () => ({
        sid: crypto.randomUUID(),
        sub: crypto.randomUUID(),
        grantsVersion: 0,
        iat: Math.floor(now / 1000) - 5,
      });
      const [revoked, regranted, signedOut] = [seen(), seen(), seen()];
      for (const token of [revoked, regranted, signedOut]) expect(await list.refuses(token)).toBe(false);
      const afterFirstLook = reads();
      for (const token of [revoked, regranted, signedOut]) expect(await list.refuses(token)).toBe(false);
      expect(reads()).toBe(afterFirstLook);

      await list.revoke([revoked.sid]);
      await list.markGrantsChanged([{ userId: regranted.sub, grantsVersion: 1 }]);
      await list.endSessionsOf(signedOut.sub, {
        before: new Date(now),
        ended: [{ id: signedOut.sid, lastUsedAt: new Date(now - 1000) }],
      });
      const afterChanges = reads();
      for (const token of [revoked, regranted, signedOut]) expect(await list.refuses(token)).toBe(true);
      expect(reads()).toBe(afterChanges);
      // The user's new tokens pass: a current grants version, a session started after the mark.
      expect(await list.refuses({ ...regranted, grantsVersion: 1 })).toBe(false);
      expect(await list.refuses({ ...signedOut, sid: crypto.randomUUID(), iat: Math.floor(now / 1000) + 1 })).toBe(
        false,
      );
    },
  );

  it("sees another isolate's revocation within the reuse bound, never later", async () => {
    const { kv, data } = fakeKv();
    let now = 2_000_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const sid = crypto.randomUUID();
    expect(await list.isRevoked(sid)).toBe(false);
    // Another isolate writes KV directly.
    data.set(`revoked-session:${sid}`, { value: "1" });
    now += CONFIRMED_LIVE_REUSE_MS - 1;
    expect(await list.isRevoked(sid)).toBe(false);
    now += 1;
    expect(await list.isRevoked(sid)).toBe(true);
  });

  it("reads KV at most once per session per reuse window", async () => {
    const { kv, reads } = fakeKv();
    let now = 3_000_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const sid = crypto.randomUUID();
    for (let i = 0; i < 50; i++) await list.isRevoked(sid);
    expect(reads()).toBe(1);
    now += CONFIRMED_LIVE_REUSE_MS;
    await list.isRevoked(sid);
    expect(reads()).toBe(2);
  });

  it("keeps a revocation in KV for the access-token lifetime plus the clock tolerance", async () => {
    const { kv, data } = fakeKv();
    const sid = crypto.randomUUID();
    await new SessionRevocationList(kv, 600).revoke([sid, sid]);
    expect(data.get(`revoked-session:${sid}`)).toEqual({ value: "1", ttl: 630 });
    // KV refuses TTLs under 60 s.
    const short = crypto.randomUUID();
    await new SessionRevocationList(kv, 5).revoke([short]);
    expect(data.get(`revoked-session:${short}`)?.ttl).toBe(60);
  });
});

describe("SessionRevocationList: role changes", () => {
  it("refuses tokens carrying an older grants version than the user's latest, and accepts current ones", async () => {
    const { kv } = fakeKv();
    const list = new SessionRevocationList(kv, 600, () => 1_700_000_000_500);
    const user = crypto.randomUUID();
    const sid = crypto.randomUUID();
    expect(await list.refuses({ sid, sub: user, grantsVersion: 0, iat: 1_700_000_000 })).toBe(false);
    await list.markGrantsChanged([{ userId: user, grantsVersion: 3 }]);
    expect(await list.refuses({ sid, sub: user, grantsVersion: 2, iat: 1_700_000_000 })).toBe(true);
    expect(await list.refuses({ sid, sub: user, grantsVersion: 3, iat: 1_700_000_000 })).toBe(false);
    expect(await list.refuses({ sid, sub: crypto.randomUUID(), grantsVersion: 0, iat: 1_700_000_000 })).toBe(false);
  });

  it("sees another isolate's role change within the reuse bound", async () => {
    const { kv, data } = fakeKv();
    let now = 1_700_000_100_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const user = crypto.randomUUID();
    const token = { sid: crypto.randomUUID(), sub: user, grantsVersion: 1, iat: 1_700_000_000 };
    expect(await list.refuses(token)).toBe(false);
    data.set(`grants-version:${user}`, { value: "2" });
    now += CONFIRMED_LIVE_REUSE_MS - 1;
    expect(await list.refuses(token)).toBe(false);
    now += 1;
    expect(await list.refuses(token)).toBe(true);
  });

  it("never lowers a version it wrote because of a slower, older read", async () => {
    const { kv, data } = fakeKv();
    let now = 1_700_000_200_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const user = crypto.randomUUID();
    await list.markGrantsChanged([{ userId: user, grantsVersion: 5 }]);
    data.set(`grants-version:${user}`, { value: "4" });
    now += CONFIRMED_LIVE_REUSE_MS;
    expect(await list.refuses({ sid: crypto.randomUUID(), sub: user, grantsVersion: 4, iat: 1_700_000_000 })).toBe(
      true,
    );
  });
});

describe("SessionRevocationList: writing to KV", () => {
  it(
    "writes a session once, however often it is revoked in a row (KV takes " + "one write per key per second)",
    async () => {
      const { kv } = fakeKv();
      let puts = 0;
      const counting = {
        get: kv.get.bind(kv),
        put: async (...args: Parameters<KVNamespace["put"]>) => {
          puts++;
          return kv.put(...args);
        },
      } as unknown as KVNamespace;
      const list = new SessionRevocationList(counting, 600, () => 5_000_000);
      const sid = crypto.randomUUID();
      await list.revoke([sid, sid]);
      await list.revoke([sid]);
      expect(puts).toBe(1);
      expect(await list.isRevoked(sid)).toBe(true);
    },
  );

  it("does not fail when KV refuses a write; this isolate still refuses the session", async () => {
    const failing = {
      get: async () => null,
      put: async () => {
        throw new Error("KV PUT failed: 429 Too Many Requests");
      },
    } as unknown as KVNamespace;
    const list = new SessionRevocationList(failing, 600, () => 6_000_000);
    const sid = crypto.randomUUID();
    await expect(list.revoke([sid])).resolves.toBeUndefined();
    expect(await list.isRevoked(sid)).toBe(true);
    await expect(list.markGrantsChanged([{ userId: crypto.randomUUID(), grantsVersion: 1 }])).resolves.toBeUndefined();
  });
});

describe("SessionRevocationList: ending many sessions with one mark per user", () => {
  /** `count` ended sessions, last used `agoMs` before `at`. */
  const endedSessions = (count: number, at: number, agoMs: number) =>
    Array.from({ length: count }, () => ({ id: crypto.randomUUID(), lastUsedAt: new Date(at - agoMs) }));
  const seconds = (ms: number) => Math.floor(ms / 1000);

  it(
    "stops 2,000 KV writes for one sign-out-everywhere: one write refuses " +
      "every other session's earlier token and keeps the current one",
    async () => {
      const { kv, data, writes } = fakeKv();
      const now = 1_800_000_000_250;
      const list = new SessionRevocationList(kv, 600, () => now);
      const user = crypto.randomUUID();
      const current = crypto.randomUUID();
      const ended = endedSessions(2000, now, 5 * 60_000);
      await list.endSessionsOf(user, { before: new Date(now), except: current, ended });
      expect(writes()).toBe(1);
      expect([...data.keys()]).toEqual([`sessions-ended:${user}`]);
      for (const { id } of [ended[0]!, ended[1999]!])
        expect(await list.refuses({ sid: id, sub: user, grantsVersion: 0, iat: seconds(now) - 120 })).toBe(true);
      expect(await list.refuses({ sid: current, sub: user, grantsVersion: 0, iat: seconds(now) - 120 })).toBe(false);
      // Another user's tokens are untouched.
      expect(
        await list.refuses({ sid: ended[0]!.id, sub: crypto.randomUUID(), grantsVersion: 0, iat: seconds(now) - 120 }),
      ).toBe(false);
    },
  );

  it("does not lock out a sign-in right after the mark, even within the mark's own second", async () => {
    const { kv } = fakeKv();
    const now = 1_800_000_010_100;
    const list = new SessionRevocationList(kv, 600, () => now);
    const user = crypto.randomUUID();
    await list.endSessionsOf(user, { before: new Date(now), ended: endedSessions(3, now, 60_000) });
    const fresh = crypto.randomUUID();
    expect(await list.refuses({ sid: fresh, sub: user, grantsVersion: 0, iat: seconds(now) })).toBe(false);
    expect(await list.refuses({ sid: fresh, sub: user, grantsVersion: 0, iat: seconds(now) + 1 })).toBe(false);
    // Issued a second earlier: before the mark, whatever its session.
    expect(await list.refuses({ sid: fresh, sub: user, grantsVersion: 0, iat: seconds(now) - 1 })).toBe(true);
  });

  it(
    "stops a token issued in the mark's own second, just before it, by an " +
      "ended session (refreshed, or replayed within the grace window)",
    async () => {
      const { kv, data } = fakeKv();
      const now = 1_800_000_020_900;
      const list = new SessionRevocationList(kv, 600, () => now, 10);
      const user = crypto.randomUUID();
      const refreshedJustNow = { id: crypto.randomUUID(), lastUsedAt: new Date(now - 300) };
      const graceReplay = { id: crypto.randomUUID(), lastUsedAt: new Date(now - 9_000) };
      const longIdle = { id: crypto.randomUUID(), lastUsedAt: new Date(now - 3_600_000) };
      await list.endSessionsOf(user, { before: new Date(now), ended: [longIdle, refreshedJustNow, graceReplay] });
      for (const s of [refreshedJustNow, graceReplay])
        expect(await list.refuses({ sid: s.id, sub: user, grantsVersion: 0, iat: seconds(now) })).toBe(true);
      // A session idle for an hour has no token from that second: the iat rule covers its older ones, and it is not
      // listed.
      expect(await list.refuses({ sid: longIdle.id, sub: user, grantsVersion: 0, iat: seconds(now) - 500 })).toBe(true);
      const stored = JSON.parse(data.get(`sessions-ended:${user}`)!.value) as { before: number; ended: string[] };
      expect(stored).toEqual({ before: now, ended: [refreshedJustNow.id, graceReplay.id] });
    },
  );

  it(
    "keeps the mark in KV for the access-token lifetime plus twice the clock " + "tolerance (iat may run 30 s ahead)",
    async () => {
      const { kv, data } = fakeKv();
      const user = crypto.randomUUID();
      const now = 1_800_000_030_000;
      await new SessionRevocationList(kv, 600, () => now).endSessionsOf(user, {
        before: new Date(now),
        ended: endedSessions(1, now, 1000),
      });
      expect(data.get(`sessions-ended:${user}`)?.ttl).toBe(660);
    },
  );

  it("writes nothing when nothing ended", async () => {
    const { kv, writes } = fakeKv();
    await new SessionRevocationList(kv, 600).endSessionsOf(crypto.randomUUID(), {
      before: new Date(),
      except: crypto.randomUUID(),
      ended: [],
    });
    expect(writes()).toBe(0);
  });

  it("sees another isolate's mark within the reuse bound, reading KV once per user per second", async () => {
    const { kv, data, reads } = fakeKv();
    let now = 1_800_000_040_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const user = crypto.randomUUID();
    const token = { sid: crypto.randomUUID(), sub: user, grantsVersion: 0, iat: seconds(now) - 60 };
    expect(await list.refuses(token)).toBe(false);
    const readsAfterFirst = reads();
    data.set(`sessions-ended:${user}`, { value: JSON.stringify({ before: now }) });
    now += CONFIRMED_LIVE_REUSE_MS - 1;
    for (let i = 0; i < 20; i++) expect(await list.refuses(token)).toBe(false);
    expect(reads()).toBe(readsAfterFirst);
    now += 1;
    expect(await list.refuses(token)).toBe(true);
  });

  it(
    "a later mark replaces an earlier one safely: what the earlier refused " +
      "stays refused but the later's current session, whose own session the " +
      "earlier kept",
    async () => {
      const { kv } = fakeKv();
      let now = 1_800_000_050_000;
      const list = new SessionRevocationList(kv, 600, () => now);
      const user = crypto.randomUUID();
      const [kept1, gone1] = [crypto.randomUUID(), crypto.randomUUID()];
      const firstMark = now;
      await list.endSessionsOf(user, {
        before: new Date(firstMark),
        except: kept1,
        ended: [{ id: gone1, lastUsedAt: new Date(now - 120_000) }],
      });
      // A session opened after the first mark signs out everywhere else, ending kept1 too.
      now += 60_000;
      const kept2 = crypto.randomUUID();
      await list.endSessionsOf(user, {
        before: new Date(now),
        except: kept2,
        ended: [{ id: kept1, lastUsedAt: new Date(now - 30_000) }],
      });
      expect(await list.refuses({ sid: gone1, sub: user, grantsVersion: 0, iat: seconds(firstMark) - 200 })).toBe(true);
      expect(await list.refuses({ sid: kept1, sub: user, grantsVersion: 0, iat: seconds(now) - 40 })).toBe(true);
      expect(await list.refuses({ sid: kept2, sub: user, grantsVersion: 0, iat: seconds(firstMark) + 5 })).toBe(false);
      // Read back from KV by another isolate, the same.
      const elsewhere = new SessionRevocationList(kv, 600, () => now + CONFIRMED_LIVE_REUSE_MS);
      expect(await elsewhere.refuses({ sid: kept1, sub: user, grantsVersion: 0, iat: seconds(now) - 40 })).toBe(true);
    },
  );

  it(
    "a later mark within the clock tolerance carries over the sessions the " +
      "earlier one listed, even when only KV knew the earlier one",
    async () => {
      const { kv, data } = fakeKv();
      const now = 1_800_000_060_500;
      const list = new SessionRevocationList(kv, 600, () => now);
      const user = crypto.randomUUID();
      const listed = crypto.randomUUID();
      // Written by another isolate a second ago, listing a session with a token from its own second.
      data.set(`sessions-ended:${user}`, { value: JSON.stringify({ before: now - 1000, ended: [listed] }) });
      await list.endSessionsOf(user, { before: new Date(now), ended: endedSessions(1, now, 600_000) });
      expect(await list.refuses({ sid: listed, sub: user, grantsVersion: 0, iat: seconds(now) })).toBe(true);
      expect(JSON.parse(data.get(`sessions-ended:${user}`)!.value)).toMatchObject({ before: now, ended: [listed] });
    },
  );

  it("never replaces a mark it wrote with an older one read later", async () => {
    const { kv, data } = fakeKv();
    let now = 1_800_000_070_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const user = crypto.randomUUID();
    await list.endSessionsOf(user, { before: new Date(now), ended: endedSessions(1, now, 1000) });
    data.set(`sessions-ended:${user}`, { value: JSON.stringify({ before: now - 50_000 }) });
    now += CONFIRMED_LIVE_REUSE_MS;
    expect(await list.refuses({ sid: crypto.randomUUID(), sub: user, grantsVersion: 0, iat: seconds(now) - 10 })).toBe(
      true,
    );
  });
});

describe("the sessions-ended rule", () => {
  const before = 1_800_000_100_700;
  const S = Math.floor(before / 1000);
  it.each([
    ["an iat a second before the mark's (an ended session's token)", { sid: "a", iat: S - 1 }, { before }, true],
    ["an iat in the mark's own second (a session opened just after it)", { sid: "a", iat: S }, { before }, false],
    ["an iat after the mark", { sid: "a", iat: S + 1 }, { before }, false],
    ["the excepted session's, however old", { sid: "kept", iat: S - 500 }, { before, except: "kept" }, false],
    [
      "a listed session's, whatever its iat (issued in the mark's second, or with a clock ahead)",
      { sid: "listed", iat: S + 30 },
      { before, ended: ["listed"] },
      true,
    ],
  ])("a token with %s: refused %j", (_label, token, mark, refused) => {
    expect(markRefuses(mark, token)).toBe(refused);
  });
});
