// The operator CLI behind `npm run admin`: grant and revoke a user's roles,
// list the roles. It talks to Postgres directly with the `pg` driver and plain
// SQL, so it works when the Worker is down or no administrator exists yet (it
// is how the first administrator is made). Each change commits in one
// transaction with its user.roles_changed audit row (no actor: the operator
// acts outside the service; metadata says `via: "cli"`).
//
// Role changes reach the user's access tokens at their next refresh: the CLI
// cannot reach the edge revocation list, and tokens already issued keep their
// claims until they expire.
import pg from "pg";
import { normalizeEmail } from "../../src/services/passwords/email.ts";

export type AdminCommandIo = {
  databaseUrl: string;
  /** One line of normal output. */
  out: (line: string) => void;
  /** One line of error output. */
  err: (line: string) => void;
};

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const USAGE = [
  "Usage: npm run admin -- <command>",
  "  grant <email> <role>    give the user a role",
  "  revoke <email> <role>   take a role from the user",
  "  list-roles              the roles and their permissions",
  "Database: DATABASE_URL when set, else the local development database of `npm run dev` (127.0.0.1, port PG_PORT or 54329).",
];

const APPLIES_AT_REFRESH = "It applies at the user's next token refresh; access tokens already issued keep their old roles until they expire.";

/** The database `npm run dev` starts (scripts/dev.ts). */
export function localDatabaseUrl(pgPort: string | undefined): string {
  return `postgres://postgres:postgres@127.0.0.1:${pgPort || "54329"}/secureauth`;
}

/** Runs one command and returns the process exit code. Never throws. */
export async function runAdminCommand(argv: readonly string[], io: AdminCommandIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    USAGE.forEach((line) => io.out(line));
    return EXIT_OK;
  }
  if ((command === "grant" || command === "revoke") && args.length === 2 && args[0]!.trim() && args[1]!.trim()) {
    return withDatabase(io, (client) => changeRole(client, command, normalizeEmail(args[0]!), args[1]!.trim(), io));
  }
  if (command === "list-roles" && args.length === 0) {
    return withDatabase(io, (client) => listRoles(client, io));
  }
  io.err(command === undefined ? "admin: no command given" : `admin: wrong use of "${command}"`);
  USAGE.forEach((line) => io.err(line));
  return EXIT_USAGE;
}

async function withDatabase(io: AdminCommandIo, work: (client: pg.Client) => Promise<number>): Promise<number> {
  const client = new pg.Client({ connectionString: io.databaseUrl, connectionTimeoutMillis: 5000 });
  // A dropped connection must surface as a failed query, not crash the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    io.err(`admin: cannot reach the database at ${describeDatabase(io.databaseUrl)}: ${reasonOf(error)}`);
    io.err("admin: is `npm run dev` running, or is DATABASE_URL set to the right database?");
    return EXIT_FAILED;
  }
  try {
    return await work(client);
  } catch (error) {
    io.err(`admin: database error: ${reasonOf(error)}`);
    return EXIT_FAILED;
  } finally {
    await client.end().catch(() => {});
  }
}

async function changeRole(client: pg.Client, command: "grant" | "revoke", email: string, role: string, io: AdminCommandIo): Promise<number> {
  await client.query("begin");
  try {
    const user = await client.query<{ id: string }>("select id from users where email = $1 for update", [email]);
    const userId = user.rows[0]?.id;
    if (!userId) {
      await client.query("rollback");
      io.err(`admin: no user with the email ${email}`);
      return EXIT_FAILED;
    }
    const found = await client.query("select 1 from roles where name = $1 for share", [role]);
    if (found.rowCount === 0) {
      await client.query("rollback");
      const known = await client.query<{ name: string }>("select name from roles order by name");
      io.err(`admin: unknown role "${role}"; the roles are: ${known.rows.map((r) => r.name).join(", ") || "(none)"}`);
      return EXIT_FAILED;
    }

    const before = await rolesOf(client, userId);
    const changed =
      command === "grant"
        ? await client.query("insert into user_roles (user_id, role_name, created_at) values ($1, $2, $3) on conflict do nothing", [userId, role, new Date()])
        : await client.query("delete from user_roles where user_id = $1 and role_name = $2", [userId, role]);
    if (changed.rowCount === 0) {
      await client.query("rollback");
      io.out(command === "grant" ? `${email} already has the role "${role}"; nothing changed.` : `${email} does not have the role "${role}"; nothing changed.`);
      return EXIT_OK;
    }
    const after = await rolesOf(client, userId);
    // A new grants version: tokens issued from now on carry it. (The CLI cannot
    // reach the Workers KV list, so earlier tokens last until they expire.)
    await client.query("update users set grants_version = grants_version + 1 where id = $1", [userId]);
    // Millisecond precision, like every audit row the service writes (its cursors assume it).
    await client.query("insert into audit_logs (event, user_id, actor_id, metadata, created_at) values ('user.roles_changed', $1, null, $2::jsonb, $3)", [
      userId,
      JSON.stringify({ before, after, via: "cli" }),
      new Date(),
    ]);
    await client.query("commit");
    const done = command === "grant" ? `Granted "${role}" to ${email}` : `Revoked "${role}" from ${email}`;
    io.out(`${done} (roles now: ${after.join(", ") || "none"}). ${APPLIES_AT_REFRESH}`);
    return EXIT_OK;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  }
}

async function listRoles(client: pg.Client, io: AdminCommandIo): Promise<number> {
  const result = await client.query<{ name: string; description: string; permissions: string[] }>(
    `select r.name, r.description,
       coalesce(array_agg(rp.permission_name order by rp.permission_name) filter (where rp.permission_name is not null), '{}') as permissions
     from roles r left join role_permissions rp on rp.role_name = r.name
     group by r.name, r.description order by r.name`,
  );
  if (result.rows.length === 0) io.out("No roles. Have the migrations been applied?");
  for (const role of result.rows) {
    io.out(`${role.name}${role.description ? ` (${role.description})` : ""}: ${role.permissions.join(", ") || "no permissions"}`);
  }
  return EXIT_OK;
}

async function rolesOf(client: pg.Client, userId: string): Promise<string[]> {
  const result = await client.query<{ role_name: string }>("select role_name from user_roles where user_id = $1 order by role_name", [userId]);
  return result.rows.map((r) => r.role_name);
}

/** host:port/database, never the credentials. */
function describeDatabase(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}${url.port ? `:${url.port}` : ""}${url.pathname}`;
  } catch {
    return "the configured DATABASE_URL (not a valid URL)";
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    // Node reports a refused connection as an AggregateError with an empty message.
    return error.message || (typeof code === "string" ? code : error.name);
  }
  return String(error);
}
