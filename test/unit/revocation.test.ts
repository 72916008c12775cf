// The edge revocation list with a fake KV and clock: when a revocation takes
// effect in this isolate, in another isolate, and how long entries live.
import { describe, expect, it } from "vitest";
import { CONFIRMED_LIVE_REUSE_MS, SessionRevocationList } from "../../src/services/sessions/revocation-list";

function fakeKv() {
  const data = new Map<string, { value: string; ttl?: number }>();
  let reads = 0;
  const kv = {
    async get(key: string) {
      reads++;
      return data.get(key)?.value ?? null;
    },
    async put(key: string, value: string, options?: { expirationTtl?: number }) {
      data.set(key, { value, ttl: options?.expirationTtl });
    },
  } as unknown as KVNamespace;
  return { kv, data, reads: () => reads };
}

describe("SessionRevocationList", () => {
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
    expect(await list.refuses({ sid, sub: user, grantsVersion: 0 })).toBe(false);
    await list.markGrantsChanged([{ userId: user, grantsVersion: 3 }]);
    expect(await list.refuses({ sid, sub: user, grantsVersion: 2 })).toBe(true);
    expect(await list.refuses({ sid, sub: user, grantsVersion: 3 })).toBe(false);
    expect(await list.refuses({ sid, sub: crypto.randomUUID(), grantsVersion: 0 })).toBe(false);
  });

  it("sees another isolate's role change within the reuse bound", async () => {
    const { kv, data } = fakeKv();
    let now = 1_700_000_100_000;
    const list = new SessionRevocationList(kv, 600, () => now);
    const user = crypto.randomUUID();
    const token = { sid: crypto.randomUUID(), sub: user, grantsVersion: 1 };
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
    expect(await list.refuses({ sid: crypto.randomUUID(), sub: user, grantsVersion: 4 })).toBe(true);
  });
});

describe("SessionRevocationList: writing to KV", () => {
  it("writes a session once, however often it is revoked in a row (KV takes one write per key per second)", async () => {
    const { kv } = fakeKv();
    let puts = 0;
    const counting = { get: kv.get.bind(kv), put: async (...args: Parameters<KVNamespace["put"]>) => { puts++; return kv.put(...args); } } as unknown as KVNamespace;
    const list = new SessionRevocationList(counting, 600, () => 5_000_000);
    const sid = crypto.randomUUID();
    await list.revoke([sid, sid]);
    await list.revoke([sid]);
    expect(puts).toBe(1);
    expect(await list.isRevoked(sid)).toBe(true);
  });

  it("does not fail when KV refuses a write; this isolate still refuses the session", async () => {
    const failing = { get: async () => null, put: async () => { throw new Error("KV PUT failed: 429 Too Many Requests"); } } as unknown as KVNamespace;
    const list = new SessionRevocationList(failing, 600, () => 6_000_000);
    const sid = crypto.randomUUID();
    await expect(list.revoke([sid])).resolves.toBeUndefined();
    expect(await list.isRevoked(sid)).toBe(true);
    await expect(list.markGrantsChanged([{ userId: crypto.randomUUID(), grantsVersion: 1 }])).resolves.toBeUndefined();
  });
});
