// `npm run admin -- <command>`: the operator CLI. Grants and revokes roles
// (`grant <email> <role>`, `revoke <email> <role>`) and lists them
// (`list-roles`), against DATABASE_URL when set, else the local development
// database that `npm run dev` starts. The logic is in lib/admin-command.ts.
import { localDatabaseUrl, runAdminCommand } from "./lib/admin-command.ts";

process.exitCode = await runAdminCommand(process.argv.slice(2), {
  databaseUrl: process.env.DATABASE_URL || localDatabaseUrl(process.env.PG_PORT),
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
