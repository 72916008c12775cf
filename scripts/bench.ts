// `npm run bench`: the performance budgets (docs/benchmark.md), measured locally and
// printed as one table. The request-path rows are medians of the ratios of
// BENCH_PAIRS (7) pairs of alternating rounds, autocannon straight to each
// Worker's own socket in one workerd:
//   1. GET /health vs a plain Hono Worker that sets the same security headers
//      with Hono's secureHeaders (bench/workers/hono-secure-headers), at
//      wrangler's defaults (budget >= 0.95x): what the service's edge costs a
//      route that needs nothing.
//   2. GET /auth/verify with a token of a session never seen before, new on
//      every request, vs a bare Worker that only runs jose's jwtVerify with
//      the same key on the same tokens (bench/workers/jose-verify; budget
//      >= 0.9x), and the storage operations per such verify (budget 0 after
//      the first catch-up): Durable Object and KV calls counted at the binding by an entry
//      module in front of the unchanged bundle (bench/workers/counting-entry),
//      Postgres statements from pg_stat_statements (scripts/lib/storage-operations.ts). For information, the
//      same verify against the jose Worker answering as the contract does (the claims and the service's own
//      headers): with the answer on both sides, the ratio is the check's own cost.
//   3. GET /auth/verify with one client's token vs GET /health (budget >= 0.9x),
//      and for information its floor: the same two answers replayed, byte for
//      byte, by a Worker that checks nothing (bench/workers/answer-replay),
//      which is what the bigger request and answer alone cost.
//   3b. Revocation propagation between two isolates over one feed: logouts
//      through one, each token watched from another that shares only the
//      Durable Object; p50 and p99 from the logout's request to the first
//      401 there (budget p99 < 2 s; scripts/lib/propagation.ts).
//   4. POST /auth/login server time vs one argon2id verify, for information:
//      a ratio to one hash has no physical floor (login is two statements, a
//      signature and the hash; the faster the hash, the larger the ratio).
//      The hash runs in a second Worker in the same workerd process, calling
//      the service's own PasswordHasher on the very PHC string the service
//      stored for the bench user.
//   5. SQL statements the Worker sends for one refresh, from
//      pg_stat_statements (budget 1).
//   6. POST /auth/password/forgot latency for an existing account vs an
//      unknown email (budget: within 10%), medians of interleaved samples:
//      the answer must not tell which addresses have accounts.
//   7. The deployable bundle, gzip (budget < 1 MiB), from
//      `wrangler deploy --dry-run --outdir dist`.
// The Worker under test is that built bundle, run by Miniflare (workerd) with
// wrangler.toml's bindings and [vars] (so the production argon2 parameters),
// fresh keys, and a temporary embedded PostgreSQL behind the same WebSocket
// proxy as `npm run dev`. Requests go straight to workerd: wrangler dev's
// extra proxy hop would add the same cost to every request and flatter the
// throughput ratio.
// Every process it starts is stopped on exit, on error, and on Ctrl-C.
// Exit code: 0 when every budget holds, 1 otherwise.
import { guardRun } from "./lib/run-guard.ts";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";
import pg from "pg";
import { unstable_readConfig } from "wrangler";
import { bundleBytes, bundleModules } from "./lib/bundle-modules.ts";
import { measurePropagation } from "./lib/propagation.ts";
import { queueOptions } from "./lib/miniflare-queues.ts";
import { freePorts } from "./lib/free-ports.ts";
import { spawnWrangler, startDatabase, type Database, type WranglerProcess } from "./lib/dev-stack.ts";
import { generateSecret, generateSigningKey } from "./lib/signing-keys.ts";
import { durableObjectOptions } from "./lib/miniflare-durable-objects.ts";
import {
  countStorage,
  describeStorage,
  bindingOperations,
  postgresStatements,
  type StorageCounter,
} from "./lib/storage-operations.ts";

type AutocannonResult = {
  duration: number;
  "2xx": number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
};
type Autocannon = (options: {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  /** ms between autocannon's samples; it notices the end of an `amount` only at a sample. */
  sampleInt?: number;
  headers?: Record<string, string>;
  requests?: {
    setupRequest: (request: { headers?: Record<string, string> }) => { headers?: Record<string, string> };
  }[];
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const root = fileURLToPath(new URL("..", import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
/**
 * Pairs of alternating rounds in the request-path comparisons (no-op, cold verify, verify): the ratio is the median of
 * theirs.
 */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 7);
/** Register, a warm-up login, these, and a refresh stay under the 30/min IP rate limit. */
const LOGINS = 15;
/** The whole run is cut off after this, whatever it is doing. */
const OVERALL_TIMEOUT_MS = 10 * 60_000;

const BUDGET = {
  noopVsSecureHeadersHono: 0.95,
  neverSeenVsJose: 0.9,
  /**
   * Per never-seen verify, after the first catch-up (the warm-up), to two decimals: what is left is the feed's
   * once-a-second refresh and its alarm's drain, which do not grow with the requests.
   */
  neverSeenStorageOperations: 0.005,
  verifyVsHealth: 0.9,
  refreshStatements: 1,
  /** Milliseconds from a logout's request to another isolate's first refusal, at the 99th percentile. */
  propagationP99Ms: 2000,
  forgotSpread: 0.1,
  bundleGzipBytes: 1024 * 1024,
};
const DATABASE_NAME = "secureauth_bench";
/** Revocations the propagation row measures (BENCH_PROPAGATION_SAMPLES). */
const PROPAGATION_SAMPLES = Number(process.env.BENCH_PROPAGATION_SAMPLES ?? 40);
/**
 * Pairs of forgot-password samples (existing, unknown); each request comes from its own client address, so the
 * per-network limit does not cut the run short.
 */
const FORGOT_PAIRS = 40;

const log = (line: string) => console.log(`bench: ${line}`);
const workDir = mkdtempSync(join(tmpdir(), "secureauth-bench-"));
let database: Database | undefined;
let db: pg.Client | undefined;
let miniflare: Miniflare | undefined;
let building: WranglerProcess | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    await building?.stop();
    await miniflare?.dispose().catch(() => {});
    await db?.end().catch(() => {});
    await database?.stop();
    rmSync(workDir, { recursive: true, force: true });
  })());
}

const guard = guardRun({ log, cleanup, timeoutMs: OVERALL_TIMEOUT_MS });

type Row = { metric: string; measured: string; budget: string; pass: boolean | undefined; note?: string };
const rows: Row[] = [];

try {
  const bundle = await buildBundle(root, join(root, "dist"));
  rows.push(bundleRow(bundle));
  const reference = await buildBundle(
    writeReferenceWorker(join(workDir, "argon2-reference")),
    join(workDir, "argon2-reference", "dist"),
  );
  // The ceilings, each at wrangler's defaults: a plain Hono Worker with the same security headers, and a bare jose
  // verify.
  const secureHeadersHono = await buildBundle(
    join(root, "bench/workers/hono-secure-headers"),
    join(workDir, "hono-secure-headers", "dist"),
  );
  const joseVerify = await buildBundle(join(root, "bench/workers/jose-verify"), join(workDir, "jose-verify", "dist"));
  const answerReplay = await buildBundle(
    join(root, "bench/workers/answer-replay"),
    join(workDir, "answer-replay", "dist"),
  );

  const [port, pgPort] = (await freePorts(2)) as [number, number];
  database = await startDatabase({
    postgres: {
      port: pgPort,
      database: DATABASE_NAME,
      flags: ["-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all"],
    },
    log,
    onDatabaseExit: (reason) => log(`${reason}: the results are not valid`),
  });

  // wrangler.toml's compatibility settings, bindings and [vars] (so the
  // production argon2 parameters), with fresh secrets; .dev.vars is not read.
  const config = unstable_readConfig({ config: join(root, "wrangler.toml") });
  const compatibility = {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
  };
  const signingKey = await generateSigningKey();
  const { d: _private, ...publicKey } = signingKey;
  const vars = config.vars as Record<string, string>;
  const secrets = { JWT_SIGNING_KEYS: JSON.stringify([signingKey]), REFRESH_TOKEN_SECRET: generateSecret() };
  const storageBindings = Object.keys(durableObjectOptions(config));
  const secureauth = {
    ...compatibility,
    ratelimits: Object.fromEntries(config.ratelimits.map((limit: { name: string }) => [limit.name, limit])),
    ...queueOptions(config.queues),
    bindings: { ...vars, ...secrets, ...database.workerVars },
    // Its own socket, like the ceilings': no entry-worker hop for either side of a comparison.
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  };
  // Miniflare 5 still takes the familiar (v4) option shape through this converter.
  miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      workers: [
        // Every module of the build (the hasher's argon2.wasm too), not the script alone.
        // It holds the revocation feed's Durable Object; the other isolates of the bundle bind to it there.
        {
          ...secureauth,
          name: "secureauth",
          durableObjects: durableObjectOptions(config),
          ...bundleModules(bundle.script),
        },
        // The same bundle and bindings behind the counting entry: the never-seen verify row, whose storage
        // operations are counted. Its own isolate; the other rows go to the bundle alone.
        {
          ...secureauth,
          name: "secureauth-counted",
          // A queue has one consumer: the Worker above.
          queueConsumers: {},
          durableObjects: durableObjectOptions(config, "secureauth"),
          ...countingEntry(bundle.script, storageBindings),
        },
        // Another location for the propagation row: its own isolate and no location cache shared with the first,
        // so it learns a revocation from the feed alone.
        {
          ...secureauth,
          name: "secureauth-elsewhere",
          queueConsumers: {},
          cache: false,
          durableObjects: durableObjectOptions(config, "secureauth"),
          ...bundleModules(bundle.script),
        },
        {
          name: "hono-secure-headers",
          ...bundleModules(secureHeadersHono.script),
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
          ...compatibility,
        },
        {
          name: "jose-verify",
          ...bundleModules(joseVerify.script),
          bindings: {
            JWT_PUBLIC_JWK: JSON.stringify(publicKey),
            JWT_ISSUER: vars.JWT_ISSUER ?? "https://auth.secureauth.dev",
            JWT_AUDIENCE: vars.JWT_AUDIENCE ?? "secureauth",
          },
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
          ...compatibility,
        },
        {
          name: "answer-replay",
          ...bundleModules(answerReplay.script),
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
          ...compatibility,
        },
        {
          name: "argon2-reference",
          // Every module of the build (the hasher's argon2.wasm too), not the script alone.
          ...bundleModules(reference.script),
          ...compatibility,
        },
      ],
    } as V4MiniflareOptions),
  );
  guard.retakeSignals();
  const url = (await miniflare.ready).origin;
  const argon2Reference = (await miniflare.getWorker("argon2-reference")) as unknown as {
    fetch(
      url: string,
      init: { method: string; headers: Record<string, string>; body: string },
    ): Promise<{ status: number; text(): Promise<string> }>;
  };
  const ready = await fetch(`${url}/health/ready`);
  if (ready.status !== 200) throw new Error(`GET /health/ready answered ${ready.status}: ${await ready.text()}`);
  log(`the built Worker runs on ${url} (workerd via Miniflare)`);
  const directUrl = (await miniflare.unsafeGetDirectURL("secureauth")).origin;
  const countedUrl = (await miniflare.unsafeGetDirectURL("secureauth-counted")).origin;
  const secureHeadersUrl = (await miniflare.unsafeGetDirectURL("hono-secure-headers")).origin;
  const joseUrl = (await miniflare.unsafeGetDirectURL("jose-verify")).origin;
  const elsewhereUrl = (await miniflare.unsafeGetDirectURL("secureauth-elsewhere")).origin;
  const replayUrl = (await miniflare.unsafeGetDirectURL("answer-replay")).origin;

  db = new pg.Client({ connectionString: database.databaseUrl });
  // Stopping the server mid-run (Ctrl-C) must not crash us on the client's error event.
  db.on("error", () => {});
  await db.connect();
  await db.query("create extension if not exists pg_stat_statements");
  // Every store a verify could touch, counted from outside; one line per store.
  const storageCounters: StorageCounter[] = [bindingOperations(countedUrl), postgresStatements(db, DATABASE_NAME)];

  rows.push(await measureNoop(directUrl, secureHeadersUrl));
  rows.push(...(await measureNeverSeen(countedUrl, joseUrl, signingKey, vars, storageCounters)));
  rows.push(await measurePropagationRow(directUrl, elsewhereUrl));
  // BENCH_ONLY=edge: just the rows above and the bundle, for a quick look at the request path.
  if (process.env.BENCH_ONLY === "edge") {
    await cleanup();
    printTable(rows);
    process.exit(rows.every((row) => row.pass !== false) ? 0 : 1);
  }

  const account = await registerBenchUser(url);
  if (!account) {
    const note = "POST /auth/register is missing";
    rows.push(
      {
        metric: "verify / health throughput",
        measured: "n/a",
        budget: `>= ${BUDGET.verifyVsHealth}x`,
        pass: undefined,
        note,
      },
      { metric: "login / argon2id verify", measured: "n/a", budget: "info", pass: undefined, note },
      {
        metric: "refresh SQL statements",
        measured: "n/a",
        budget: `= ${BUDGET.refreshStatements}`,
        pass: undefined,
        note,
      },
    );
  } else {
    rows.push(await measureThroughput(directUrl, account.accessToken));
    rows.push(await measureThroughputFloor(directUrl, replayUrl, account.accessToken));
    const { rows: stored } = await db.query<{ password_hash: string }>(
      "select password_hash from users where email = $1",
      [account.email],
    );
    const phc = stored[0]?.password_hash;
    if (!phc) throw new Error("the bench user's password hash was not found in users.password_hash");
    const hashOnce = async (n: number) => {
      const res = await argon2Reference.fetch("http://argon2-reference/verify", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ phc, password: account.password, n }),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`the argon2id reference Worker answered ${res.status}: ${text}`);
      return text;
    };
    log(`argon2id reference Worker: PasswordHasher engine ${await hashOnce(0)}`);
    const login = await measureLogin(url, hashOnce, account, phc);
    rows.push(login.row);
    rows.push(await measureRefresh(url, db, login.refreshToken));
    rows.push(await measureForgot(url));
  }
} catch (error) {
  // After Ctrl-C, what was running fails as it is torn down: not worth a report.
  if (!cleaning) console.error(`bench: failed: ${error instanceof Error ? error.message : String(error)}`);
  await cleanup();
  process.exit(1);
}

await cleanup();
printTable(rows);
process.exit(rows.every((row) => row.pass !== false) && rows.some((row) => row.pass) ? 0 : 1);

// --- measurements ---------------------------------------------------------

/** A documentation-range address no other request of the run uses. */
function clientAddress(): string {
  const [a, b] = randomBytes(2);
  return `198.18.${a}.${(b! % 254) + 1}`;
}

async function registerBenchUser(url: string, ip?: string) {
  const email = `bench-${randomBytes(6).toString("hex")}@example.com`;
  const password = `bench ${randomBytes(12).toString("base64url")} pass`;
  const res = await fetch(`${url}/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(ip ? { "CF-Connecting-IP": ip } : {}) },
    body: JSON.stringify({ email, password, name: "Bench" }),
  });
  if (res.status === 404) return undefined;
  if (res.status !== 201) throw new Error(`POST /auth/register answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { tokens: { accessToken: string; refreshToken: string } };
  return { email, password, accessToken: body.tokens.accessToken };
}

/**
 * Forgot-password for an existing account against an unknown email, one
 * sample of each in turn; each existing sample uses its own account, each
 * unknown one a fresh address, so no per-email limit is reached. The
 * answer must be the same and take the same time: the request only
 * enqueues, and the queue consumer decides whether there is anyone to mail.
 */
async function measureForgot(url: string): Promise<Row> {
  log(
    `registering ${FORGOT_PAIRS} accounts for forgot-password, then ${FORGOT_PAIRS} interleaved pairs (existing, ` +
      `unknown)`,
  );
  const accounts: string[] = [];
  for (let i = 0; i < FORGOT_PAIRS; i++) accounts.push((await registerBenchUser(url, clientAddress()))!.email);
  const forgot = async (email: string) => {
    const res = await postJson(`${url}/auth/password/forgot`, { email }, { "CF-Connecting-IP": clientAddress() });
    if (res.status !== 202)
      throw new Error(`POST /auth/password/forgot answered ${res.status}: ${JSON.stringify(res.body)}`);
  };
  await forgot(`warmup-${randomBytes(6).toString("hex")}@example.com`);
  const existing: number[] = [];
  const unknown: number[] = [];
  // Which of the pair goes first alternates, so neither gets the warmer position.
  for (const [i, email] of accounts.entries()) {
    const pair = [
      async () => existing.push(await timed(() => forgot(email))),
      async () => unknown.push(await timed(() => forgot(`nobody-${randomBytes(6).toString("hex")}@example.com`))),
    ];
    for (const sample of i % 2 ? pair.reverse() : pair) await sample();
  }
  const ratio = median(existing) / median(unknown);
  return {
    metric: "forgot-password existing / unknown",
    measured: `${ratio.toFixed(2)}x (${median(existing).toFixed(1)} / ${median(unknown).toFixed(1)} ms)`,
    budget: `${(1 - BUDGET.forgotSpread).toFixed(1)}x to ${(1 + BUDGET.forgotSpread).toFixed(1)}x`,
    pass: Math.abs(ratio - 1) <= BUDGET.forgotSpread,
    note: `medians of ${FORGOT_PAIRS} interleaved pairs`,
  };
}

/** Alternating rounds of two targets, the same load each; throughput of each summed over its rounds. */
/**
 * Rounds of A then B, or B then A, alternately; each pair of neighbouring
 * rounds gives one ratio A/B, and the result is their median, so one round
 * disturbed by the machine (the load generator shares its two cores with
 * workerd) moves the result less than it would move a ratio of totals.
 */
async function alternate(
  targets: Record<"a" | "b", Parameters<Autocannon>[0]>,
  label: Record<"a" | "b", string>,
  options: { warmUp?: boolean } = {},
): Promise<{ ratio: number; ratios: number[]; a: number; b: number; bad: number }> {
  // Warm-up: a target of a fixed amount (each request a token never used before) warms with that amount, so no token is
  // used twice.
  if (options.warmUp !== false)
    for (const target of Object.values(targets)) await autocannon(target.amount ? target : { ...target, duration: 2 });
  const totals = { a: { ok: 0, seconds: 0 }, b: { ok: 0, seconds: 0 } };
  const ratios: number[] = [];
  let bad = 0;
  for (let round = 0; round < PAIRS; round++) {
    const rate = { a: 0, b: 0 };
    for (const name of round % 2 ? (["b", "a"] as const) : (["a", "b"] as const)) {
      const started = performance.now();
      const result = await autocannon(targets[name]);
      // Wall time, not autocannon's duration, which counts whole sampling ticks for an `amount`.
      const seconds = (performance.now() - started) / 1000;
      totals[name].ok += result["2xx"];
      totals[name].seconds += seconds;
      rate[name] = result["2xx"] / seconds;
      bad += result.non2xx + result.errors + result.timeouts;
    }
    ratios.push(rate.a / rate.b);
    log(
      `  ${label.a}: ${rate.a.toFixed(0)} req/s, ${label.b}: ${rate.b.toFixed(0)} req/s, ` +
        `${(rate.a / rate.b).toFixed(2)}x`,
    );
  }
  return { ratio: median(ratios), ratios, a: totals.a.ok / totals.a.seconds, b: totals.b.ok / totals.b.seconds, bad };
}

/**
 * Revocation propagation between two isolates over one feed: sessions signed in through the first, each token
 * verified at the second (its own isolate, no location cache shared with the first), logged out through the first;
 * the time from the logout's request to the second's first 401.
 */
async function measurePropagationRow(url: string, elsewhereUrl: string): Promise<Row> {
  log(`revocation propagation: ${PROPAGATION_SAMPLES} logouts, each watched from another isolate`);
  const result = await measurePropagation({
    origin: url,
    elsewhere: elsewhereUrl,
    samples: PROPAGATION_SAMPLES,
    signIn: async () => {
      const account = await registerBenchUser(url, clientAddress());
      if (!account) throw new Error("POST /auth/register is missing");
      return account.accessToken;
    },
  });
  return {
    metric: "revocation propagation, p99 (p50)",
    measured:
      `${result.p99.toFixed(0)} ms (${result.p50.toFixed(0)} ms), max ${result.max.toFixed(0)} ms` +
      (result.failures ? `; ${result.failures} never refused` : ""),
    budget: `p99 < ${BUDGET.propagationP99Ms} ms`,
    pass: result.failures === 0 && result.p99 < BUDGET.propagationP99Ms,
    note: `${result.samples.length} logouts through one isolate, watched from another`,
  };
}

/**
 * The service's GET /health against the ceiling: a plain Hono Worker with that route and the same security headers
 * (Hono's secureHeaders), in the same workerd.
 */
async function measureNoop(url: string, ceilingUrl: string): Promise<Row> {
  const seconds = SECONDS / 4;
  log(
    `no-op: GET /health vs plain Hono with secureHeaders, ${PAIRS} pairs of alternating rounds of ${seconds} s, ` +
      `${CONNECTIONS} connections`,
  );
  const { ratio, a, b, bad } = await alternate(
    {
      a: { url: `${url}/health`, connections: CONNECTIONS, duration: seconds },
      b: { url: `${ceilingUrl}/health`, connections: CONNECTIONS, duration: seconds },
    },
    { a: "secureauth /health", b: "hono secureHeaders /health" },
  );
  return {
    metric: "no-op / Hono with secureHeaders",
    measured: `${ratio.toFixed(2)}x median (${a.toFixed(0)} / ${b.toFixed(0)} req/s)`,
    budget: `>= ${BUDGET.noopVsSecureHeadersHono}x`,
    pass: bad === 0 && ratio >= BUDGET.noopVsSecureHeadersHono,
    note: bad
      ? `${bad} failed requests: not valid`
      : "GET /health of each, the same security headers, the same workerd; the ceiling at wrangler's defaults",
  };
}

/**
 * GET /auth/verify where every request carries a token of a session no
 * request has shown before, against a bare Worker that runs jose's jwtVerify
 * with the same key on the same tokens; and the storage operations each such
 * verify costs, counted from outside over the measured rounds (the warm-up
 * is the first catch-up). The tokens are signed here with the bench's own
 * key, as the service signs them, for sessions that were never ended.
 */
async function measureNeverSeen(
  url: string,
  joseUrl: string,
  signingKey: Awaited<ReturnType<typeof generateSigningKey>>,
  vars: Record<string, string>,
  counters: readonly StorageCounter[],
): Promise<Row[]> {
  const perRound = Number(process.env.BENCH_COLD_TOKENS ?? 1500);
  // The service's rounds and warm-up take tokens from one list, so it never sees a token twice; the jose Worker,
  // which remembers nothing, verifies the same tokens from the start of the list.
  // Two comparisons (jose's bare answer, then jose answering as the contract does), each with its warm-up round.
  const rounds = 2 * (PAIRS + 1);
  log(`never-seen verify: signing ${perRound * rounds} tokens of distinct sessions`);
  const { importJWK, SignJWT } = await import("jose");
  const key = await importJWK(signingKey, "EdDSA");
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < perRound * rounds + 1; i++) {
    tokens.push(
      await new SignJWT({
        sub: crypto.randomUUID(),
        sid: crypto.randomUUID(),
        jti: crypto.randomUUID(),
        client_id: "secureauth",
        roles: ["user"],
        permissions: ["profile:read"],
        email_verified: true,
        gv: 0,
      })
        .setProtectedHeader({ alg: "EdDSA", kid: signingKey.kid, typ: "at+jwt" })
        .setIssuer(vars.JWT_ISSUER ?? "https://auth.secureauth.dev")
        .setAudience(vars.JWT_AUDIENCE ?? "secureauth")
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(key),
    );
  }
  const check = tokens.pop()!;
  const next = { secureauth: 0, jose: 0 };
  const fresh = (side: keyof typeof next) => ({
    setupRequest: (request: { headers?: Record<string, string> }) => {
      if (next[side] === tokens.length) throw new Error(`the never-seen tokens ran out (${side})`);
      return { ...request, headers: { ...request.headers, Authorization: `Bearer ${tokens[next[side]++]}` } };
    },
  });
  let contractHeaders: [string, string][] = [];
  for (const [name, target] of [
    ["GET /auth/verify", url],
    ["the jose Worker", joseUrl],
  ] as const) {
    const res = await fetch(`${target}${target === url ? "/auth/verify" : "/verify"}`, {
      headers: { Authorization: `Bearer ${check}` },
    });
    if (res.status !== 200)
      throw new Error(`${name} with a signed bench token answered ${res.status}: ${await res.text()}`);
    // The service's constant headers (all but the identity ones and the length), for the jose Worker's contract answer.
    if (target === url)
      contractHeaders = [...res.headers].filter(([header]) => !/^(x-auth-|content-length$)/.test(header));
    await res.arrayBuffer();
  }
  const posted = await fetch(`${joseUrl}/__headers`, { method: "POST", body: JSON.stringify(contractHeaders) });
  if (posted.status !== 204) throw new Error(`the jose Worker refused the contract's headers: ${posted.status}`);
  log(
    `never-seen verify vs jose jwtVerify: ${PAIRS} pairs of alternating rounds, ${perRound} requests each, ` +
      `${CONNECTIONS} connections`,
  );
  const target = (base: string, path: string, side: keyof typeof next) => ({
    url: `${base}${path}`,
    connections: CONNECTIONS,
    amount: perRound,
    sampleInt: 20,
    requests: [fresh(side)],
  });
  const targets = { a: target(url, "/auth/verify", "secureauth"), b: target(joseUrl, "/verify", "jose") };
  // The warm-up is the first catch-up: the storage operations are counted over the measured rounds after it.
  for (const warm of Object.values(targets)) await autocannon(warm);
  const verifiedBefore = next.secureauth;
  let measured: Awaited<ReturnType<typeof alternate>> | undefined;
  const ops = await countStorage(counters, async () => {
    measured = await alternate(targets, { a: "verify, never-seen session", b: "jose jwtVerify" }, { warmUp: false });
  });
  const verifies = next.secureauth - verifiedBefore;
  const { ratio, a, b, bad } = measured!;

  // The same comparison with the contract's answer on both sides: what is left is the check's own cost.
  log("never-seen verify vs jose jwtVerify answering as the contract does");
  const asContract = { a: targets.a, b: target(joseUrl, "/verify-as-contract", "jose") };
  for (const warm of Object.values(asContract)) await autocannon(warm);
  const same = await alternate(
    asContract,
    { a: "verify, never-seen session", b: "jose jwtVerify, the contract's answer" },
    { warmUp: false },
  );
  return [
    {
      metric: "never-seen verify / jose jwtVerify",
      measured: `${ratio.toFixed(2)}x median (${a.toFixed(0)} / ${b.toFixed(0)} req/s)`,
      budget: `>= ${BUDGET.neverSeenVsJose}x`,
      pass: bad === 0 && ratio >= BUDGET.neverSeenVsJose,
      note: bad
        ? `${bad} failed requests: not valid`
        : "a token of a session never seen before on every request; the jose Worker checks the same tokens",
    },
    {
      metric: "never-seen verify / jose, the same answer",
      measured: `${same.ratio.toFixed(2)}x median (${same.a.toFixed(0)} / ${same.b.toFixed(0)} req/s)`,
      budget: "info",
      pass: undefined,
      note: same.bad
        ? `${same.bad} failed requests: not valid`
        : "the jose Worker answers as GET /auth/verify does (the claims, the same headers): the check's own cost",
    },
    {
      metric: "storage operations per never-seen verify",
      measured: describeStorage(ops, verifies),
      budget: "0.00 per request",
      pass: ops.total / Math.max(verifies, 1) < BUDGET.neverSeenStorageOperations,
      note:
        "after the first catch-up (the warm-up), counted from outside the service's code; what remains is the " +
        "feed's once-a-second refresh and drain, not per request",
    },
  ];
}

async function measureThroughput(url: string, accessToken: string): Promise<Row> {
  const targets = {
    health: { url: `${url}/health`, headers: undefined },
    verify: { url: `${url}/auth/verify`, headers: { Authorization: `Bearer ${accessToken}` } },
  };
  const check = await fetch(targets.verify.url, { headers: targets.verify.headers });
  if (check.status !== 200) throw new Error(`GET /auth/verify with the bench token answered ${check.status}`);
  await check.arrayBuffer();

  const seconds = SECONDS / 4;
  log(`verify vs GET /health: ${PAIRS} pairs of alternating rounds of ${seconds} s, ${CONNECTIONS} connections`);
  const {
    ratio,
    a: verify,
    b: health,
    bad,
  } = await alternate(
    {
      a: { url: targets.verify.url, headers: targets.verify.headers, connections: CONNECTIONS, duration: seconds },
      b: { url: targets.health.url, connections: CONNECTIONS, duration: seconds },
    },
    { a: "verify", b: "health" },
  );
  return {
    metric: "verify / health throughput",
    measured: `${ratio.toFixed(2)}x median (${verify.toFixed(0)} / ${health.toFixed(0)} req/s)`,
    budget: `>= ${BUDGET.verifyVsHealth}x`,
    pass: bad === 0 && ratio >= BUDGET.verifyVsHealth,
    note: bad ? `${bad} failed requests: not valid` : "straight to workerd; one token, as a client reuses it",
  };
}

/**
 * The floor of the row above, for information: a Worker that checks nothing replays the service's own answers to
 * GET /auth/verify (for the same token, sent the same way) and GET /health, byte for byte, in the same alternating
 * rounds. What is left of the ratio is the cost of the bigger request (the token) and answer (the claims, four
 * identity headers, no-store) to workerd and to the load generator: the most the verify row can reach on this machine.
 */
async function measureThroughputFloor(url: string, replayUrl: string, accessToken: string): Promise<Row> {
  const headers = { Authorization: `Bearer ${accessToken}` };
  const captured = async (res: Response) => ({ status: res.status, headers: [...res.headers], body: await res.text() });
  const answers = {
    verify: await captured(await fetch(`${url}/auth/verify`, { headers })),
    health: await captured(await fetch(`${url}/health`)),
  };
  const handed = await fetch(`${replayUrl}/__answers`, { method: "POST", body: JSON.stringify(answers) });
  if (handed.status !== 204) throw new Error(`the answer-replaying Worker answered ${handed.status}`);
  const seconds = SECONDS / 4;
  log(`the floor: both answers replayed, ${PAIRS} pairs of alternating rounds of ${seconds} s`);
  const { ratio, a, b, bad } = await alternate(
    {
      a: { url: `${replayUrl}/auth/verify`, headers, connections: CONNECTIONS, duration: seconds },
      b: { url: `${replayUrl}/health`, connections: CONNECTIONS, duration: seconds },
    },
    { a: "verify's answer replayed", b: "health's answer replayed" },
  );
  return {
    metric: "verify / health floor, answers replayed",
    measured: `${ratio.toFixed(2)}x median (${a.toFixed(0)} / ${b.toFixed(0)} req/s)`,
    budget: "info",
    pass: undefined,
    note: bad
      ? `${bad} failed requests: not valid`
      : "the same two answers, byte for byte, from a Worker that checks nothing: what their sizes alone cost",
  };
}

/**
 * Login server time: the client-side latency of a login minus the latency of
 * GET /health (the transport and framework floor every request pays). Hash
 * time: a reference request running one verify minus one running none, so
 * the reference pays what a login pays, one argon2id per request. Samples
 * are interleaved (hash pair, login, hash pair, login, ...) so drift in
 * machine load hits both sides alike; the medians are compared.
 */
async function measureLogin(
  url: string,
  hashOnce: (n: number) => Promise<unknown>,
  account: { email: string; password: string },
  phc: string,
) {
  const login = async () => {
    const res = await postJson(`${url}/auth/login`, { email: account.email, password: account.password });
    if (res.status !== 200) throw new Error(`POST /auth/login answered ${res.status}: ${JSON.stringify(res.body)}`);
    return (res.body as { tokens: { refreshToken: string } }).tokens.refreshToken;
  };

  log(
    `timing ${LOGINS} sequential logins, each next to a reference argon2id verify at the stored parameters ` +
      `(${phc.split("$")[3]})`,
  );
  // Warm-up: the first argon2 and the first login of each isolate compile code.
  await hashOnce(1);
  await login();
  const healthSamples: number[] = [];
  for (let i = 0; i < 20; i++)
    healthSamples.push(await timed(() => fetch(`${url}/health`).then((r) => r.arrayBuffer())));

  const hashSamples: number[] = [];
  const loginSamples: number[] = [];
  let refreshToken = "";
  for (let i = 0; i < LOGINS; i++) {
    const none = await timed(() => hashOnce(0));
    const one = await timed(() => hashOnce(1));
    hashSamples.push(one - none);
    loginSamples.push(await timed(async () => void (refreshToken = await login())));
  }

  const floor = median(healthSamples);
  const loginMs = median(loginSamples) - floor;
  const hashMs = median(hashSamples);
  const ratio = loginMs / hashMs;
  return {
    refreshToken,
    row: {
      metric: "login / argon2id verify",
      measured: `${ratio.toFixed(2)}x (${loginMs.toFixed(0)} / ${hashMs.toFixed(0)} ms)`,
      budget: "info",
      pass: undefined,
      note:
        `no target: a ratio to one hash has no physical floor (login also runs two statements and a signature); ` +
        `medians of ${LOGINS}; login ${median(loginSamples).toFixed(0)} ms minus ${floor.toFixed(1)} ms /health floor`,
    } satisfies Row,
  };
}

async function measureRefresh(url: string, db: pg.Client, refreshToken: string): Promise<Row> {
  await db.query("select pg_stat_statements_reset()");
  const res = await postJson(`${url}/auth/refresh`, { refreshToken });
  if (res.status !== 200) throw new Error(`POST /auth/refresh answered ${res.status}: ${JSON.stringify(res.body)}`);
  // The Worker closes its pool after the response; let the backend finish.
  await new Promise((resolve) => setTimeout(resolve, 500));
  // track=all also records statements run inside the server (foreign-key
  // checks, functions); the budget counts what the Worker sends: top level.
  const { rows: statements } = await db.query<{ calls: string; query: string; toplevel: boolean }>(
    `select calls, query, toplevel from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query not ilike '%pg_stat_statements%'
      order by toplevel desc, calls desc, query`,
  );
  const count = (toplevel: boolean) =>
    statements.filter((s) => s.toplevel === toplevel).reduce((sum, s) => sum + Number(s.calls), 0);
  const topLevel = count(true);
  const nested = count(false);
  log("statements of one refresh (pg_stat_statements):");
  for (const s of statements) {
    log(`  ${s.toplevel ? "" : "(nested) "}${s.calls} x ${s.query.replace(/\s+/g, " ").slice(0, 140)}`);
  }
  return {
    metric: "refresh SQL statements",
    measured: String(topLevel),
    budget: `= ${BUDGET.refreshStatements}`,
    pass: topLevel === BUDGET.refreshStatements,
    note:
      `sent by the Worker, from ` +
      `pg_stat_statements${nested ? `; plus ${nested} run by Postgres inside it (foreign-key checks)` : ""}`,
  };
}

type Bundle = { script: string; reported: string | undefined };

/** What a project directory builds, for the log. */
function bundleName(projectDir: string): string {
  if (projectDir === root) return "the deployable bundle";
  if (projectDir.includes("hono")) return "the plain Hono Worker with secureHeaders";
  if (projectDir.includes("answer-replay")) return "the answer-replaying Worker";
  return projectDir.includes("jose") ? "the bare jose verify Worker" : "the argon2id reference Worker";
}

/** `wrangler deploy --dry-run --outdir`: the exact script a deploy would upload. */
async function buildBundle(projectDir: string, outdir: string): Promise<Bundle> {
  rmSync(outdir, { recursive: true, force: true });
  log(`building ${bundleName(projectDir)}: wrangler deploy --dry-run --outdir ${outdir}`);
  const output: string[] = [];
  const build = (building = spawnWrangler({
    root,
    cwd: projectDir,
    args: ["deploy", "--dry-run", "--outdir", outdir, "--config", join(projectDir, "wrangler.toml")],
    output: (line) => output.push(line),
  }));
  const code = await build.exited;
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed (${code}):\n${output.slice(-20).join("\n")}`);
  const reported = output
    .map((line) => /Total Upload: .*$/.exec(line.replace(/\u001b\[[0-9;]*m/g, ""))?.[0])
    .find(Boolean);
  // One module, named after the entry point (src/index.ts -> index.js).
  const scripts = readdirSync(outdir).filter((name) => name.endsWith(".js"));
  if (scripts.length !== 1) throw new Error(`expected one script in ${outdir}, found ${scripts.join(", ") || "none"}`);
  return { script: join(outdir, scripts[0]!), reported };
}

function bundleRow(bundle: Bundle): Row {
  // The script and the modules beside it (argon2.wasm), each gzipped.
  const { raw, gzip: gzipBytes, modules } = bundleBytes(bundle.script);
  return {
    metric: "bundle, gzip",
    measured: `${(gzipBytes / 1024).toFixed(0)} KiB (raw ${(raw / 1024).toFixed(0)} KiB, ${modules} modules)`,
    budget: `< ${BUDGET.bundleGzipBytes / 1024} KiB`,
    pass: gzipBytes < BUDGET.bundleGzipBytes,
    note: bundle.reported ? `wrangler: ${bundle.reported}` : undefined,
  };
}

/** A Worker that runs the service's own PasswordHasher.verify n times per request. */
function writeReferenceWorker(dir: string): string {
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
    readFileSync(join(root, "wrangler.toml"), "utf8"),
  )?.[1];
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "worker.ts"),
    `import { PasswordHasher } from ${JSON.stringify(join(root, "src/features/accounts/passwords/hasher.ts"))};
import { parseArgon2idHash } from ${JSON.stringify(join(root, "src/features/accounts/passwords/phc.ts"))};
export default {
  async fetch(request: Request): Promise<Response> {
    const { phc, password, n } = (await request.json()) as { phc: string; password: string; n: number };
    const stored = parseArgon2idHash(phc);
    if (!stored) return new Response("not an argon2id PHC string", { status: 400 });
    const hasher = new PasswordHasher(stored.params);
    for (let i = 0; i < n; i++) {
      if (!(await hasher.verify(phc, password))) return new Response("password mismatch", { status: 500 });
    }
    // The argon2id implementation it ran ("wasm" when argon2.wasm loaded), for the log.
    return new Response(await hasher.engine());
  },
};
`,
  );
  writeFileSync(
    join(dir, "wrangler.toml"),
    `name = "secureauth-argon2-reference"\nmain = "worker.ts"\ncompatibility_date = ` +
      `"${compatibilityDate}"\ncompatibility_flags = ["nodejs_compat"]\n`,
  );
  return dir;
}

/**
 * The bundle's modules behind bench/workers/counting-entry: a copy of the build's directory with the entry module
 * beside the unchanged script, told the storage binding names to count.
 */
function countingEntry(script: string, storageBindings: string[]): ReturnType<typeof bundleModules> {
  const dir = join(workDir, "counted");
  rmSync(dir, { recursive: true, force: true });
  cpSync(dirname(script), dir, { recursive: true });
  const entry = readFileSync(join(root, "bench/workers/counting-entry/entry.js"), "utf8")
    .replace("/* STORAGE_BINDINGS */ []", JSON.stringify(storageBindings))
    .replace('"./index.js"', JSON.stringify(`./${basename(script)}`));
  const entryPath = join(dir, "bench-counting-entry.js");
  writeFileSync(entryPath, entry);
  const { modules, modulesRoot } = bundleModules(join(dir, basename(script)));
  // The entry first (Miniflare's main module), then every module of the build; the map files are not modules.
  return {
    modules: [{ type: "ESModule", path: entryPath }, ...modules.filter((m) => m.path !== entryPath)],
    modulesRoot,
  };
}

// --- helpers ----------------------------------------------------------------

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function printTable(table: Row[]): void {
  const headers = ["metric", "measured", "budget", "result", "note"];
  const cells = table.map((row) => [
    row.metric,
    row.measured,
    row.budget,
    row.pass === undefined ? (row.budget === "info" ? "INFO" : "SKIP") : row.pass ? "PASS" : "FAIL",
    row.note ?? "",
  ]);
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((cell) => cell[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log("");
  console.log(line(headers));
  console.log(line(widths.map((width) => "-".repeat(width))));
  for (const cell of cells) console.log(line(cell));
  console.log("");
}
