// The audit trail: one row per security event. Writers that change state put
// their audit row in the same statement or transaction as the change (see
// auditInsert); this repository also records standalone events and pages the
// trail newest first with an opaque keyset cursor.
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import { auditLogs } from "../db/schema";
import type { Executor } from "./database";
import { cursorTimestamp, encodeCursor, type KeysetCursor } from "./keyset-cursor";

export type AuditEventName =
  | "user.registered"
  | "auth.login_succeeded"
  | "auth.login_failed"
  | "auth.refreshed"
  | "auth.refresh_reused"
  | "auth.logged_out"
  | "session.revoked"
  | "user.password_changed"
  | "user.roles_changed"
  | "user.disabled"
  | "user.enabled"
  | "auth.throttled";

/** Where a request came from, for audit rows and device info. */
export type RequestOrigin = { ip: string | null; userAgent: string | null };

export type AuditEventInput = {
  event: AuditEventName;
  userId?: string | null;
  actorId?: string | null;
  sessionId?: string | null;
  origin: RequestOrigin;
  metadata?: Record<string, unknown>;
  at: Date;
};

export type AuditEvent = {
  id: string;
  event: string;
  userId?: string;
  actorId?: string;
  sessionId?: string;
  ip?: string;
  userAgent?: string;
  metadata: Record<string, unknown>;
  createdAt: string;
};

export type AuditPage = { items: AuditEvent[]; nextCursor: string | null };

export type AuditFilter = { userId?: string; event?: string; cursor?: AuditCursor; limit: number };
export type AuditCursor = KeysetCursor;

export class AuditRepository {
  constructor(private readonly db: Executor) {}

  async record(input: AuditEventInput): Promise<void> {
    await this.db.insert(auditLogs).values({
      event: input.event,
      userId: input.userId ?? null,
      actorId: input.actorId ?? null,
      sessionId: input.sessionId ?? null,
      ip: input.origin.ip,
      userAgent: input.origin.userAgent,
      metadata: input.metadata ?? {},
      createdAt: input.at,
    });
  }

  async page(filter: AuditFilter): Promise<AuditPage> {
    const conditions: SQL[] = [];
    if (filter.userId) conditions.push(eq(auditLogs.userId, filter.userId));
    if (filter.event) conditions.push(eq(auditLogs.event, filter.event));
    if (filter.cursor) {
      // Row comparison on the index order; the cursor keeps Postgres's microseconds.
      conditions.push(sql`(${auditLogs.createdAt}, ${auditLogs.id}) < (${filter.cursor.createdAt}::timestamptz, ${filter.cursor.id}::uuid)`);
    }
    const found = await this.db
      .select({
        row: auditLogs,
        cursorAt: cursorTimestamp(auditLogs.createdAt),
      })
      .from(auditLogs)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(auditLogs.createdAt), desc(auditLogs.id))
      .limit(filter.limit + 1);
    const page = found.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map(({ row }) => toAuditEvent(row)),
      nextCursor: found.length > filter.limit && last ? encodeCursor({ createdAt: last.cursorAt, id: last.row.id }) : null,
    };
  }
}

/**
 * An INSERT of one audit row as SQL, for use inside a larger statement (a
 * CTE), so the event is written atomically with the change it records.
 * `from` names a CTE that yields the rows the event is about; `userId` and
 * `sessionId` may be SQL expressions over it.
 */
export function auditInsert(input: {
  event: AuditEventName;
  userId: SQL | string | null;
  actorId: SQL | string | null;
  sessionId: SQL | string | null;
  origin: RequestOrigin;
  metadata?: Record<string, unknown> | SQL;
  at: Date;
  from?: SQL;
}): SQL {
  const metadata = input.metadata === undefined ? sql`'{}'::jsonb` : isSql(input.metadata) ? input.metadata : sql`${JSON.stringify(input.metadata)}::jsonb`;
  const value = (v: SQL | string | null, cast: string) => (v === null ? sql.raw(`null::${cast}`) : isSql(v) ? v : sql`${v}::${sql.raw(cast)}`);
  return sql`insert into audit_logs (event, user_id, actor_id, session_id, ip, user_agent, metadata, created_at)
    select ${input.event}, ${value(input.userId, "uuid")}, ${value(input.actorId, "uuid")}, ${value(input.sessionId, "uuid")},
           ${input.origin.ip}, ${input.origin.userAgent}, ${metadata}, ${input.at}
    ${input.from ? sql`from ${input.from}` : sql``}`;
}

function isSql(value: unknown): value is SQL {
  return typeof value === "object" && value !== null && "queryChunks" in value;
}

export function toAuditEvent(row: typeof auditLogs.$inferSelect): AuditEvent {
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
