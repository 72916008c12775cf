// The local stack behind `npm run dev`: a database (the given DATABASE_URL,
// or an embedded PostgreSQL), migrations, the WebSocket proxy the Neon driver
// needs for a plain Postgres, a local mail inbox (maildev) unless a mail
// transport is configured, and `wrangler dev` on 127.0.0.1. stop() takes it
// down in reverse order and waits for every process it started.
// `npm run bench` uses the database half and spawnWrangler.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { configFromEnvironment } from "./config-variables.ts";
import { freePorts } from "./free-ports.ts";
import { startLocalPostgres, type LocalPostgres } from "./local-postgres.ts";
import { applyMigrations } from "./migrate.ts";
import { startWsProxy, type WsProxy } from "./ws-proxy.ts";

export type DevStackOptions = {
  /** Project root (where wrangler.toml is), with a trailing slash. */
  root: string;
  /** Port for wrangler dev on 127.0.0.1. */
  port: number;
  /** Use this database and start no embedded one. */
  databaseUrl?: string;
  /** The embedded server to start when databaseUrl is unset; no dataDir means a temporary cluster. */
  postgres?: { port: number; database: string; dataDir?: string; flags?: string[] };
  /** Secrets file in dotenv form (.dev.vars), merged under the database variables. */
  secretsFile: string;
  /** Configuration variables for the Worker (from this process's environment), over [vars] and the secrets file. */
  vars?: Record<string, string>;
  /** Where wrangler's output goes: this terminal, or a line callback. */
  output: "inherit" | ((line: string) => void);
  log: (line: string) => void;
  /** The embedded PostgreSQL exited without stop() (killed, crashed, or hit by the terminal's Ctrl-C). */
  onDatabaseExit?: (reason: string) => void;
  /** Where wrangler keeps its local Durable Object and queue state (`--persist-to`); default the checkout's .wrangler/state. */
  persistTo?: string;
  /** wrangler's dev registry (WRANGLER_REGISTRY_PATH); default the checkout's .wrangler/registry. */
  registryPath?: string;
};

export type DevStack = {
  url: string;
  databaseUrl: string;
  database: LocalPostgres | undefined;
  /** The local inbox's web page; undefined when SMTP_URL or RESEND_API_KEY chose a transport. */
  mailInboxUrl: string | undefined;
  /** Resolves with wrangler's exit code when it exits for any reason. */
  wranglerExited: Promise<number | null>;
  stop(): Promise<void>;
};

const WRANGLER_STOP_TIMEOUT_MS = 5000;

export type DatabaseOptions = Pick<DevStackOptions, "databaseUrl" | "postgres" | "log" | "onDatabaseExit">;

export type Database = {
  databaseUrl: string;
  database: LocalPostgres | undefined;
  /** What the Worker needs to reach it: DATABASE_URL, and PG_WS_PROXY unless it is Neon. */
  workerVars: { DATABASE_URL: string; PG_WS_PROXY?: string };
  stop(): Promise<void>;
};

/** The database half of the stack: the given one or an embedded server, migrated, behind the proxy. */
export async function startDatabase(options: DatabaseOptions): Promise<Database> {
  let database: LocalPostgres | undefined;
  let proxy: WsProxy | undefined;
  const stop = async () => {
    await proxy?.close().catch(() => {});
    await database?.stop().catch((error: unknown) => options.log(`could not stop PostgreSQL: ${String(error)}`));
  };
  try {
    let databaseUrl = options.databaseUrl;
    if (databaseUrl) {
      options.log(`using DATABASE_URL (${new URL(databaseUrl).host}); no embedded PostgreSQL`);
    } else {
      const pgOptions = options.postgres ?? { port: 54329, database: "secureauth" };
      database = await startLocalPostgres({
        ...pgOptions,
        onUnexpectedExit: (code, signal) => options.onDatabaseExit?.(`PostgreSQL exited (${signal ?? `code ${code}`})`),
      });
      databaseUrl = database.url;
      options.log(
        `embedded PostgreSQL on 127.0.0.1:${pgOptions.port}` +
          (pgOptions.dataDir ? ` (data in ${pgOptions.dataDir})` : " (temporary)"),
      );
    }
    await applyMigrations(databaseUrl);
    options.log("migrations applied");

    const target = new URL(databaseUrl);
    const workerVars: Database["workerVars"] = { DATABASE_URL: databaseUrl };
    // Neon itself speaks WebSocket; any other Postgres goes through the proxy.
    if (!target.hostname.endsWith(".neon.tech")) {
      const address = `${target.hostname}:${target.port || 5432}`;
      proxy = await startWsProxy({ allow: [address], log: options.log });
      workerVars.PG_WS_PROXY = proxy.url;
      options.log(`WebSocket proxy on ${proxy.url} -> ${address}`);
    }
    return { databaseUrl, database, workerVars, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  let db: Database | undefined;
  let mail: MailInbox | undefined;
  let wrangler: WranglerProcess | undefined;
  let envDir: string | undefined;
  let stopped: Promise<void> | undefined;

  const stop = () =>
    (stopped ??= (async () => {
      await wrangler?.stop();
      await mail?.stop().catch((error: unknown) => options.log(`could not stop the mail inbox: ${String(error)}`));
      await db?.stop();
      if (envDir) rmSync(envDir, { recursive: true, force: true });
    })());

  try {
    db = await startDatabase(options);

    // The database URL may hold a password: hand it to wrangler in a private
    // env file, never on its command line (visible to every user in `ps`).
    envDir = mkdtempSync(join(tmpdir(), "secureauth-dev-"));
    const envFile = join(envDir, "worker.env");
    const secrets = parseEnv(readFileSync(options.secretsFile, "utf8")) as Record<string, string>;
    const variables = workerVariables(secrets, options.vars ?? {}, db.workerVars);
    if (wantsMailInbox(variables)) {
      mail = await startMailInbox();
      options.log(`maildev on ${mail.smtpUrl}, web inbox on ${mail.webUrl}`);
    }
    writeFileSync(envFile, toDotenv(withStackDefaults(variables, options.port, mail?.smtpUrl)), { mode: 0o600 });

    wrangler = spawnWrangler({
      root: options.root,
      args: [
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(options.port),
        "--show-interactive-dev-session=false",
        "--env-file",
        envFile,
        ...(options.persistTo ? ["--persist-to", options.persistTo] : []),
      ],
      output: options.output,
      ...(options.registryPath ? { env: { WRANGLER_REGISTRY_PATH: options.registryPath } } : {}),
    });

    return {
      url: `http://127.0.0.1:${options.port}`,
      databaseUrl: db.databaseUrl,
      database: db.database,
      mailInboxUrl: mail?.webUrl,
      wranglerExited: wrangler.exited,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * What the Worker gets, lowest precedence first: .dev.vars, then the
 * configuration variables of the environment `npm run dev` was started with,
 * then where the stack's own database and proxy are.
 */
export function workerVariables(
  secrets: Record<string, string>,
  vars: Record<string, string>,
  database: Record<string, string | undefined>,
): Record<string, string> {
  const merged: Record<string, string> = { ...secrets, ...vars };
  for (const [name, value] of Object.entries(database)) if (value !== undefined) merged[name] = value;
  return merged;
}

/**
 * Whether the Worker's mail goes to a local inbox: a transport named anywhere
 * (even blank, which means none) is the developer's choice.
 */
export function wantsMailInbox(variables: Record<string, string>): boolean {
  return !("SMTP_URL" in variables) && !("RESEND_API_KEY" in variables);
}

/**
 * What the stack sets itself: the local inbox as SMTP_URL, and APP_URL on the
 * port it runs on (the mailed links open the service's own pages) unless the
 * developer names their app.
 */
export function withStackDefaults(
  variables: Record<string, string>,
  port: number,
  inboxSmtpUrl: string | undefined,
): Record<string, string> {
  return {
    ...variables,
    ...(inboxSmtpUrl !== undefined ? { SMTP_URL: inboxSmtpUrl } : {}),
    // The mailed links open the service's own pages on the port it runs on, unless the developer names their app.
    ...("APP_URL" in variables ? {} : { APP_URL: `http://localhost:${port}` }),
    // Cookie mode from the service's own pages needs their origin allowed (its CSRF rule), as in production.
    ...("ALLOWED_ORIGINS" in variables ? {} : { ALLOWED_ORIGINS: `http://localhost:${port}` }),
  };
}

export { configFromEnvironment };

export type MailInbox = { smtpUrl: string; webUrl: string; stop(): Promise<void> };

/**
 * maildev on free ports of 127.0.0.1, keeping mail in memory: it catches
 * every mail the Worker sends (no AUTH, no STARTTLS, so smtp:// in the clear)
 * and shows it in its web inbox (and a line per mail on the console, unless
 * silent).
 */
export async function startMailInbox(options: { silent?: boolean } = {}): Promise<MailInbox> {
  // Loaded only here: it takes seconds, and the bench and the tests import this module.
  const { MailDev } = await import("maildev");
  const [smtp, web] = await freePorts(2);
  const maildev = new MailDev({ smtp, ip: "127.0.0.1", web, webIp: "127.0.0.1", silent: options.silent ?? false });
  await maildev.start();
  return { smtpUrl: `smtp://127.0.0.1:${smtp}`, webUrl: `http://127.0.0.1:${web}`, stop: () => maildev.stop() };
}

export type WranglerProcess = {
  /** Resolves with the exit code when wrangler exits for any reason. */
  exited: Promise<number | null>;
  /** SIGTERM to wrangler's process group (workerd, esbuild), SIGKILL to what outlives it. */
  stop(): Promise<void>;
};

/** Runs the project's wrangler in its own process group, offline-friendly. */
export function spawnWrangler(options: {
  root: string;
  args: string[];
  cwd?: string;
  output: DevStackOptions["output"];
  env?: Record<string, string>;
}): WranglerProcess {
  const child = spawn(process.execPath, [`${options.root}node_modules/wrangler/bin/wrangler.js`, ...options.args], {
    cwd: options.cwd ?? options.root,
    // Its own process group, so stop() ends workerd and esbuild with it.
    detached: true,
    stdio: options.output === "inherit" ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      // Offline, miniflare's fetch of Request.cf metadata only fails noisily.
      CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
      CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true",
      // This checkout's own registry of dev Workers, so a second checkout's
      // `wrangler dev` (or a consumer Worker's) never binds to this one.
      WRANGLER_REGISTRY_PATH: process.env.WRANGLER_REGISTRY_PATH ?? join(options.root, ".wrangler", "registry"),
      CLOUDFLARE_INCLUDE_PROCESS_ENV: "false",
      ...options.env,
    },
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  if (typeof options.output === "function") {
    for (const stream of [child.stdout, child.stderr]) forwardLines(stream, options.output);
  }
  let stopped: Promise<void> | undefined;
  return { exited, stop: () => (stopped ??= stopProcessGroup(child, exited)) };
}

async function stopProcessGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {}
  };
  signalGroup("SIGTERM");
  const timedOut = await Promise.race([exited.then(() => false), delay(WRANGLER_STOP_TIMEOUT_MS).then(() => true)]);
  // Whatever of the group outlived wrangler (a workerd it did not reap).
  signalGroup("SIGKILL");
  if (timedOut) await Promise.race([exited, delay(1000)]);
}

function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  stream.on("end", () => buffered && onLine(buffered));
}

/**
 * Serialises variables for wrangler's --env-file loader (dotenv, then
 * dotenv-expand): single quotes keep JSON intact, and `$` is escaped so no
 * value is expanded.
 */
export function toDotenv(vars: Record<string, string>): string {
  return `${Object.entries(vars)
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a variable name: ${name}`);
      if (/[\r\n]/.test(value)) throw new Error(`${name}: multi-line values are not supported`);
      const escaped = value.replace(/\$/g, "\\$");
      const quote = !escaped.includes("'") ? "'" : !escaped.includes("`") ? "`" : '"';
      if (quote === '"' && escaped.includes('"')) throw new Error(`${name}: value holds every quote character`);
      return `${name}=${quote}${escaped}${quote}`;
    })
    .join("\n")}\n`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
