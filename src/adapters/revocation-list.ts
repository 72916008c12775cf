// Immediate revocation at the edge: ended sessions go to the REVOKED_SESSIONS
// KV namespace for as long as an access token of theirs can live, so every
// access-token check refuses them before they expire. Three kinds of entry
// (`revoked-session:<sid>`, `sessions-ended:<uid>`, `grants-version:<uid>`),
// each read at most once per isolate per CONFIRMED_LIVE_REUSE_MS, and all an
// isolate has no fresh answer for in one bulk read. Why one sessions-ended
// mark per user is enough, and safe to replace: docs/sessions.md.

import { ServiceUnavailable } from "../core/errors";
import type { RevocationList, SessionsEnded, TokenToCheck } from "../features/sessions/store";
import { CLOCK_TOLERANCE_SECONDS } from "../core/clock";

const PREFIX = "revoked-session:";
const GRANTS_PREFIX = "grants-version:";
const ENDED_PREFIX = "sessions-ended:";
/** KV's smallest expirationTtl. */
const MIN_KV_TTL = 60;
/** How long one isolate trusts an answer from KV. */
export const CONFIRMED_LIVE_REUSE_MS = 1000;
/** Bounds the per-isolate memory; past it the maps start over. */
const MAX_REMEMBERED = 10_000;
/** Bounds a mark's list (the highest MAX_SESSIONS_PER_USER); most recently used first. */
const MAX_LISTED = 1000;
/** Per-session entries written by one revoke call, at most. */
const MAX_KEYS_PER_CALL = 500;
/** REFRESH_REUSE_GRACE's default, when the composition root does not pass it. */
const DEFAULT_REUSE_GRACE_SECONDS = 10;

/** Values one bulk read fetched, by key (null: absent). */
type Prefetched = ReadonlyMap<string, string | null>;

/** A user's sessions-ended mark as stored: `before` in epoch ms. */
export type SessionsEndedMark = { before: number; except?: string; ended?: string[] };

// Per isolate, shared by every request it serves. Only plain values are
// shared, never a promise or I/O object of another request.
const confirmedLive = new Map<string, number>();
const revokedHere = new Map<string, number>();
/** user id -> [the latest grants version known (0: none), when it was read]. */
const grantsVersions = new Map<string, [number, number]>();
/** user id -> [the latest sessions-ended mark known (null: none), when it was read]. */
const endedMarks = new Map<string, [SessionsEndedMark | null, number]>();

/** Whether an answer read or written at `at` may still be used at `now`. */
const fresh = (at: number | undefined, now: number) => at !== undefined && now - at < CONFIRMED_LIVE_REUSE_MS;
/** Whether this isolate ended the session itself, within the entry's lifetime. */
const revokedHereAt = (sessionId: string, now: number) => (revokedHere.get(sessionId) ?? 0) > now;

export class SessionRevocationList implements RevocationList {
  constructor(
    private readonly kv: KVNamespace,
    private readonly accessTokenTtl: number,
    /** Wall-clock ms; replaceable in unit tests. */
    private readonly now: () => number = Date.now,
    /** REFRESH_REUSE_GRACE, seconds. */
    private readonly reuseGraceSeconds: number = DEFAULT_REUSE_GRACE_SECONDS,
  ) {}

  /**
   * Whether a token must be refused: its session ended, or its user's grants
   * changed after it was issued. A client's token on its every request is
   * judged from what this isolate holds, with no read; whatever it holds no
   * fresh answer for is fetched in one KV read.
   */
  async refuses(token: TokenToCheck): Promise<boolean> {
    const now = this.now();
    if (revokedHereAt(token.sid, now)) return true;
    const sessionLive = fresh(confirmedLive.get(token.sid), now);
    const grants = grantsVersions.get(token.sub);
    const ended = endedMarks.get(token.sub);
    const grantsKnown = fresh(grants?.[1], now);
    const endedKnown = fresh(ended?.[1], now);
    if (sessionLive && grantsKnown && endedKnown)
      return token.grantsVersion < grants![0] || (ended![0] !== null && markRefuses(ended![0], token));
    try {
      const unknown: string[] = [];
      if (!sessionLive) unknown.push(PREFIX + token.sid);
      if (!grantsKnown) unknown.push(GRANTS_PREFIX + token.sub);
      if (!endedKnown) unknown.push(ENDED_PREFIX + token.sub);
      const read = await this.readAll(unknown);
      const [revoked, latest, mark] = await Promise.all([
        this.isRevoked(token.sid, read),
        this.latestGrantsVersion(token.sub, read),
        this.latestEndedMark(token.sub, read),
      ]);
      return revoked || token.grantsVersion < latest || (mark !== null && markRefuses(mark, token));
    } catch (error) {
      // Fail closed: a token that cannot be checked is not accepted, and the client learns to retry (503).
      throw new ServiceUnavailable(error);
    }
  }

  /**
   * One KV read for these keys (a bulk get when more than one), handed to
   * the per-key readers below, so a session this isolate has not seen costs
   * one read.
   */
  private async readAll(keys: string[]): Promise<Prefetched> {
    if (keys.length === 1) return new Map([[keys[0]!, await this.kv.get(keys[0]!)]]);
    return this.kv.get(keys);
  }

  /** The value readAll read for this key, else a read of its own. */
  private async read(key: string, prefetched?: Prefetched): Promise<string | null> {
    return prefetched?.has(key) ? (prefetched.get(key) ?? null) : this.kv.get(key);
  }

  /** Records a user's new grants version: their tokens carrying an older one stop working. */
  async markGrantsChanged(changes: readonly { userId: string; grantsVersion: number }[]): Promise<void> {
    const now = this.now();
    // A version this isolate already wrote is not written again (KV takes one write per key per second).
    const unwritten = changes.filter(
      ({ userId, grantsVersion }) => (grantsVersions.get(userId)?.[0] ?? -1) < grantsVersion,
    );
    for (const { userId, grantsVersion } of unwritten) remember(grantsVersions, userId, [grantsVersion, now]);
    await this.put(unwritten.map(({ userId, grantsVersion }) => [GRANTS_PREFIX + userId, String(grantsVersion)]));
  }

  /**
   * One KV write for a bulk end, merged with the user's mark already known
   * (read from KV here: one read). Nothing is written when nothing ended:
   * sessions that had ended before were pushed when they ended.
   */
  async endSessionsOf(userId: string, { before, except, ended }: SessionsEnded): Promise<void> {
    if (ended.length === 0) return;
    const at = before.getTime();
    const since = Math.floor(at / 1000) * 1000 - (this.reuseGraceSeconds + CLOCK_TOLERANCE_SECONDS) * 1000;
    const listed = [...ended]
      .filter((s) => s.id !== except && s.lastUsedAt.getTime() >= since)
      .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime())
      .map((s) => s.id);
    const mark: SessionsEndedMark = {
      before: at,
      ...(except === undefined ? {} : { except }),
      ...(listed.length > 0 ? { ended: listed.slice(0, MAX_LISTED) } : {}),
    };
    const stored = parseMark(await this.kv.get(ENDED_PREFIX + userId).catch(() => null));
    const merged = mergeMarks(mergeMarks(endedMarks.get(userId)?.[0] ?? null, stored), mark)!;
    remember(endedMarks, userId, [merged, this.now()]);
    await this.put([[ENDED_PREFIX + userId, JSON.stringify(merged)]], CLOCK_TOLERANCE_SECONDS);
  }

  private async latestGrantsVersion(userId: string, prefetched?: Prefetched): Promise<number> {
    const now = this.now();
    const known = grantsVersions.get(userId);
    if (known && fresh(known[1], now)) return known[0];
    const raw = await this.read(GRANTS_PREFIX + userId, prefetched);
    const stored = raw === null ? 0 : Number(raw) || 0;
    // Versions only grow: a slower read never lowers one written here.
    const latest = Math.max(stored, known?.[0] ?? 0);
    remember(grantsVersions, userId, [latest, now]);
    return latest;
  }

  private async latestEndedMark(userId: string, prefetched?: Prefetched): Promise<SessionsEndedMark | null> {
    const now = this.now();
    const known = endedMarks.get(userId);
    if (known && fresh(known[1], now)) return known[0];
    const stored = parseMark(await this.read(ENDED_PREFIX + userId, prefetched));
    // A slower read never replaces a newer mark known here.
    const latest = mergeMarks(known?.[0] ?? null, stored);
    remember(endedMarks, userId, [latest, now]);
    return latest;
  }

  async isRevoked(sessionId: string, prefetched?: Prefetched): Promise<boolean> {
    const now = this.now();
    if (revokedHereAt(sessionId, now)) return true;
    if (fresh(confirmedLive.get(sessionId), now)) return false;

    const revoked = (await this.read(PREFIX + sessionId, prefetched)) !== null;
    if (revoked) remember(revokedHere, sessionId, now + this.ttlSeconds() * 1000);
    else remember(confirmedLive, sessionId, now);
    return revoked;
  }

  async revoke(sessionIds: readonly string[]): Promise<void> {
    const now = this.now();
    const until = now + this.ttlSeconds() * 1000;
    // KV takes one write per key per second: a session this isolate has
    // already pushed is not written again (a logout naming it twice, say).
    const unwritten = [...new Set(sessionIds)].filter((id) => !revokedHereAt(id, now));
    for (const id of unwritten) {
      confirmedLive.delete(id);
      remember(revokedHere, id, until);
    }
    // Within Workers' 1,000 KV operations per invocation. Only a sign-in
    // trimming a backlog of sessions from before the cap ends more at once;
    // its ids come most recently used first, so what is left out are the
    // least recently used of hundreds, past any access token's lifetime
    // unless all of those were used in the last minutes.
    if (unwritten.length > MAX_KEYS_PER_CALL) {
      console.error(
        JSON.stringify({
          level: "warn",
          msg: "revocation list: sessions beyond the per-call write bound not pushed",
          of: unwritten.length,
          pushed: MAX_KEYS_PER_CALL,
        }),
      );
    }
    await this.put(unwritten.slice(0, MAX_KEYS_PER_CALL).map((id) => [PREFIX + id, "1"]));
  }

  /**
   * Writes to KV without failing the request: the change it records is
   * already committed in Postgres and remembered in this isolate, and a 500
   * would tell the client the opposite. A failed write is logged (keys only).
   * `extraTtl`: seconds beyond the longest access-token lifetime.
   */
  private async put(entries: [string, string][], extraTtl = 0): Promise<void> {
    const expirationTtl = this.ttlSeconds() + extraTtl;
    const results = await Promise.allSettled(entries.map(([key, value]) => this.kv.put(key, value, { expirationTtl })));
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0)
      console.error(
        JSON.stringify({ level: "error", msg: "revocation list write failed", failed, of: entries.length }),
      );
  }

  /**
   * How long an entry must live: a token issued by the time it is written is
   * refused by verify once its age passes the lifetime plus the clock
   * tolerance. A mark also lists sessions whose tokens' iat may run up to
   * the tolerance ahead of our clock, so it lives that much longer.
   */
  private ttlSeconds(): number {
    return Math.max(MIN_KV_TTL, this.accessTokenTtl + CLOCK_TOLERANCE_SECONDS);
  }
}

/** The mark's rule (see the top of this file). */
export function markRefuses(mark: SessionsEndedMark, token: Pick<TokenToCheck, "sid" | "iat">): boolean {
  if (mark.ended?.includes(token.sid)) return true;
  return token.sid !== mark.except && token.iat < Math.floor(mark.before / 1000);
}

/**
 * Two marks of one user as one: the later (by `before`) decides `before` and
 * `except`; the earlier one's list is carried over while a token it lists
 * may still be too new for the later one's iat rule.
 */
export function mergeMarks(a: SessionsEndedMark | null, b: SessionsEndedMark | null): SessionsEndedMark | null {
  if (a === null || b === null) return a ?? b;
  const [earlier, later] = a.before <= b.before ? [a, b] : [b, a];
  const carried =
    Math.floor(later.before / 1000) <= Math.floor(earlier.before / 1000) + CLOCK_TOLERANCE_SECONDS
      ? (earlier.ended ?? [])
      : [];
  const ended = [...new Set([...(later.ended ?? []), ...carried])].slice(0, MAX_LISTED);
  return {
    before: later.before,
    ...(later.except === undefined ? {} : { except: later.except }),
    ...(ended.length > 0 ? { ended } : {}),
  };
}

/** A stored mark, or null for none. A value this code did not write is ignored (and logged), never trusted in part. */
function parseMark(raw: string | null): SessionsEndedMark | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<SessionsEndedMark> | null;
    const validList =
      value?.ended === undefined || (Array.isArray(value.ended) && value.ended.every((id) => typeof id === "string"));
    if (
      value &&
      Number.isFinite(value.before) &&
      (value.except === undefined || typeof value.except === "string") &&
      validList
    ) {
      return {
        before: value.before!,
        ...(value.except === undefined ? {} : { except: value.except }),
        ...(value.ended?.length ? { ended: value.ended } : {}),
      };
    }
  } catch {
    // fall through
  }
  console.error(JSON.stringify({ level: "error", msg: "unreadable sessions-ended mark ignored" }));
  return null;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
}
