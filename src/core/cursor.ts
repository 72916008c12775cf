// Opaque keyset cursors for pages ordered by (created_at, id), shared by the
// user listing and the audit pages. The timestamp travels as Postgres renders
// it, to the microsecond, and decoding refuses anything this service did not
// issue, including what a pattern lets through but Postgres would reject (a
// 30th of February, year 0): a forged cursor is a 400, never a 500.
import { ValidationFailed } from "./errors";
import { isUuid } from "./ids";
import type { KeysetCursor, Page } from "./domain";

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export type ApiPage<T> = { items: T[]; nextCursor: string | null };

function encodeCursor(cursor: KeysetCursor): string {
  return btoa(JSON.stringify([cursor.createdAt, cursor.id]))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}

/** The cursor a client sent back; ValidationFailed for anything this service did not issue. */
export function decodeCursor(raw: string | undefined): KeysetCursor | undefined {
  if (raw === undefined) return undefined;
  const cursor = parse(raw);
  if (!cursor)
    throw new ValidationFailed(
      [{ path: "cursor", message: "Not a cursor this service issued" }],
      "The cursor is not one this service issued",
    );
  return cursor;
}

/** A store's page with its cursor encoded for the client. */
export function toApiPage<T>(page: Page<T>): ApiPage<T> {
  return { items: page.items, nextCursor: page.nextCursor && encodeCursor(page.nextCursor) };
}

function parse(raw: string): KeysetCursor | undefined {
  try {
    const decoded = JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))) as unknown;
    if (!Array.isArray(decoded) || decoded.length !== 2) return undefined;
    const [createdAt, id] = decoded as unknown[];
    if (typeof createdAt !== "string" || !CURSOR_AT.test(createdAt) || !isRealInstant(createdAt)) return undefined;
    if (typeof id !== "string" || !isUuid(id)) return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}

function isRealInstant(text: string): boolean {
  const ms = Date.parse(text);
  return ms >= 0 && new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19);
}
