// Reading the audit trail: a user's own events (/me/activity) and the
// operator's view (/admin/audit-logs), newest first, with an opaque cursor.
//
// The user's own view names who acted only when it was someone else (an
// administrator changing their roles, say): such an event shows that
// person's actorId but never their ip or userAgent, which are another
// person's data. Events the user caused themselves carry no actorId, and
// keep the user's own ip and userAgent; so do events with no actor (a
// refresh-token replay detected), whose request is the one on the user's
// own session. The operator's view keeps everything.
import { decodeCursor, toApiPage, type ApiPage } from "../../core/cursor";
import type { AuditEvent } from "../../core/domain";
import type { AuditLog } from "./store";

export class ActivityService {
  constructor(private readonly audit: Pick<AuditLog, "page">) {}

  /** Every field of every event: for /admin/audit-logs. */
  async page(filter: {
    userId?: string;
    orgId?: string;
    event?: string;
    cursor?: string;
    limit: number;
  }): Promise<ApiPage<AuditEvent>> {
    const cursor = decodeCursor(filter.cursor);
    return toApiPage(
      await this.audit.page({
        userId: filter.userId,
        orgId: filter.orgId,
        event: filter.event,
        cursor,
        limit: filter.limit,
      }),
    );
  }

  /** The user's own events, as the user may see them (see the top of this file). */
  async own(userId: string, filter: { cursor?: string; limit: number }): Promise<ApiPage<AuditEvent>> {
    const page = await this.page({ userId, cursor: filter.cursor, limit: filter.limit });
    return { ...page, items: page.items.map((event) => ownView(event, userId)) };
  }
}

function ownView(event: AuditEvent, userId: string): AuditEvent {
  const { actorId, ip, userAgent, ...rest } = event;
  if (actorId !== undefined && actorId.toLowerCase() !== userId.toLowerCase()) return { ...rest, actorId };
  return { ...rest, ...(ip === undefined ? {} : { ip }), ...(userAgent === undefined ? {} : { userAgent }) };
}
