// The select expression behind keyset cursors: created_at as Postgres renders
// it, to the microsecond (a JS Date would drop digits and skip rows at a page
// boundary). Encoding the cursor for clients is the services' (keyset-cursor
// codec in src/core/cursor.ts).
import { sql, type AnyColumn, type SQL } from "drizzle-orm";

export function cursorTimestamp(column: AnyColumn | SQL): SQL<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
