// `npm run admin -- <command>`: the operator CLI. Grants and revokes roles
// (`grant <email> <role>`, `revoke <email> <role>`), lists them
// (`list-roles`), defines one (`define-role <name> <permission,...>`) and
// re-enables a disabled account (`enable <email>`), against DATABASE_URL when set, else the database of this
// checkout's running `npm run dev` (.data/dev-stack.json). The logic is in
// lib/admin-command.ts.
//
// This file runs under Node's own type stripping (`node scripts/admin.ts`);
// the command module reaches into src/, which is written for a bundler
// (extensionless and JSON imports, parameter properties), so it is loaded
// through tsx (a devDependency), scoped to that one import.
import { fileURLToPath } from "node:url";
import { tsImport } from "tsx/esm/api";
import { localToolDatabaseUrl, NO_DATABASE_HINT } from "./lib/dev-record.ts";

const { runAdminCommand }: typeof import("./lib/admin-command.ts") = await tsImport(
  "./lib/admin-command.ts",
  import.meta.url,
);

const databaseUrl = localToolDatabaseUrl(fileURLToPath(new URL("..", import.meta.url)));
if (!databaseUrl) {
  console.error(`admin: no database: ${NO_DATABASE_HINT}`);
  process.exit(1);
}

process.exitCode = await runAdminCommand(process.argv.slice(2), {
  databaseUrl,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
