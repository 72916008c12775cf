// Neon's serverless driver and Drizzle's adapter for it: what opens a pool.
// Imported on demand by database.ts's loadDatabaseDriver, so a Worker's cold
// start that needs no database does not evaluate the driver (its evaluation
// cost workerd about as much CPU as the rest of the service's start-up
// beyond compiling the script: npm run bench:peers, cold start).
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import * as schema from "../../db/schema";

export type DatabaseConfig = { databaseUrl: string; pgWsProxy: string | undefined };

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

export type OpenedPool = Pool;

/** A new pool for one request, and the Drizzle database over it. */
export function openPool(config: DatabaseConfig) {
  configureDriver(config.pgWsProxy);
  const pool = new Pool({ connectionString: config.databaseUrl, max: 4, connectionTimeoutMillis: 5000 });
  // An idle client's socket error must not become an unhandled error.
  pool.on("error", () => {});
  return { pool, db: drizzle({ client: pool, schema }) };
}
