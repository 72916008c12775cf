// `npm run dev`: the whole local stack with one command.
//   1. PostgreSQL: DATABASE_URL when set, else a persistent embedded server
//      under .data/postgres (port PG_PORT, default 54329).
//   2. Migrations from drizzle/.
//   3. The WebSocket-to-TCP proxy the Neon driver needs to reach a plain
//      Postgres, forwarding only to that database's address.
//   4. Development secrets in .dev.vars (git-ignored), generated if absent.
//   5. A local mail inbox (maildev, in memory) the Worker's SMTP_URL points
//      at, unless SMTP_URL or RESEND_API_KEY is set (environment or .dev.vars).
//   6. `wrangler dev` on http://127.0.0.1:PORT (default 8787).
// One Ctrl-C or SIGTERM (to this process or to npm, which forwards it) stops
// all of it; so does the death of the parent process.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configFromEnvironment, startDevStack, type DevStack } from "./lib/dev-stack.ts";
import { removeDevRecord, writeDevRecord } from "./lib/dev-record.ts";
import { takeOverSignalHandling } from "./lib/local-postgres.ts";
import { generateEncryptionKey, generateSecret, generateSigningKey } from "./lib/signing-keys.ts";

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

try {
  for (const [name, value] of [
    ["PORT", port],
    ["PG_PORT", pgPort],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port number`);
  }
  await ensureDevVars(`${root}.dev.vars`);
  // Every configuration variable set in this environment reaches the Worker (DATABASE_URL selects the database instead).
  const { DATABASE_URL: _database, ...passedVars } = configFromEnvironment(process.env);
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

async function ensureDevVars(path: string): Promise<void> {
  if (existsSync(path)) {
    // A .dev.vars from before TOTP existed: add its key rather than leave TOTP unavailable.
    if (!/^MFA_ENCRYPTION_KEY=/m.test(readFileSync(path, "utf8"))) {
      appendFileSync(path, `MFA_ENCRYPTION_KEY=${generateEncryptionKey()}\n`);
      log("added a new MFA_ENCRYPTION_KEY to .dev.vars");
    }
    return;
  }
  const key = await generateSigningKey();
  writeFileSync(
    path,
    [
      "# Development secrets, generated by `npm run dev`. Never commit this file.",
      `JWT_SIGNING_KEYS='${JSON.stringify([key])}'`,
      `REFRESH_TOKEN_SECRET=${generateSecret()}`,
      `MFA_ENCRYPTION_KEY=${generateEncryptionKey()}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  log("wrote .dev.vars with a new signing key, refresh-token secret and TOTP encryption key");
}

function withoutPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password) url.password = "***";
  return url.toString();
}
