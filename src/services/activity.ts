// Reading the audit trail: a user's own events (/me/activity) and the
// operator's view (/admin/audit-logs), newest first, with an opaque cursor.
import { ValidationFailed } from "../errors";
import { AuditRepository, type AuditPage } from "../repositories/audit";
import { decodeCursor } from "../repositories/keyset-cursor";
import type { Database } from "../repositories/database";

export class ActivityService {
  constructor(private readonly db: Database) {}

  async page(filter: { userId?: string; event?: string; cursor?: string; limit: number }): Promise<AuditPage> {
    const cursor = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    if (filter.cursor !== undefined && !cursor) throw new ValidationFailed([{ path: "cursor", message: "Not a cursor this service issued" }], "The cursor is not one this service issued");
    return new AuditRepository(this.db).page({ userId: filter.userId, event: filter.event, cursor, limit: filter.limit });
  }
}
