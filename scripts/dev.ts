// `npm run dev`: the whole local stack with one command.
//   1. PostgreSQL: DATABASE_URL when set, else a persistent embedded server
//      under .data/postgres (port PG_PORT, default 54329).
//   2. Migrations from drizzle/.
//   3. The WebSocket-to-TCP proxy the Neon driver needs to reach a plain
//      Postgres, forwarding only to that database's address.
//   0. The configuration the Worker would get, checked by its own schema
//      first: a malformed variable stops here, naming it, before anything starts.
//   4. Development secrets in .dev.vars (git-ignored): what the schema marks
//      as generated in development (signing key, refresh-token secret, TOTP
//      key), added when missing.
//   5. A local mail inbox (maildev, in memory) the Worker's SMTP_URL points
//      at, unless SMTP_URL or RESEND_API_KEY is set (environment or .dev.vars).
//   6. `wrangler dev` on http://127.0.0.1:PORT (default 8787).
// One Ctrl-C or SIGTERM (to this process or to npm, which forwards it) stops
// all of it; so does the death of the parent process.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import { devConfigProblem, devVarsText, devVarsToAdd, tomlVars } from "./lib/dev-config.ts";
import { configFromEnvironment, startDevStack, type DevStack } from "./lib/dev-stack.ts";
import { removeDevRecord, writeDevRecord } from "./lib/dev-record.ts";
import { takeOverSignalHandling } from "./lib/local-postgres.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = Number(process.env.PORT ?? 8787);
const pgPort = Number(process.env.PG_PORT ?? 54329);
const log = (line: string) => console.log(`dev: ${line}`);

let starting: Promise<DevStack> | undefined;
let stopping: Promise<never> | undefined;

function stop(code: number): Promise<never> {
  return (stopping ??= (async () => {
    // A hung shutdown must not keep the terminal: give up after 20 s.
    setTimeout(() => process.exit(code || 1), 20_000).unref();
    // Stopped mid-start: let the start finish (or fail and clean up), then stop it.
    const stack = await starting?.catch(() => undefined);
    removeDevRecord(root);
    await stack?.stop();
    process.exit(code);
  })());
}

takeOverSignalHandling();
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (!stopping) log(`${signal}: stopping`);
    void stop(0);
  });
}
// npm forwards signals, but if whatever started us dies without a signal
// (killed outright), we are re-parented: stop rather than linger.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 1000).unref();

// Every configuration variable set in this environment reaches the Worker (DATABASE_URL selects the database instead).
const { DATABASE_URL: _database, ...passedVars } = configFromEnvironment(process.env);
const devVarsPath = `${root}.dev.vars`;
const devVars = existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : undefined;
const addedDevVars = await devVarsToAdd(devVars);
// Nothing has started yet: a refusal leaves nothing to stop, and no one else's dev record to remove.
const problem = devConfigProblem({
  toml: tomlVars(readFileSync(`${root}wrangler.toml`, "utf8")),
  secrets: { ...(devVars === undefined ? {} : (parseEnv(devVars) as Record<string, string>)), ...addedDevVars },
  environment: passedVars,
  databaseUrl: process.env.DATABASE_URL || undefined,
  port,
});
if (problem) {
  console.error(`dev: refusing to start, the Worker's configuration is invalid: ${problem}`);
  process.exit(1);
}

try {
  for (const [name, value] of [
    ["PORT", port],
    ["PG_PORT", pgPort],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port number`);
  }
  writeDevVars(devVarsPath, devVars, addedDevVars);
  const names = Object.keys(passedVars);
  if (names.length > 0) log(`passing ${names.join(", ")} from the environment to the Worker`);
  starting = startDevStack({
    root,
    port,
    databaseUrl: process.env.DATABASE_URL || undefined,
    postgres: { port: pgPort, database: "secureauth", dataDir: `${root}.data/postgres` },
    secretsFile: `${root}.dev.vars`,
    vars: passedVars,
    output: "inherit",
    log,
    onDatabaseExit: (reason) => {
      if (!stopping) log(`${reason}; /health/ready answers 503 until you restart npm run dev`);
    },
  });
  const stack = await starting;
  writeDevRecord(root, {
    url: stack.url,
    databaseUrl: stack.databaseUrl,
    ...(stack.mailInboxUrl ? { mailInboxUrl: stack.mailInboxUrl } : {}),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  // The embedded server's URL is a local default; a DATABASE_URL given to us keeps its password off the terminal.
  const shown = stack.database ? stack.databaseUrl : withoutPassword(stack.databaseUrl);
  log(`database: ${shown} (npm run admin and db:migrate find it through .data/dev-stack.json)`);
  log(
    stack.mailInboxUrl
      ? `mail inbox: ${stack.mailInboxUrl} (every mail the Worker sends)`
      : "mail: sent through the configured SMTP_URL or RESEND_API_KEY; no local inbox",
  );
  log(`starting wrangler dev on ${stack.url}`);
  const code = await stack.wranglerExited;
  if (!stopping) {
    log(`wrangler exited (${code}); stopping`);
    await stop(code || 1);
  }
} catch (error) {
  console.error("dev: failed to start:", error instanceof Error ? error.message : error);
  await stop(1);
}

/** Writes what the schema generates in development and .dev.vars lacks (a new file holds only that). */
function writeDevVars(path: string, current: string | undefined, added: Record<string, string>): void {
  const names = Object.keys(added);
  if (names.length === 0) return;
  writeFileSync(path, devVarsText(current, added), { mode: 0o600 });
  log(`${current === undefined ? "wrote .dev.vars with" : "added to .dev.vars"} a new ${names.join(", ")}`);
}

function withoutPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password) url.password = "***";
  return url.toString();
}
