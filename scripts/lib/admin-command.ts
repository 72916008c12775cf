// The operator CLI behind `npm run admin`: grant and revoke a user's roles,
// list the roles, define a role from the built-in permissions, re-enable an
// account (how a locked-out operator gets back in). It opens its own
// node-postgres connection, so it works when the Worker is down or no
// administrator exists yet (it is how the first administrator is made), and goes through the same AdminService as the
// admin API (src/composition.ts composeOperator): one role-change rule, one transaction with its user.roles_changed
// audit row, whose actor is the OPERATOR (no actor id; metadata says `via: "cli"`). So do `enable` (user.enabled) and
// `define-role` (role.defined, whose change bumps the grants version of every holder of the role, as a role change
// does).
//
// Role changes and role definitions reach the users' access tokens at their
// next refresh: the CLI cannot reach the edge revocation list, and tokens
// already issued keep their claims until they expire.
//
// src/ is written for a bundler (extensionless imports, JSON imports, full
// TypeScript), so scripts/admin.ts loads this module through tsx.
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { composeOperator } from "../../src/composition.ts";
import * as schema from "../../src/db/schema.ts";
import { NotFound, ValidationFailed } from "../../src/core/errors.ts";
import { BUILT_IN_PERMISSIONS, OPERATOR } from "../../src/features/admin/index.ts";
import { normalizeEmail } from "../../src/features/accounts/passwords/email.ts";

type Operator = ReturnType<typeof composeOperator>;

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
  "  enable <email>          let a disabled account sign in again",
  "  define-role <name> <permission,...>",
  "                          create a role, or replace its permissions, from the built-in ones:",
  `                          ${BUILT_IN_PERMISSIONS.join(", ")}`,
  "Database: DATABASE_URL when set, else the database of this checkout's running `npm run dev` (.data/dev-stack.json).",
];

const APPLIES_AT_REFRESH =
  "It applies at the user's next token refresh; access tokens already issued keep their old roles until they expire.";

/** Runs one command and returns the process exit code. Never throws. */
export async function runAdminCommand(argv: readonly string[], io: AdminCommandIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    for (const line of USAGE) io.out(line);
    return EXIT_OK;
  }
  if ((command === "grant" || command === "revoke") && args.length === 2 && args[0]!.trim() && args[1]!.trim()) {
    return withDatabase(io, (operator) => changeRole(operator, command, normalizeEmail(args[0]!), args[1]!.trim(), io));
  }
  if (command === "list-roles" && args.length === 0) {
    return withDatabase(io, (operator) => listRoles(operator, io));
  }
  if (command === "enable" && args.length === 1 && args[0]!.trim()) {
    return withDatabase(io, (operator) => enable(operator, normalizeEmail(args[0]!), io));
  }
  const permissions =
    command === "define-role" && args.length === 2
      ? args[1]!
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean)
      : [];
  if (command === "define-role" && permissions.length > 0 && args[0]!.trim()) {
    return withDatabase(io, (operator) => defineRole(operator, args[0]!.trim(), permissions, io));
  }
  io.err(command === undefined ? "admin: no command given" : `admin: wrong use of "${command}"`);
  for (const line of USAGE) io.err(line);
  return EXIT_USAGE;
}

async function withDatabase(io: AdminCommandIo, work: (operator: Operator) => Promise<number>): Promise<number> {
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
    return await work(composeOperator(drizzle({ client, schema })));
  } catch (error) {
    io.err(`admin: database error: ${reasonOf(error)}`);
    return EXIT_FAILED;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * grant: the user's roles plus `role`; revoke: minus it. AdminService.setRoles
 * applies the change (or finds there is none) under its locks; asking for a
 * role that does not exist is its ValidationFailed.
 */
async function changeRole(
  { stores, admin }: Operator,
  command: "grant" | "revoke",
  email: string,
  role: string,
  io: AdminCommandIo,
): Promise<number> {
  const noUser = () => {
    io.err(`admin: no user with the email ${email}`);
    return EXIT_FAILED;
  };
  const unknownRole = async () => {
    const known = (await stores.roles.all()).map((r) => r.name);
    io.err(`admin: unknown role "${role}"; the roles are: ${known.join(", ") || "(none)"}`);
    return EXIT_FAILED;
  };
  const nothingChanged = () => {
    io.out(
      command === "grant"
        ? `${email} already has the role "${role}"; nothing changed.`
        : `${email} does not have the role "${role}"; nothing changed.`,
    );
    return EXIT_OK;
  };

  const userId = await stores.adminUsers.findIdByEmail(email);
  const before = userId === undefined ? undefined : await stores.users.findById(userId);
  if (!userId || !before) return noUser();
  const has = before.roles.includes(role);
  if (command === "grant" ? has : !has) {
    // A role the user holds exists; one they do not hold may not.
    if (command === "revoke" && !(await roleExists(stores, role))) return unknownRole();
    return nothingChanged();
  }
  // Applied to the roles as they are under the service's row lock, so a concurrent change is kept.
  const change = (current: readonly string[]) =>
    command === "grant" ? [...current, role] : current.filter((name) => name !== role);

  let after: Awaited<ReturnType<typeof admin.setRoles>>;
  try {
    after = await admin.setRoles(userId, change, OPERATOR);
  } catch (error) {
    if (error instanceof NotFound) return noUser();
    if (error instanceof ValidationFailed && !(await roleExists(stores, role))) return unknownRole();
    throw error;
  }
  // Unchanged when the roles changed meanwhile to what was asked for: setRoles wrote nothing.
  if (after.grantsVersion === before.grantsVersion) return nothingChanged();
  const done = command === "grant" ? `Granted "${role}" to ${email}` : `Revoked "${role}" from ${email}`;
  io.out(`${done} (roles now: ${after.roles.join(", ") || "none"}). ${APPLIES_AT_REFRESH}`);
  return EXIT_OK;
}

/** enable: the account may sign in again (its sessions stay ended). */
async function enable({ stores, admin }: Operator, email: string, io: AdminCommandIo): Promise<number> {
  const noUser = () => {
    io.err(`admin: no user with the email ${email}`);
    return EXIT_FAILED;
  };
  const userId = await stores.adminUsers.findIdByEmail(email);
  const before = userId === undefined ? undefined : await stores.users.findById(userId);
  if (!userId || !before) return noUser();
  if (before.status !== "disabled") {
    io.out(`${email} is not disabled; nothing changed.`);
    return EXIT_OK;
  }
  try {
    await admin.enable(userId, OPERATOR);
  } catch (error) {
    if (error instanceof NotFound) return noUser();
    throw error;
  }
  io.out(`Enabled ${email}: they can sign in again.`);
  return EXIT_OK;
}

/** define-role: AdminService.defineRole validates and applies; its ValidationFailed becomes one line per fault. */
async function defineRole(
  { admin }: Operator,
  name: string,
  permissions: string[],
  io: AdminCommandIo,
): Promise<number> {
  let defined: Awaited<ReturnType<typeof admin.defineRole>>;
  try {
    defined = await admin.defineRole(name, permissions, OPERATOR);
  } catch (error) {
    if (!(error instanceof ValidationFailed)) throw error;
    for (const { path, message } of error.errors) {
      if (path.startsWith("permissions."))
        io.err(
          `admin: unknown permission "${permissions[Number(path.slice("permissions.".length))]}"; the permissions ` +
            `are: ${BUILT_IN_PERMISSIONS.join(", ")}`,
        );
      else io.err(`admin: ${message.charAt(0).toLowerCase()}${message.slice(1)}`);
    }
    return EXIT_FAILED;
  }
  const list = defined.permissions.join(", ");
  if (!defined.changed) io.out(`The role "${defined.name}" already has exactly: ${list}; nothing changed.`);
  else if (defined.created) io.out(`Defined the new role "${defined.name}": ${list}.`);
  else {
    const holders = `${defined.holders} holder${defined.holders === 1 ? "" : "s"}`;
    const applies =
      "It applies at each holder's next token refresh; access tokens already issued keep the old permissions until " +
      "they expire.";
    io.out(
      `Redefined the role "${defined.name}": ${list} (was: ${defined.before.join(", ") || "none"}); ${holders}. ` +
        `${applies}`,
    );
  }
  return EXIT_OK;
}

async function listRoles({ stores }: Operator, io: AdminCommandIo): Promise<number> {
  const roles = await stores.roles.all();
  if (roles.length === 0) io.out("No roles. Have the migrations been applied?");
  for (const role of roles) {
    io.out(
      `${role.name}${role.description ? ` (${role.description})` : ""}: ` +
        `${role.permissions.join(", ") || "no permissions"}`,
    );
  }
  return EXIT_OK;
}

async function roleExists(stores: Operator["stores"], role: string): Promise<boolean> {
  return (await stores.roles.existing([role])).length > 0;
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
