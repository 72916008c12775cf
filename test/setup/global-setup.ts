// Runs once in Node before the suite: a fresh temporary embedded Postgres with
// the migrations applied, and the WebSocket proxy the Worker's Neon driver
// uses to reach it, exactly as in `npm run dev`. Their addresses reach the
// Worker as bindings through provide/inject, and so do those of the mail
// server every mail the Worker sends lands on (test/setup/mail-server.ts).
// pg_stat_statements is loaded so a test can assert which statements a
// request ran (or that it ran none).
import pg from "pg";
import type { TestProject } from "vitest/node";
import { freePort } from "../../scripts/lib/free-ports.ts";
import { startLocalPostgres } from "../../scripts/lib/local-postgres.ts";
import { applyMigrations } from "../../scripts/lib/migrate.ts";
import { startWsProxy } from "../../scripts/lib/ws-proxy.ts";
import { startMailServer } from "./mail-server.ts";

export default async function setup(project: TestProject) {
  const pgPort = await freePort();
  const database = await startLocalPostgres({
    port: pgPort,
    database: "secureauth_test",
    flags: ["-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all"],
  });
  await applyMigrations(database.url);
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    await admin.query("create extension if not exists pg_stat_statements");
  } finally {
    await admin.end();
  }
  const closedPort = await freePort();
  const proxy = await startWsProxy({ allow: [`127.0.0.1:${pgPort}`, `127.0.0.1:${closedPort}`] });
  const mail = await startMailServer();

  project.provide("databaseUrl", database.url);
  project.provide("wsProxyUrl", proxy.url);
  // Allowlisted but nothing listens: for the database-unreachable tests.
  project.provide("closedDatabaseUrl", `postgres://postgres:postgres@127.0.0.1:${closedPort}/secureauth_test`);
  project.provide("smtpUrl", mail.smtpUrl);
  project.provide("mailInboxUrl", mail.inboxUrl);

  return async () => {
    await mail.close();
    await proxy.close();
    await database.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxyUrl: string;
    closedDatabaseUrl: string;
    smtpUrl: string;
    mailInboxUrl: string;
  }
}
