// Immediate revocation at the edge: ended session ids are written to the
// REVOKED_SESSIONS KV namespace for as long as an access token of theirs can
// live, so authenticate, /auth/verify and the RPC refuse those tokens before
// they expire. A change of a user's roles (or disabling them) is written
// there too, as the user's new grants version: tokens carrying an older one
// hold stale roles and permissions and are refused, so the client refreshes
// and gets the new ones. Versions are read with the roles in one snapshot, so
// a sign-in racing a role change cannot slip a stale token past this.
//
// How fast a revocation takes effect:
// - in the isolate that made it: at once (it is remembered here too);
// - elsewhere in the same location: within CONFIRMED_LIVE_REUSE_MS, because
//   an isolate reuses a "not revoked" answer from KV for that long rather
//   than reading KV on every request (a KV read per request costs more than
//   the signature check it guards);
// - in other locations: within KV's propagation, about 60 s (the documented bound).

import type { RevocationList } from "../ports";
import { CLOCK_TOLERANCE_SECONDS } from "../tokens/types";

const PREFIX = "revoked-session:";
const GRANTS_PREFIX = "grants-version:";
/** KV's smallest expirationTtl. */
const MIN_KV_TTL = 60;
/** How long one isolate trusts a "not revoked" answer from KV. */
export const CONFIRMED_LIVE_REUSE_MS = 1000;
/** Bounds the per-isolate memory; past it the maps start over. */
const MAX_REMEMBERED = 10_000;

// Per isolate, shared by every request it serves. Only plain values are
// shared, never a promise or I/O object of another request.
const confirmedLive = new Map<string, number>();
const revokedHere = new Map<string, number>();
/** user id -> [the latest grants version known (0: none), when it was read]. */
const grantsVersions = new Map<string, [number, number]>();

export class SessionRevocationList implements RevocationList {
  constructor(
    private readonly kv: KVNamespace,
    private readonly accessTokenTtl: number,
    /** Wall-clock ms; replaceable in unit tests. */
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a token must be refused: its session ended, or its user's grants changed after it was issued. */
  async refuses(token: { sid: string; sub: string; grantsVersion: number }): Promise<boolean> {
    const [revoked, latest] = await Promise.all([this.isRevoked(token.sid), this.latestGrantsVersion(token.sub)]);
    return revoked || token.grantsVersion < latest;
  }

  /** Records a user's new grants version: their tokens carrying an older one stop working. */
  async markGrantsChanged(changes: readonly { userId: string; grantsVersion: number }[]): Promise<void> {
    const now = this.now();
    // A version this isolate already wrote is not written again (KV takes one write per key per second).
    const unwritten = changes.filter(({ userId, grantsVersion }) => (grantsVersions.get(userId)?.[0] ?? -1) < grantsVersion);
    for (const { userId, grantsVersion } of unwritten) remember(grantsVersions, userId, [grantsVersion, now]);
    await this.put(unwritten.map(({ userId, grantsVersion }) => [GRANTS_PREFIX + userId, String(grantsVersion)]));
  }

  private async latestGrantsVersion(userId: string): Promise<number> {
    const now = this.now();
    const known = grantsVersions.get(userId);
    if (known && now - known[1] < CONFIRMED_LIVE_REUSE_MS) return known[0];
    const raw = await this.kv.get(GRANTS_PREFIX + userId);
    const stored = raw === null ? 0 : Number(raw) || 0;
    // Versions only grow: a slower read never lowers one written here.
    const latest = Math.max(stored, known?.[0] ?? 0);
    remember(grantsVersions, userId, [latest, now]);
    return latest;
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    const now = this.now();
    const revokedUntil = revokedHere.get(sessionId);
    if (revokedUntil !== undefined && revokedUntil > now) return true;
    const confirmedAt = confirmedLive.get(sessionId);
    if (confirmedAt !== undefined && now - confirmedAt < CONFIRMED_LIVE_REUSE_MS) return false;

    const revoked = (await this.kv.get(PREFIX + sessionId)) !== null;
    if (revoked) remember(revokedHere, sessionId, now + this.ttlSeconds() * 1000);
    else remember(confirmedLive, sessionId, now);
    return revoked;
  }

  async revoke(sessionIds: readonly string[]): Promise<void> {
    const now = this.now();
    const until = now + this.ttlSeconds() * 1000;
    // KV takes one write per key per second: a session this isolate has
    // already pushed is not written again (a logout naming it twice, say).
    const unwritten = [...new Set(sessionIds)].filter((id) => !(revokedHere.has(id) && (revokedHere.get(id) ?? 0) > now));
    for (const id of unwritten) {
      confirmedLive.delete(id);
      remember(revokedHere, id, until);
    }
    await this.put(unwritten.map((id) => [PREFIX + id, "1"]));
  }

  /**
   * Writes to KV without failing the request: the change it records is
   * already committed in Postgres and remembered in this isolate, and a 500
   * would tell the client the opposite. A failed write is logged (keys only).
   */
  private async put(entries: [string, string][]): Promise<void> {
    const expirationTtl = this.ttlSeconds();
    const results = await Promise.allSettled(entries.map(([key, value]) => this.kv.put(key, value, { expirationTtl })));
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0) console.error(JSON.stringify({ level: "error", msg: "revocation list write failed", failed, of: entries.length }));
  }

  private ttlSeconds(): number {
    return Math.max(MIN_KV_TTL, this.accessTokenTtl + CLOCK_TOLERANCE_SECONDS);
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
}
