// MaintenanceService's pruning of one-time tokens (mailed links) over the
// in-memory stores: rows expired more than a day before the run go, used or
// not, in bounded batches; live and recently expired ones stay. The other
// kinds of rows are covered against Postgres in test/http/maintenance.test.ts.
import { describe, expect, it } from "vitest";
import { MaintenanceService } from "../../src/features/maintenance/service";
import type { OneTimePurpose } from "../../src/features/lifecycle/store";
import { MemoryStores, ORIGIN } from "../support/fakes";

const RUN_AT = new Date("2026-11-26T03:00:00.000Z");
const HOUR_MS = 3600_000;

/** A user with one token of each given expiry (hours relative to the run), all issued beforehand. */
async function withTokens(memory: MemoryStores, expiries: number[], purpose: OneTimePurpose = "password_reset") {
  const user = memory.addUser();
  const hashes: string[] = [];
  for (const hours of expiries) {
    const tokenHash = crypto.randomUUID().replace(/-/g, "").repeat(2);
    const expiresAt = new Date(RUN_AT.getTime() + hours * HOUR_MS);
    const at = new Date(expiresAt.getTime() - 30 * 60_000);
    const issued = await memory.stores.oneTimeTokens.issue({
      token: { purpose, userId: user.id, tokenHash, email: user.email, expiresAt },
      maxPerHour: 100,
      audit: { event: "user.password_reset_requested", actorId: null, origin: ORIGIN },
      at,
    });
    expect(issued).toEqual({ issued: true });
    hashes.push(tokenHash);
  }
  return { user, hashes };
}

describe("MaintenanceService: one-time tokens", () => {
  it("deletes tokens that expired more than a day before the run, used or not, and keeps the rest", async () => {
    const memory = new MemoryStores();
    // Each issue ends the user's one before (used, reason replaced): one user's expired token is unused, the other's
    // used.
    const unused = await withTokens(memory, [-49]);
    const { hashes } = await withTokens(memory, [-25, -24, -1, 2]);
    expect(memory.state.oneTimeTokens.get(unused.hashes[0]!)!.usedAt).toBeNull();
    expect(memory.state.oneTimeTokens.get(hashes[0]!)!.usedAt).not.toBeNull();
    const report = await new MaintenanceService(memory.stores.maintenance).run(RUN_AT);
    expect(report).toEqual({
      refreshTokens: 0,
      sessions: 0,
      loginThrottles: 0,
      oneTimeTokens: 2,
      emailCodes: 0,
      emailCodeQuotas: 0,
      challenges: 0,
      revocationLog: 0,
      providerState: 0,
      invitations: 0,
      complete: true,
    });
    // Expired exactly a day before the run is kept: the cutoff is exclusive.
    expect([...memory.state.oneTimeTokens.keys()].sort()).toEqual(hashes.slice(1).sort());
  });

  it("deletes in batches of batchSize, stops after maxBatchesPerRun and leaves the rest to the next run", async () => {
    const memory = new MemoryStores();
    await withTokens(memory, [-50, -49, -48, -47, -46]);
    const first = await new MaintenanceService(memory.stores.maintenance, { batchSize: 2, maxBatchesPerRun: 2 }).run(
      RUN_AT,
    );
    expect(first).toMatchObject({ oneTimeTokens: 4, complete: false });
    expect(memory.calls.filter((call) => call === "maintenance.deleteExpiredOneTimeTokens")).toHaveLength(2);
    const second = await new MaintenanceService(memory.stores.maintenance, { batchSize: 2 }).run(RUN_AT);
    expect(second).toMatchObject({ oneTimeTokens: 1, complete: true });
    expect(memory.state.oneTimeTokens.size).toBe(0);
  });
});

describe("MaintenanceService: sign-ins and ceremonies in progress", () => {
  it(
    "deletes mfaTokens and WebAuthn challenges that expired more than an " + "hour before the run, and keeps the rest",
    async () => {
      const memory = new MemoryStores();
      const user = memory.addUser();
      const minutes = (m: number) => new Date(RUN_AT.getTime() + m * 60_000);
      for (const [key, expiresAt] of [
        ["old", minutes(-61)],
        ["recent", minutes(-59)],
        ["live", minutes(3)],
      ] as const) {
        await memory.stores.challenges.create(
          { keyHash: key, kind: "mfa_sign_in", userId: user.id, throttleKey: "k", device: {}, expiresAt },
          minutes(-70),
        );
      }
      const report = await new MaintenanceService(memory.stores.maintenance).run(RUN_AT);
      expect(report.challenges).toBe(1);
      expect([...memory.state.challenges.keys()].sort()).toEqual(["live", "recent"]);
    },
  );
});
