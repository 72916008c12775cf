// Where a running `npm run dev` stack is: it writes .data/dev-stack.json
// (mode 0600: the local database URL holds its password) when it is up and
// removes it when it stops, and the local tools (`npm run admin`,
// `npm run db:migrate`) read it, so they reach this checkout's database
// whatever PG_PORT it was started with, never another checkout's.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export type DevRecord = {
  /** The Worker's URL. */
  url: string;
  databaseUrl: string;
  /** The local mail inbox's web page, when `npm run dev` started one. */
  mailInboxUrl?: string;
  /** The `npm run dev` process, to tell a live record from one a crash left. */
  pid: number;
  startedAt: string;
};

export const devRecordPath = (root: string) => join(root, ".data", "dev-stack.json");

export function writeDevRecord(root: string, record: DevRecord): void {
  const path = devRecordPath(root);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

export function removeDevRecord(root: string, pid = process.pid): void {
  // Only our own: a second `npm run dev` that failed to start must not remove the first one's.
  if (readDevRecord(root)?.pid === pid) rmSync(devRecordPath(root), { force: true });
}

/** The record of a stack that is running now; undefined when none is (or its process is gone). */
export function readDevRecord(root: string): DevRecord | undefined {
  const path = devRecordPath(root);
  if (!existsSync(path)) return undefined;
  let record: Partial<DevRecord>;
  try {
    record = JSON.parse(readFileSync(path, "utf8")) as Partial<DevRecord>;
  } catch {
    return undefined;
  }
  if (typeof record.databaseUrl !== "string" || typeof record.url !== "string" || !Number.isInteger(record.pid))
    return undefined;
  return isAlive(record.pid!) ? (record as DevRecord) : undefined;
}

/**
 * The database a local tool should use: DATABASE_URL when set, else the one
 * this checkout's running `npm run dev` recorded. Undefined when neither.
 */
export function localToolDatabaseUrl(
  root: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  return env.DATABASE_URL || readDevRecord(root)?.databaseUrl;
}

export const NO_DATABASE_HINT =
  "set DATABASE_URL, or start `npm run dev` in this checkout (its database is found from .data/dev-stack.json)";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is another user's.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
