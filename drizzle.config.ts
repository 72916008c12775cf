// drizzle-kit configuration: `npm run db:generate` writes SQL migrations into
// drizzle/ from src/db/schema.ts. Migrations are applied by scripts/migrate.ts.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
  casing: "snake_case",
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:54329/secureauth" },
});
