// Opaque keyset cursors for pages ordered by (created_at, id). The timestamp
// travels as Postgres renders it, to the microsecond (a JS Date would drop
// digits and skip rows at a page boundary), and decoding refuses anything this
// service did not issue, including what a pattern lets through but Postgres
// would reject (a 30th of February, year 0).
import { sql, type SQL, type AnyColumn } from "drizzle-orm";

export type KeysetCursor = { createdAt: string; id: string };

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The select expression whose value goes into the next cursor. */
export function cursorTimestamp(column: AnyColumn | SQL): SQL<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export function encodeCursor(cursor: KeysetCursor): string {
  return btoa(JSON.stringify([cursor.createdAt, cursor.id])).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** undefined for anything that is not a cursor this service issued. */
export function decodeCursor(raw: string): KeysetCursor | undefined {
  try {
    const decoded = JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))) as unknown;
    if (!Array.isArray(decoded) || decoded.length !== 2) return undefined;
    const [createdAt, id] = decoded as unknown[];
    if (typeof createdAt !== "string" || !CURSOR_AT.test(createdAt) || !isRealInstant(createdAt)) return undefined;
    if (typeof id !== "string" || !UUID.test(id)) return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}

function isRealInstant(text: string): boolean {
  const ms = Date.parse(text);
  return ms >= 0 && new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19);
}
