// The database connection: one Neon serverless Pool (WebSocket mode) per
// request, because Workers forbid sharing I/O objects across requests. The
// pool is created on first use, so requests that need no database (health,
// JWKS, verify) open nothing, and it is closed with waitUntil after the
// response. Only repositories import this module.
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "../../db/schema";

/** Any Drizzle Postgres database over this schema (Neon's driver in the Worker, node-postgres in the operator CLI). */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A database handle or an open transaction (a transaction is a Database too): repositories accept either. */
export type Executor = Database;

type DatabaseConfig = { databaseUrl: string; pgWsProxy: string | undefined };

let configuredProxy: string | undefined;

function configureDriver(pgWsProxy: string | undefined): void {
  if (pgWsProxy === configuredProxy) return;
  configuredProxy = pgWsProxy;
  if (pgWsProxy) {
    // A plain Postgres behind the local proxy (dev and tests). In production
    // the variable is unset and the driver talks to Neon directly over wss.
    const base = pgWsProxy.replace(/\/$/, "");
    neonConfig.wsProxy = (host, port) => `${base.replace(/^wss?:\/\//, "")}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = base.startsWith("wss://");
    neonConfig.pipelineConnect = false;
  }
}

export type LazyDatabase = {
  /** Opens the pool on first call. */
  get(): Database;
  /** Closes the pool if one was opened. */
  close(): Promise<void>;
  /** Whether a pool is open. */
  opened(): boolean;
};

export function lazyDatabase(config: DatabaseConfig): LazyDatabase {
  let pool: Pool | undefined;
  let db: Database | undefined;
  return {
    get() {
      if (!db) {
        configureDriver(config.pgWsProxy);
        pool = new Pool({ connectionString: config.databaseUrl, max: 4, connectionTimeoutMillis: 5000 });
        // An idle client's socket error must not become an unhandled error.
        pool.on("error", () => {});
        db = drizzle({ client: pool, schema }) as unknown as Database;
      }
      return db;
    },
    opened: () => pool !== undefined,
    async close() {
      const open = pool;
      pool = undefined;
      db = undefined;
      await open?.end().catch(() => {});
    },
  };
}
