// `npm run admin -- <command>`: the operator CLI. Grants and revokes roles
// (`grant <email> <role>`, `revoke <email> <role>`) and lists them
// (`list-roles`), against DATABASE_URL when set, else the local development
// database that `npm run dev` starts. The logic is in lib/admin-command.ts.
//
// This file runs under Node's own type stripping (`node scripts/admin.ts`);
// the command module reaches into src/, which is written for a bundler
// (extensionless and JSON imports, parameter properties), so it is loaded
// through tsx (a devDependency), scoped to that one import.
import { tsImport } from "tsx/esm/api";

const { localDatabaseUrl, runAdminCommand }: typeof import("./lib/admin-command.ts") = await tsImport("./lib/admin-command.ts", import.meta.url);

process.exitCode = await runAdminCommand(process.argv.slice(2), {
  databaseUrl: process.env.DATABASE_URL || localDatabaseUrl(process.env.PG_PORT),
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
