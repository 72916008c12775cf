// Reading the revocation log, the feed's outbox in Postgres (written by
// triggers in the revoking transaction): what the Durable Object's alarm
// drains, and what an isolate reads when the Durable Object is unreachable.
import { and, asc, gt } from "drizzle-orm";
import { revocationLog } from "../../db/schema";
import type { Executor } from "./database";
import type { FeedEntry } from "../revocation-feed/entries";

/** Rows of one read, at most: past it the reader reads on from the last row. */
export const LOG_PAGE = 5000;

/** Every entry the log holds made after `since` (epoch ms), read a page at a time. */
export async function readRevocationLog(db: Executor, since: number): Promise<FeedEntry[]> {
  const all: FeedEntry[] = [];
  for (let afterSeq = 0; ; ) {
    const rows = await db
      .select({
        seq: revocationLog.seq,
        kind: revocationLog.kind,
        subject: revocationLog.subject,
        version: revocationLog.version,
        createdAt: revocationLog.createdAt,
      })
      .from(revocationLog)
      .where(and(gt(revocationLog.createdAt, new Date(since)), gt(revocationLog.seq, afterSeq)))
      .orderBy(asc(revocationLog.seq))
      .limit(LOG_PAGE);
    for (const { kind, subject, version, createdAt } of rows) {
      const at = createdAt.getTime();
      all.push(kind === "session" ? { kind, subject, at } : { kind, subject, version, at });
    }
    if (rows.length < LOG_PAGE) return all;
    afterSeq = rows[rows.length - 1]!.seq;
  }
}
