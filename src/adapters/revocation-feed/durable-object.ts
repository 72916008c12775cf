// The RevocationFeed Durable Object: one for the whole deployment, holding
// (in its SQLite storage) every revocation younger than the retention, with
// sequence numbers. Requests append what they committed; isolates read
// snapshots. Its alarm drains the Postgres log every second while the feed is
// in use, so an entry whose request died between its commit and its append
// still arrives. How it fits together: docs/sessions.md.
import { DurableObject } from "cloudflare:workers";
import { loadConfig, type Env } from "../../config";
import { withTimeout } from "../../core/timeout";
import { describeError } from "../../core/errors";
import { lazyDatabase, loadDatabaseDriver } from "../postgres/database";
import { type FeedEntry, type FeedSnapshot, retentionMs, versionOf } from "./entries";
import { readRevocationLog } from "../postgres/revocation-log";

/** How often the alarm drains the log while the feed is in use. */
export const DRAIN_INTERVAL_MS = 1000;
/**
 * How far before the last drain a drain reads again: a row is stamped when
 * its statement ran, and becomes visible when its transaction commits, which
 * can be a moment later than a row already drained.
 */
const DRAIN_OVERLAP_MS = 30_000;
/** A snapshot waits at most this long for a drain it runs itself (after the object woke up). */
const INLINE_DRAIN_TIMEOUT_MS = 2000;

type EntryRow = { kind: string; subject: string; version: number; at: number };

export class RevocationFeed extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Differs on every start, so an isolate never mistakes a fresh store's positions for the old one's. */
  private readonly incarnation = crypto.randomUUID().slice(0, 8);
  private requests = 0;
  private lastRequest = 0;
  /** When the last successful drain's read started; 0: none since this object started. */
  private drainedAt = 0;
  /** When the last drain, successful or not, started. */
  private drainTriedAt = 0;
  /** When the alarm is due; 0: none set. */
  private alarmAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, " +
        "subject TEXT NOT NULL, version INTEGER NOT NULL, at INTEGER NOT NULL, UNIQUE (kind, subject, version))",
    );
  }

  /** Adds committed revocations; one already here is ignored. */
  async append(entries: FeedEntry[]): Promise<void> {
    await this.touch();
    this.insert(entries);
  }

  /** Every entry younger than the retention, and the head it was read at. */
  async snapshot(): Promise<FeedSnapshot> {
    await this.touch();
    // Just woken (no drain yet, or the alarm stopped while idle): what the log holds first.
    if (Date.now() - this.drainTriedAt > 3 * DRAIN_INTERVAL_MS) await this.drain(INLINE_DRAIN_TIMEOUT_MS);
    const takenAt = Date.now();
    const entries = this.sql
      .exec<EntryRow>(
        "SELECT kind, subject, version, at FROM entries WHERE at >= ? ORDER BY seq",
        takenAt - this.retention(),
      )
      .toArray()
      .map(toEntry);
    const head = this.sql.exec<{ head: number }>("SELECT COALESCE(MAX(seq), 0) AS head FROM entries").one().head;
    // Until a drain has succeeded since this object started, a lost append may be missing: the reader reads the log.
    return { head: `${this.incarnation}:${head}`, takenAt, entries, complete: this.drainedAt > 0 };
  }

  /** For the benchmark and operators: requests served since this object started, and entries held. */
  async stats(): Promise<{ requests: number; entries: number }> {
    const entries = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM entries").one().n;
    return { requests: this.requests, entries };
  }

  override async alarm(): Promise<void> {
    this.alarmAt = 0;
    await this.drain();
    this.sql.exec("DELETE FROM entries WHERE at < ?", Date.now() - this.retention());
    // Kept going while isolates may still hold tokens to check; the next request starts it again.
    if (Date.now() - this.lastRequest < this.retention()) await this.schedule();
  }

  private async touch(): Promise<void> {
    this.requests++;
    this.lastRequest = Date.now();
    if (this.alarmAt === 0) await this.schedule();
  }

  private async schedule(): Promise<void> {
    this.alarmAt = Date.now() + DRAIN_INTERVAL_MS;
    await this.ctx.storage.setAlarm(this.alarmAt);
  }

  private insert(entries: readonly FeedEntry[]): void {
    for (const entry of entries) {
      this.sql.exec(
        "INSERT OR IGNORE INTO entries (kind, subject, version, at) VALUES (?, ?, ?, ?)",
        entry.kind,
        entry.subject,
        versionOf(entry),
        entry.at,
      );
    }
  }

  /** Copies the log's recent rows in; a failure is logged and left to the next drain. */
  private async drain(timeoutMs?: number): Promise<void> {
    const started = Date.now();
    this.drainTriedAt = started;
    const since = Math.max(started - this.retention(), this.drainedAt - DRAIN_OVERLAP_MS);
    const database = lazyDatabase(loadConfig(this.env));
    try {
      await loadDatabaseDriver();
      const read = readRevocationLog(database.get(), since);
      this.insert(timeoutMs === undefined ? await read : await withTimeout(read, timeoutMs));
      this.drainedAt = started;
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", msg: "revocation log drain failed", error: describeError(error) }),
      );
    } finally {
      this.ctx.waitUntil(database.close());
    }
  }

  private retention(): number {
    return retentionMs(loadConfig(this.env).accessTokenTtl);
  }
}

function toEntry({ kind, subject, version, at }: EntryRow): FeedEntry {
  if (kind === "session") return { kind, subject, at };
  return { kind: kind === "user" ? "user" : "org", subject, version, at };
}
