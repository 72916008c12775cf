// Runs once in Node before the suite: a fresh temporary embedded Postgres with
// the migrations applied to a template database, the WebSocket proxy the
// Worker's Neon driver uses to reach it, exactly as in `npm run dev`, and the
// mail server every mail the Worker sends lands on (test/setup/mail-server.ts),
// and the identity providers federated sign-in meets (identity-providers.ts).
// Nothing connects to the template: each test file gets a copy of it, and a
// mailbox, when its runtime starts (test/setup/file-bindings.ts). Their
// addresses reach the Worker as bindings through provide/inject.
// pg_stat_statements is loaded so a test can assert which statements a
// request ran (or that it ran none).
import pg from "pg";
import type { TestProject } from "vitest/node";
import { freePort } from "../../scripts/lib/free-ports.ts";
import { startLocalPostgres } from "../../scripts/lib/local-postgres.ts";
import { applyMigrations } from "../../scripts/lib/migrate.ts";
import { startWsProxy } from "../../scripts/lib/ws-proxy.ts";
import { TEMPLATE_DATABASE } from "./file-bindings.ts";
import { startMailServer } from "./mail-server.ts";
import { startIdentityProviders } from "./identity-providers.ts";

export default async function setup(project: TestProject) {
  const pgPort = await freePort();
  const database = await startLocalPostgres({
    port: pgPort,
    database: TEMPLATE_DATABASE,
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
  const identityProviders = await startIdentityProviders();

  project.provide("postgresUrl", database.url.replace(/\/[^/]+$/, "/postgres"));
  project.provide("wsProxyUrl", proxy.url);
  // Allowlisted but nothing listens: for the database-unreachable tests.
  project.provide("closedDatabaseUrl", `postgres://postgres:postgres@127.0.0.1:${closedPort}/secureauth_test`);
  project.provide("mailServerUrl", mail.url);
  project.provide("identityProvidersUrl", identityProviders.url);
  project.provide("appleTestPrivateKey", identityProviders.applePrivateKey);

  return async () => {
    await identityProviders.close();
    await mail.close();
    await proxy.close();
    await database.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
    wsProxyUrl: string;
    closedDatabaseUrl: string;
    mailServerUrl: string;
    /** The local identity providers (test/setup/identity-providers.ts). */
    identityProvidersUrl: string;
    /** The Apple stand-in team's key, for APPLE_PRIVATE_KEY. */
    appleTestPrivateKey: string;
  }
}
