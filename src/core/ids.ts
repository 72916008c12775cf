// Ids are UUIDs (docs/api.md). The one pattern for them: a malformed id answers
// like an unknown one and never reaches a query that would fail on the cast.
// Framework-free.
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
