// `npm run db:migrate`: applies the SQL migrations in drizzle/ to the database
// at DATABASE_URL (Neon or any Postgres), else to this checkout's running
// `npm run dev` database, e.g.
//   DATABASE_URL='postgres://user:pass@ep-xxx.neon.tech/secureauth?sslmode=require' npm run db:migrate
// Already-applied migrations are skipped, so running it twice is safe.
// `npm run dev` and the test suite apply migrations themselves.
import { fileURLToPath } from "node:url";
import { localToolDatabaseUrl, NO_DATABASE_HINT } from "./lib/dev-record.ts";
import { applyMigrations, MIGRATIONS_DIR } from "./lib/migrate.ts";

const databaseUrl = localToolDatabaseUrl(fileURLToPath(new URL("..", import.meta.url)));
if (!databaseUrl) {
  console.error(`db:migrate: no database: ${NO_DATABASE_HINT}, e.g. DATABASE_URL='postgres://...' npm run db:migrate`);
  process.exit(1);
}

let host: string;
try {
  const url = new URL(databaseUrl);
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new Error("not a postgres URL");
  host = `${url.host}${url.pathname}`;
} catch {
  console.error("db:migrate: DATABASE_URL must be a postgres:// URL");
  process.exit(1);
}

try {
  // Never print the URL itself: it holds the password.
  console.log(`db:migrate: applying ${MIGRATIONS_DIR} to ${host}`);
  await applyMigrations(databaseUrl);
  console.log("db:migrate: done");
} catch (error) {
  const { message, code } = error as { message?: string; code?: string };
  console.error(`db:migrate: failed${code ? ` (${code})` : ""}: ${message ?? String(error)}`);
  process.exit(1);
}
