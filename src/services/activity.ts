// Reading the audit trail: a user's own events (/me/activity) and the
// operator's view (/admin/audit-logs), newest first, with an opaque cursor.
import { decodeCursor, toApiPage, type ApiPage } from "./pages";
import type { AuditEvent, AuditLog } from "./ports";

export class ActivityService {
  constructor(private readonly audit: Pick<AuditLog, "page">) {}

  async page(filter: { userId?: string; event?: string; cursor?: string; limit: number }): Promise<ApiPage<AuditEvent>> {
    const cursor = decodeCursor(filter.cursor);
    return toApiPage(await this.audit.page({ userId: filter.userId, event: filter.event, cursor, limit: filter.limit }));
  }
}
