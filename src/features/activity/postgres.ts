// The audit trail: one row per security event. Writers that change state put
// their audit row in the same statement as the change (fragments.ts
// auditInsert); this repository records standalone events and pages the
// trail newest first on the (created_at, id) index.
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { auditLogs } from "../../db/schema";
import type { AuditEvent, KeysetCursor, Page } from "../../core/domain";
import type { AuditEventInput, AuditLog } from "./store";
import type { Executor } from "../../adapters/postgres/database";
import { cursorTimestamp } from "../../adapters/postgres/keyset-cursor";

export class AuditRepository implements AuditLog {
  constructor(private readonly db: Executor) {}

  async record(input: AuditEventInput): Promise<void> {
    await this.db.insert(auditLogs).values({
      event: input.event,
      userId: input.userId ?? null,
      actorId: input.actorId ?? null,
      sessionId: input.sessionId ?? null,
      orgId: input.orgId ?? null,
      ip: input.origin.ip,
      userAgent: input.origin.userAgent,
      metadata: input.metadata ?? {},
      createdAt: input.at,
    });
  }

  async page(filter: {
    userId?: string;
    orgId?: string;
    event?: string;
    cursor?: KeysetCursor;
    limit: number;
  }): Promise<Page<AuditEvent>> {
    const conditions: SQL[] = [];
    if (filter.userId) conditions.push(eq(auditLogs.userId, filter.userId));
    if (filter.orgId) conditions.push(eq(auditLogs.orgId, filter.orgId));
    if (filter.event) conditions.push(eq(auditLogs.event, filter.event));
    if (filter.cursor) {
      // Row comparison on the index order; the cursor keeps Postgres's microseconds.
      conditions.push(
        sql`(${auditLogs.createdAt}, ${auditLogs.id}) <
          (${filter.cursor.createdAt}::timestamptz, ${filter.cursor.id}::uuid)`,
      );
    }
    const found = await this.db
      .select({ row: auditLogs, cursorAt: cursorTimestamp(auditLogs.createdAt) })
      .from(auditLogs)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(auditLogs.createdAt), desc(auditLogs.id))
      .limit(filter.limit + 1);
    const page = found.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map(({ row }) => toAuditEvent(row)),
      nextCursor: found.length > filter.limit && last ? { createdAt: last.cursorAt, id: last.row.id } : null,
    };
  }
}

function toAuditEvent(row: typeof auditLogs.$inferSelect): AuditEvent {
  return {
    id: row.id,
    event: row.event,
    ...(row.userId ? { userId: row.userId } : {}),
    ...(row.actorId ? { actorId: row.actorId } : {}),
    ...(row.sessionId ? { sessionId: row.sessionId } : {}),
    ...(row.ip ? { ip: row.ip } : {}),
    ...(row.userAgent ? { userAgent: row.userAgent } : {}),
    metadata: row.metadata ?? {},
    createdAt: row.createdAt.toISOString(),
  };
}
