// Helpers for raw-SQL repositories: run a statement, get typed rows.
import type { SQL } from "drizzle-orm";
import type { AuthMethod } from "../../core/domain";
import type { Executor } from "./database";

export async function rows<T>(db: Executor, statement: SQL): Promise<T[]> {
  const result = (await db.execute(statement)) as unknown as { rows: T[] };
  return result.rows;
}

export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

/** Postgres text[] may arrive as an array or, through some paths, as '{a,b}'. */
export function toStringArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string" && value.startsWith("{")) {
    const inner = value.slice(1, -1);
    return inner ? inner.split(",").map((v) => v.replace(/^"|"$/g, "")) : [];
  }
  return [];
}

const AUTH_METHODS: ReadonlySet<string> = new Set<AuthMethod>(["pwd", "otp", "hwk", "mfa", "email", "fed"]);

/** A session's amr column: RFC 8176 values this service issues, nothing else. */
export function toAmr(value: unknown): AuthMethod[] {
  return toStringArray(value).filter((v): v is AuthMethod => AUTH_METHODS.has(v));
}
