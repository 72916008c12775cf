// The database connection: one Neon serverless Pool (WebSocket mode) per
// request, because Workers forbid sharing I/O objects across requests. The
// pool is created on first use, so requests that need no database (health,
// JWKS, verify) open nothing, and it is closed with waitUntil after the
// response. Only repositories import this module.
//
// The driver itself (@neondatabase/serverless and Drizzle's adapter for it,
// ./neon-driver.ts) is imported by loadDatabaseDriver, which every entry
// point that may reach the database awaits first (the composition root's
// compose, a route's first request, the queue and cron handlers): a cold
// start that needs no database does not evaluate it. get() is synchronous,
// as the stores need it, and refuses to run before the load.
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "../../db/schema";
import type { DatabaseConfig, OpenedPool } from "./neon-driver";

/** Any Drizzle Postgres database over this schema (Neon's driver in the Worker, node-postgres in the operator CLI). */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A database handle or an open transaction (a transaction is a Database too): repositories accept either. */
export type Executor = Database;

type Driver = typeof import("./neon-driver");
let driver: Driver | undefined;
let loading: Promise<void> | undefined;

/** Imports the driver once per isolate; resolves when get() can open a pool. */
export function loadDatabaseDriver(): Promise<void> {
  return (loading ??= import("./neon-driver").then((loaded) => {
    driver = loaded;
  }));
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
  let pool: OpenedPool | undefined;
  let db: Database | undefined;
  return {
    get() {
      if (!db) {
        // A programming error, not a runtime condition: an entry point reached the stores without loading the driver.
        if (!driver) throw new Error("the database driver is not loaded: await loadDatabaseDriver() first");
        const opened = driver.openPool(config);
        pool = opened.pool;
        db = opened.db as unknown as Database;
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
