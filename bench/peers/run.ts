// `npm run bench:peers`: SecureAuth side by side with Better Auth 1.7 and a
// plain Hono Worker (issue 13), reproducibly, on one machine:
//   - every Worker is a built bundle (`wrangler deploy --dry-run --outdir`),
//     SecureAuth's from the root wrangler.toml exactly as `npm run bench`
//     builds it, the peers from bench/peers/workers/*, all in ONE Miniflare
//     (workerd) instance, each on its own direct socket on 127.0.0.1;
//   - one embedded PostgreSQL started by this run, with pg_stat_statements,
//     SecureAuth's tables in database secureauth_bench, Better Auth's in
//     database better_auth, both through the same WebSocket proxy and the
//     same @neondatabase/serverless Pool code path;
//   - for each path, alternating A/B rounds (A = SecureAuth), throughput with
//     autocannon at fixed concurrency, the ratio A/B per round and its median
//     (higher is better for SecureAuth);
//   - SQL statements per operation from pg_stat_statements;
//   - password-hash candidates timed inside workerd.
// Exit code: 0 when the measurement ran (whether targets PASS or FAIL),
// 1 when the harness itself broke.
import { guardRun } from "../../scripts/lib/run-guard.ts";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";
import pg from "pg";
import { unstable_readConfig } from "wrangler";
import { bundleModules } from "../../scripts/lib/bundle-modules.ts";
import { spawnWrangler, startDatabase, type Database, type WranglerProcess } from "../../scripts/lib/dev-stack.ts";
import { freePorts } from "../../scripts/lib/free-ports.ts";
import { generateSecret, generateSigningKey } from "../../scripts/lib/signing-keys.ts";
import { durableObjectOptions } from "../../scripts/lib/miniflare-durable-objects.ts";
import {
  type ColdStart,
  coldStartRatios,
  emptyWorker,
  measureColdStarts,
  mib,
  workerdPids,
} from "../../scripts/lib/cold-start.ts";

// --- settings -----------------------------------------------------------------

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROUNDS = env("PEERS_ROUNDS", 5);
const CONNECTIONS = env("PEERS_CONNECTIONS", 10);
/** Seconds per side per round, for the throughput paths. */
const SECONDS = env("PEERS_SECONDS", 3);
const WARMUP_SECONDS = 1;
/**
 * Verify with a new session per request: requests per side per round, each with a token (session) never used before.
 */
const FRESH_PER_ROUND = env("PEERS_FRESH_PER_ROUND", 400);
const FRESH_WARMUP = 200;
const SIGNIN_CONNECTIONS = env("PEERS_SIGNIN_CONNECTIONS", 2);
const SIGNIN_SECONDS = env("PEERS_SIGNIN_SECONDS", 5);
const SIGNIN_USERS = 6;
/** Operations per pg_stat_statements count. */
const SQL_OPS = 10;
const HASH_SAMPLES = 7;
/** Concurrent requests while minting the session pools. */
const MINT_CONCURRENCY = 8;
/** Sessions per pool account (SecureAuth's mint twin allows MAX_SESSIONS_PER_USER=1000). */
const SESSIONS_PER_ACCOUNT = 900;
/**
 * autocannon resets a connection's context each time it reaches the end of
 * its request list, so a chain (each response feeding the next request) uses
 * a list longer than any round gets through.
 */
const CHAIN_LENGTH = 5_000;

const OVERALL_TIMEOUT_MS = 12 * 60_000;
const TARGETS = { noop: 0.95, noopVsBetterAuth: 1.0, freshVerify: 1.0, signIn: 1.0, coldStart: 1.0 };
/** Fresh starts of each Worker alone, for the cold-start comparison. */
const COLD_ROUNDS = env("PEERS_COLD_ROUNDS", 9);
/**
 * The origin Better Auth believes it serves (baseURL, JWT iss and aud, trusted origin); requests reach it on a direct
 * socket.
 */
const BA_ORIGIN = "http://better-auth.bench";
/** What Cloudflare's edge would add; SecureAuth keys its rate limits and session records on it. */
const CLIENT_HEADERS = { "CF-Connecting-IP": "127.0.0.1" };

const peersDir = fileURLToPath(new URL(".", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));
const buildDir = join(peersDir, ".build");
const started = performance.now();

type AutocannonRequest = {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
};
type AutocannonResult = {
  duration: number;
  requests: { total: number };
  "2xx": number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number; average: number };
};
type Autocannon = (options: {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  sampleInt?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: AutocannonRequest[];
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)(join(root, "node_modules/autocannon")) as Autocannon;

const log = (line: string) => console.log(`bench:peers: ${line}`);
let database: Database | undefined;
let admin: pg.Client | undefined;
let miniflare: Miniflare | undefined;
const building = new Set<WranglerProcess>();
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    await Promise.all([...building].map((b) => b.stop()));
    await miniflare?.dispose().catch(() => {});
    await admin?.end().catch(() => {});
    await database?.stop();
  })());
}

const guard = guardRun({ log, cleanup, timeoutMs: OVERALL_TIMEOUT_MS });

// --- the run ------------------------------------------------------------------

type PathResult = {
  path: string;
  a: string;
  b: string;
  aRps: number[];
  bRps: number[];
  ratios: number[];
  bad: number;
  note: string;
};
const results: PathResult[] = [];
const sqlRows: { operation: string; secureauth: string; betterAuth: string }[] = [];
const hashRows: { candidate: string; ms: string; memory: string; note: string }[] = [];
let coldStarts: ColdStart[] = [];

try {
  // 1. Bundles, all at once.
  log("building bundles (wrangler deploy --dry-run --outdir bench/peers/.build/...)");
  const [secureauthBundle, betterAuthBundle, honoBundle, rpBundle, hashBundle] = await Promise.all([
    buildBundle("secureauth", root, join(root, "wrangler.toml")),
    ...["better-auth", "hono", "relying-party", "hash"].map((name) =>
      buildBundle(name, join(peersDir, "workers", name), join(peersDir, "workers", name, "wrangler.toml")),
    ),
  ]);
  for (const [name, bundle] of Object.entries({
    secureauth: secureauthBundle,
    "better-auth": betterAuthBundle,
    hono: honoBundle,
  }))
    log(`  ${name}: ${bundle!.reported ?? bundle!.script}`);

  // 2. Cold start, before anything else runs: each Worker alone in a fresh workerd, from start to its first answer
  // (SecureAuth's GET /health, Better Auth's GET /api/auth/ok). Every subject gets SecureAuth's bindings (three
  // rate limits, a queue producer; Better Auth and the empty Worker ignore them): Miniflare
  // simulates each with Workers of its own, which start with the process (about 40 ms of CPU here), where
  // Cloudflare's are native. So the floor is an empty Worker with those bindings; one without any is shown for
  // information. Neither no-op opens a database, so none is started yet.
  {
    const config = unstable_readConfig({ config: join(root, "wrangler.toml") });
    const compatibility = {
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
    };
    // SecureAuth's own Durable Object binding (the revocation feed) is its alone: the floor and Better Auth cannot
    // hold its class, so it starts with one binding more than they do.
    const bindings = {
      ratelimits: Object.fromEntries(config.ratelimits.map((limit: { name: string }) => [limit.name, limit])),
      queueProducers: { MAIL_QUEUE: "secureauth-mail" },
    };
    const unused = "postgres://unused@127.0.0.1:1/unused";
    const empty = emptyWorker(compatibility);
    log(`cold start: ${COLD_ROUNDS} rounds, each Worker alone in a fresh workerd, the order rotating`);
    coldStarts = await measureColdStarts(
      [
        { ...empty, worker: { ...empty.worker, ...bindings } },
        { ...empty, name: "empty, no bindings" },
        {
          name: "SecureAuth",
          script: secureauthBundle!.script,
          path: "/health",
          worker: {
            ...compatibility,
            ...bindings,
            durableObjects: durableObjectOptions(config),
            ...bundleModules(secureauthBundle!.script),
            bindings: {
              ...(config.vars as Record<string, string>),
              JWT_SIGNING_KEYS: JSON.stringify([await generateSigningKey()]),
              REFRESH_TOKEN_SECRET: generateSecret(),
              DATABASE_URL: unused,
            },
          },
        },
        {
          name: "Better Auth",
          script: betterAuthBundle!.script,
          path: "/api/auth/ok",
          worker: {
            ...compatibility,
            ...bindings,
            ...bundleModules(betterAuthBundle!.script),
            bindings: { DATABASE_URL: unused, BETTER_AUTH_SECRET: generateSecret(), BETTER_AUTH_URL: BA_ORIGIN },
          },
        },
      ],
      COLD_ROUNDS,
      log,
    );
  }

  // PEERS_ONLY=cold: the cold start alone, a minute instead of seven.
  if (process.env.PEERS_ONLY === "cold") {
    await cleanup();
    console.log("");
    printColdStart();
    coldStartTargets();
    process.exit(0);
  }

  // 3. One PostgreSQL, two databases.
  const [pgPort] = (await freePorts(1)) as [number];
  database = await startDatabase({
    postgres: {
      port: pgPort,
      database: "secureauth_bench",
      flags: [
        "-c",
        "shared_preload_libraries=pg_stat_statements",
        "-c",
        "pg_stat_statements.track=all",
        "-c",
        "max_connections=300",
      ],
    },
    log,
    onDatabaseExit: (reason) => log(`${reason}: the results are not valid`),
  });
  const baDatabaseUrl = database.databaseUrl.replace(/\/secureauth_bench$/, "/better_auth");
  // The harness's own statements go to the postgres database, which no count looks at.
  admin = new pg.Client({ connectionString: database.databaseUrl.replace(/\/secureauth_bench$/, "/postgres") });
  admin.on("error", () => {});
  await admin.connect();
  await admin.query("create extension if not exists pg_stat_statements");
  await admin.query("create database better_auth");
  {
    const ba = new pg.Client({ connectionString: baDatabaseUrl });
    await ba.connect();
    await ba.query(readFileSync(join(peersDir, "workers/better-auth/schema.sql"), "utf8"));
    await ba.end();
  }
  log("Better Auth's tables created in database better_auth");

  // 4. One Miniflare, every Worker on its own direct socket.
  const config = unstable_readConfig({ config: join(root, "wrangler.toml") });
  const compatibility = {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
  };
  const signingKeys = JSON.stringify([await generateSigningKey()]);
  const refreshSecret = generateSecret();
  const baSecret = generateSecret();
  const direct = [{ host: "127.0.0.1", port: 0 }];
  // The production bindings, with the rate limits raised out of reach: the
  // binding is still called on every request, as in production, but one
  // client IP making thousands of requests must not be refused.
  const ratelimits = Object.fromEntries(
    config.ratelimits.map((limit: { name: string; namespace_id: string }) => [
      limit.name,
      { ...limit, simple: { limit: 1_000_000_000, period: 60 } },
    ]),
  );
  const secureauthWorker = (name: string, vars: Record<string, string>) => ({
    ...compatibility,
    name,
    ...bundleModules(secureauthBundle!.script),
    durableObjects: durableObjectOptions(config),
    ratelimits,
    queueProducers: { MAIL_QUEUE: "secureauth-mail" },
    bindings: {
      ...(config.vars as Record<string, string>),
      JWT_SIGNING_KEYS: signingKeys,
      REFRESH_TOKEN_SECRET: refreshSecret,
      ...database!.workerVars,
      ...vars,
    },
    unsafeDirectSockets: direct,
  });
  const betterAuthWorker = (name: string, vars: Record<string, string>) => ({
    ...compatibility,
    name,
    ...bundleModules(betterAuthBundle!.script),
    bindings: {
      DATABASE_URL: baDatabaseUrl,
      PG_WS_PROXY: database!.workerVars.PG_WS_PROXY!,
      BETTER_AUTH_SECRET: baSecret,
      BETTER_AUTH_URL: BA_ORIGIN,
      ...vars,
    },
    unsafeDirectSockets: direct,
  });
  const plain = (name: string, bundle: Bundle, extra: object = {}) => ({
    ...compatibility,
    name,
    ...bundleModules(bundle.script),
    unsafeDirectSockets: direct,
    ...extra,
  });
  const workers = [
    // wrangler.toml's [vars]: the production argon2id m=19456, t=2, p=1.
    secureauthWorker("secureauth", {}),
    // Same bundle, keys, KV and database, cheap argon2: only mints the session pools.
    secureauthWorker("secureauth-mint", {
      ARGON2_MEMORY_KIB: "8",
      ARGON2_ITERATIONS: "1",
      ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: "true",
      MAX_SESSIONS_PER_USER: "1000",
      // Parallel sign-ins of one account count as attempts in flight.
      LOGIN_MAX_FAILURES: "1000",
    }),
    betterAuthWorker("ba", {}),
    betterAuthWorker("ba-cache", { COOKIE_CACHE: "true" }),
    betterAuthWorker("ba-jwt", { JWT_PLUGIN: "true" }),
    betterAuthWorker("ba-renew", { UPDATE_AGE: "0" }),
    betterAuthWorker("ba-mint", { CHEAP_HASH: "true", COOKIE_CACHE: "true", JWT_PLUGIN: "true" }),
    plain("ba-relying-party", rpBundle!, {
      serviceBindings: { AUTH: "ba-jwt" },
      bindings: { BETTER_AUTH_URL: BA_ORIGIN },
    }),
    plain("plain-hono", honoBundle!),
    plain("hash-candidates", hashBundle!),
  ];
  miniflare = new Miniflare(
    convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, workers } as unknown as V4MiniflareOptions),
  );
  guard.retakeSignals();
  await miniflare.ready;
  const url: Record<string, string> = {};
  for (const worker of workers) url[worker.name] = (await miniflare.unsafeGetDirectURL(worker.name)).origin;
  log(`${workers.length} Workers in one workerd: ${workers.map((w) => w.name).join(", ")}`);
  const ready = await fetch(`${url.secureauth}/health/ready`);
  if (ready.status !== 200)
    throw new Error(`SecureAuth GET /health/ready answered ${ready.status}: ${await ready.text()}`);

  // 5. Accounts, sessions and tokens.
  const setupStart = performance.now();
  const password = () => `peer ${randomBytes(12).toString("base64url")} bench`;
  const email = (tag: string) => `${tag}-${randomBytes(6).toString("hex")}@example.com`;

  const saRegister = async (base: string, tag: string) => {
    const account = { email: email(tag), password: password() };
    const res = await postJson(`${base}/auth/register`, { ...account, name: "Bench" });
    if (res.status !== 201) throw new Error(`SecureAuth register answered ${res.status}: ${res.text.slice(0, 300)}`);
    const tokens = (JSON.parse(res.text) as { tokens: { accessToken: string; refreshToken: string } }).tokens;
    return { ...account, ...tokens };
  };
  const baSignUp = async (base: string, tag: string) => {
    const account = { email: email(tag), password: password() };
    const res = await fetch(`${base}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: BA_ORIGIN, ...CLIENT_HEADERS },
      body: JSON.stringify({ ...account, name: "Bench" }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`Better Auth sign-up answered ${res.status}: ${text.slice(0, 300)}`);
    return { ...account, ...sessionFrom(res) };
  };
  const sessionFrom = (res: Response) => sessionFromCookies(res.headers.getSetCookie());
  const sessionFromCookies = (setCookies: string[]) => {
    const cookies = Object.fromEntries(
      setCookies.map((c) => c.split(";")[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    const token = cookies["better-auth.session_token"];
    if (!token) throw new Error(`Better Auth set no session cookie: ${setCookies.join(" | ")}`);
    return { token, data: cookies["better-auth.session_data"] };
  };
  const baJwt = async (cookie: string) => {
    const res = await fetch(`${url["ba-mint"]}/api/auth/token`, { headers: { Cookie: cookie, ...CLIENT_HEADERS } });
    const text = await res.text();
    if (res.status !== 200)
      throw new Error(`Better Auth GET /api/auth/token answered ${res.status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { token: string }).token;
  };
  const sessionCookie = (s: { token: string }) => `better-auth.session_token=${s.token}`;
  const cachedCookie = (s: { token: string; data?: string }) => {
    if (!s.data) throw new Error("Better Auth with cookieCache set no session_data cookie");
    return `better-auth.session_token=${s.token}; better-auth.session_data=${s.data}`;
  };

  // Production-cost accounts, for sign-in and the single-token paths.
  const saMain = await saRegister(url.secureauth!, "sa-main");
  // Not saMain: a fast sign-in path opens more sessions than MAX_SESSIONS_PER_USER
  // (50) per account in its rounds, which would end saMain's session, and so
  // its access token, before the later paths use it.
  const saSignIn: { email: string; password: string }[] = [];
  for (let i = 0; i < SIGNIN_USERS; i++) saSignIn.push(await saRegister(url.secureauth!, "sa-signin"));
  const baMain = await baSignUp(url["ba-mint"]!, "ba-main");
  const baSignIn: { email: string; password: string }[] = [];
  for (let i = 0; i < SIGNIN_USERS; i++) baSignIn.push(await baSignUp(url.ba!, "ba-signin"));
  const baMainJwt = await baJwt(cachedCookie(baMain));
  log(
    `accounts: ${SIGNIN_USERS} per side at default hashing (SecureAuth argon2id via /auth/register, Better Auth ` +
      `scrypt via sign-up/email)`,
  );

  // Session pools, minted on the cheap-hash twins (same keys, same databases).
  // autocannon may build a request per connection past `amount`: some slack.
  const freshCount = FRESH_PER_ROUND * ROUNDS + FRESH_WARMUP + (ROUNDS + 2) * CONNECTIONS;
  const chainSeeds = CONNECTIONS * (ROUNDS + 1) + SQL_OPS;
  // SecureAuth: a few accounts, many sign-ins each (a sign-in is cheaper than a registration).
  const poolSize = freshCount + chainSeeds;
  const saPoolAccounts = await inParallel(
    Math.max(MINT_CONCURRENCY, Math.ceil(poolSize / SESSIONS_PER_ACCOUNT)),
    2,
    () => saRegister(url["secureauth-mint"]!, "sa-pool"),
  );
  const saPool = await inParallel(poolSize, MINT_CONCURRENCY, async (i) => {
    const account = saPoolAccounts[i % saPoolAccounts.length]!;
    const res = await postJson(`${url["secureauth-mint"]}/auth/login`, {
      email: account.email,
      password: account.password,
    });
    if (res.status !== 200)
      throw new Error(`SecureAuth login (mint) answered ${res.status}: ${res.text.slice(0, 300)}`);
    return (JSON.parse(res.text) as { tokens: { accessToken: string; refreshToken: string } }).tokens;
  });
  log(`SecureAuth: ${saPool.length} sessions (sign-ins on the cheap-hash twin) in ${seconds(setupStart)}`);
  const baStart = performance.now();
  const baPoolAccounts = await inParallel(
    Math.max(MINT_CONCURRENCY, Math.ceil(poolSize / SESSIONS_PER_ACCOUNT)),
    2,
    () => baSignUp(url["ba-mint"]!, "ba-pool"),
  );
  const baMintBatch = async (i: number, count: number) => {
    const account = baPoolAccounts[i % baPoolAccounts.length]!;
    const res = await fetch(`${url["ba-mint"]}/bench/mint`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...CLIENT_HEADERS },
      body: JSON.stringify({ email: account.email, password: account.password, count, origin: BA_ORIGIN }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`Better Auth mint answered ${res.status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { cookies: string[]; jwt?: string }[]).map((s) => {
      const session = sessionFromCookies(s.cookies);
      if (!s.jwt) throw new Error("Better Auth's GET /token gave no JWT while minting");
      return { ...session, jwt: s.jwt };
    });
  };
  const BATCH = 50;
  const batches = await inParallel(Math.ceil((freshCount + chainSeeds) / BATCH), 4, (i) => baMintBatch(i, BATCH));
  const baMinted = batches.flat();
  const baPool = baMinted.slice(0, freshCount);
  const baRenewSeeds = baMinted.slice(freshCount, freshCount + chainSeeds);
  log(
    `Better Auth: ${baPool.length + baRenewSeeds.length} sessions (sign-in/email and GET /token on the cheap-hash ` +
      `twin, ${BATCH} per request) in ${seconds(baStart)}`,
  );

  // Every request below must answer 2xx: check each path once.
  const checks: [string, string, Record<string, string>][] = [
    ["SecureAuth /auth/verify", `${url.secureauth}/auth/verify`, { Authorization: `Bearer ${saMain.accessToken}` }],
    ["SecureAuth /me", `${url.secureauth}/me`, { Authorization: `Bearer ${saMain.accessToken}` }],
    [
      "Better Auth get-session (cookie cache)",
      `${url["ba-cache"]}/api/auth/get-session`,
      { Cookie: cachedCookie(baMain) },
    ],
    ["Better Auth get-session", `${url.ba}/api/auth/get-session`, { Cookie: sessionCookie(baMain) }],
    [
      "relying party /verify (Better Auth JWT)",
      `${url["ba-relying-party"]}/verify`,
      { Authorization: `Bearer ${baMainJwt}` },
    ],
    ["plain Hono /health", `${url["plain-hono"]}/health`, {}],
  ];
  for (const [name, target, headers] of checks) {
    const res = await fetch(target, { headers: { ...headers, ...CLIENT_HEADERS } });
    const text = await res.text();
    if (res.status !== 200 || text === "null") throw new Error(`${name} answered ${res.status}: ${text.slice(0, 300)}`);
  }

  // 6. Throughput, alternating rounds.
  const fixed = (target: string, headers: Record<string, string>): Load => ({ url: target, headers });

  await comparePaths("stateless session check", "GET /auth/verify", "get-session, cookieCache hit", {
    a: fixed(`${url.secureauth}/auth/verify`, bearer(saMain.accessToken)),
    b: fixed(`${url["ba-cache"]}/api/auth/get-session`, { Cookie: cachedCookie(baMain), ...CLIENT_HEADERS }),
    note: "one session each, reused",
  });
  await comparePaths("session check reading the DB", "GET /me", "get-session, no cache", {
    a: fixed(`${url.secureauth}/me`, bearer(saMain.accessToken)),
    b: fixed(`${url.ba}/api/auth/get-session`, { Cookie: sessionCookie(baMain), ...CLIENT_HEADERS }),
    note: "one session each; Better Auth updateAge 1 day, so no write",
  });
  await comparePaths("access-token verify", "GET /auth/verify", "jwt plugin token, jose", {
    a: fixed(`${url.secureauth}/auth/verify`, bearer(saMain.accessToken)),
    b: fixed(`${url["ba-relying-party"]}/verify`, bearer(baMainJwt)),
    note: "one token each, reused; relying party holds the JWKS",
  });
  {
    const saTokens = saPool.slice(0, freshCount).map((s) => s.accessToken);
    const baTokens = baPool.map((s) => s.jwt);
    await comparePaths("verify with a never-seen session", "GET /auth/verify", "jwt plugin token, jose", {
      a: pooled(`${url.secureauth}/auth/verify`, saTokens),
      b: pooled(`${url["ba-relying-party"]}/verify`, baTokens),
      amount: FRESH_PER_ROUND,
      warmupAmount: FRESH_WARMUP,
      note: `${FRESH_PER_ROUND} requests per round, each a session (token) never used before`,
    });
  }
  {
    const saSeeds = saPool.slice(freshCount).map((s) => s.refreshToken);
    const baSeeds = baRenewSeeds.map((s) => sessionCookie(s));
    await comparePaths("renewal", "POST /auth/refresh", "get-session past updateAge", {
      a: refreshChains(`${url.secureauth}/auth/refresh`, saSeeds),
      b: renewSessions(`${url["ba-renew"]}/api/auth/get-session`, baSeeds),
      note:
        "a session per connection; SecureAuth rotates (each response's token is the next request's), Better " +
        "Auth updateAge=0 so every get-session rewrites the session",
    });
  }
  await comparePaths("no-op", "GET /health", "plain Hono GET /health", {
    a: fixed(`${url.secureauth}/health`, { ...CLIENT_HEADERS }),
    b: fixed(`${url["plain-hono"]}/health`, { ...CLIENT_HEADERS }),
    note: "",
  });
  await comparePaths("no-op vs Better Auth", "GET /health", "GET /api/auth/ok", {
    a: fixed(`${url.secureauth}/health`, { ...CLIENT_HEADERS }),
    b: fixed(`${url.ba}/api/auth/ok`, { ...CLIENT_HEADERS }),
    note: "each one's own route that needs nothing",
  });
  await comparePaths(
    "sign-in, default hashing",
    "POST /auth/login (argon2id 19456/2/1)",
    "sign-in/email (scrypt 16384/16/1)",
    {
      a: signIns(`${url.secureauth}/auth/login`, saSignIn, {}),
      b: signIns(`${url.ba}/api/auth/sign-in/email`, baSignIn, { Origin: BA_ORIGIN }),
      connections: SIGNIN_CONNECTIONS,
      seconds: SIGNIN_SECONDS,
      note: `${SIGNIN_CONNECTIONS} connections, ${SIGNIN_SECONDS} s, ${SIGNIN_USERS} accounts in turn`,
    },
  );

  // 7. SQL statements per operation.
  log(
    `SQL statements: pg_stat_statements reset, ${SQL_OPS} operations (sign-in: 5) one after another, top-level ` +
      `calls counted per database`,
  );
  const saDb = "secureauth_bench";
  const baDb = "better_auth";
  const signInOnce = async (
    base: string,
    account: { email: string; password: string },
    headers: Record<string, string>,
  ) => {
    const res = await fetch(base, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...CLIENT_HEADERS, ...headers },
      body: JSON.stringify(account),
    });
    await expectOk(res, base);
  };
  const getOnce = async (target: string, headers: Record<string, string>) =>
    expectOk(await fetch(target, { headers: { ...headers, ...CLIENT_HEADERS } }), target);
  sqlRows.push({
    operation: "sign-in",
    secureauth: await statementsPer(saDb, 5, (i) =>
      signInOnce(`${url.secureauth}/auth/login`, saSignIn[i % SIGNIN_USERS]!, {}),
    ),
    betterAuth: await statementsPer(baDb, 5, (i) =>
      signInOnce(`${url.ba}/api/auth/sign-in/email`, baSignIn[i % SIGNIN_USERS]!, { Origin: BA_ORIGIN }),
    ),
  });
  sqlRows.push({
    operation: "stateless session check (verify / cookie cache)",
    secureauth: await statementsPer(saDb, SQL_OPS, () =>
      getOnce(`${url.secureauth}/auth/verify`, bearer(saMain.accessToken)),
    ),
    betterAuth: await statementsPer(baDb, SQL_OPS, () =>
      getOnce(`${url["ba-cache"]}/api/auth/get-session`, { Cookie: cachedCookie(baMain) }),
    ),
  });
  sqlRows.push({
    operation: "session check reading the DB (/me / get-session)",
    secureauth: await statementsPer(saDb, SQL_OPS, () => getOnce(`${url.secureauth}/me`, bearer(saMain.accessToken))),
    betterAuth: await statementsPer(baDb, SQL_OPS, () =>
      getOnce(`${url.ba}/api/auth/get-session`, { Cookie: sessionCookie(baMain) }),
    ),
  });
  {
    let refreshToken = saPool[saPool.length - 1]!.refreshToken;
    const renewCookie = sessionCookie(baRenewSeeds[baRenewSeeds.length - 1]!);
    sqlRows.push({
      operation: "refresh / renewal",
      secureauth: await statementsPer(saDb, SQL_OPS, async () => {
        const res = await postJson(`${url.secureauth}/auth/refresh`, { refreshToken });
        if (res.status !== 200) throw new Error(`POST /auth/refresh answered ${res.status}: ${res.text.slice(0, 300)}`);
        refreshToken = (JSON.parse(res.text) as { tokens: { refreshToken: string } }).tokens.refreshToken;
      }),
      betterAuth: await statementsPer(baDb, SQL_OPS, () =>
        getOnce(`${url["ba-renew"]}/api/auth/get-session`, { Cookie: renewCookie }),
      ),
    });
  }

  // 8. Password-hash candidates inside workerd.
  await measureHashes(url["hash-candidates"]!);

  // 9. Peak memory of each candidate: the allocator keeps what a hash freed,
  // so a second hash in the same process shows no rise; each candidate gets
  // a fresh workerd with only the hash Worker, after the shared one is gone.
  await miniflare?.dispose();
  miniflare = undefined;
  await measureHashMemory(hashBundle!, compatibility);
} catch (error) {
  if (!cleaning)
    console.error(`bench:peers: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await cleanup();
  process.exit(1);
}

await cleanup();
printReport();
process.exit(0);

// --- loads ----------------------------------------------------------------------

type Load = {
  url: string;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
  requests?: () => AutocannonRequest[];
};

/** Each request takes the next token of the pool, never one used before; the pool runs out, never wraps. */
function pooled(target: string, tokens: string[]): Load {
  let next = 0;
  return {
    url: target,
    requests: () => [
      {
        setupRequest: (request) => {
          if (next === tokens.length) log(`  the token pool for ${target} ran out: reusing tokens`);
          const token = tokens[next++ % tokens.length]!;
          return { ...request, headers: { ...request.headers, ...bearer(token) } };
        },
      },
    ],
  };
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}`, ...CLIENT_HEADERS };
}

/** A refresh-token chain per connection: each new connection takes a fresh session, then rotates it. */
function refreshChains(target: string, seeds: string[]): Load {
  let next = 0;
  const step: AutocannonRequest = {
    method: "POST",
    setupRequest: (request, context) => {
      if (context.token === undefined) {
        context.token = seeds[next++];
        if (context.token === undefined) throw new Error("the refresh-token seeds ran out");
      }
      return {
        ...request,
        method: "POST",
        headers: { ...request.headers, "Content-Type": "application/json", ...CLIENT_HEADERS },
        body: JSON.stringify({ refreshToken: context.token }),
      };
    },
    onResponse: (status, body, context) => {
      if (status === 200)
        context.token = (JSON.parse(body) as { tokens: { refreshToken: string } }).tokens.refreshToken;
    },
  };
  return { url: target, requests: () => new Array(CHAIN_LENGTH).fill(step) };
}

/** A Better Auth session per connection, renewed (written) by every get-session. */
function renewSessions(target: string, cookies: string[]): Load {
  let next = 0;
  const step: AutocannonRequest = {
    setupRequest: (request, context) => {
      if (context.cookie === undefined) {
        context.cookie = cookies[next++];
        if (context.cookie === undefined) throw new Error("the renewal sessions ran out");
      }
      return { ...request, headers: { ...request.headers, Cookie: context.cookie as string, ...CLIENT_HEADERS } };
    },
  };
  return { url: target, requests: () => new Array(CHAIN_LENGTH).fill(step) };
}

function signIns(
  target: string,
  accounts: { email: string; password: string }[],
  headers: Record<string, string>,
): Load {
  let next = 0;
  return {
    url: target,
    requests: () => [
      {
        setupRequest: (request) => {
          const account = accounts[next++ % accounts.length]!;
          return {
            ...request,
            method: "POST",
            headers: { ...request.headers, "Content-Type": "application/json", ...CLIENT_HEADERS, ...headers },
            body: JSON.stringify({ email: account.email, password: account.password }),
          };
        },
      },
    ],
  };
}

async function run(
  load: Load,
  options: { connections: number; seconds?: number; amount?: number },
): Promise<AutocannonResult & { elapsed: number }> {
  // autocannon's own duration is whole seconds for short runs: time it here.
  const start = performance.now();
  const result = await autocannon({
    url: load.url,
    connections: options.connections,
    // autocannon notices the end of an `amount` only at its sampling tick (1 s by default).
    ...(options.amount ? { amount: options.amount, sampleInt: 5 } : { duration: options.seconds }),
    headers: load.headers,
    requests: load.requests?.(),
  });
  return { ...result, elapsed: (performance.now() - start) / 1000 };
}

async function comparePaths(
  path: string,
  a: string,
  b: string,
  spec: {
    a: Load;
    b: Load;
    note: string;
    connections?: number;
    seconds?: number;
    amount?: number;
    warmupAmount?: number;
  },
): Promise<void> {
  const connections = spec.connections ?? CONNECTIONS;
  const secs = spec.seconds ?? SECONDS;
  const shape = spec.amount ? `${spec.amount} requests` : `${secs} s`;
  log(`${path}: ${ROUNDS} rounds x ${shape} per side, ${connections} connections, alternating`);
  const warm = {
    connections,
    ...(spec.warmupAmount ? { amount: spec.warmupAmount / 2 } : { seconds: WARMUP_SECONDS }),
  };
  for (const load of [spec.a, spec.b]) await run(load, warm);
  const result: PathResult = { path, a, b, aRps: [], bRps: [], ratios: [], bad: 0, note: spec.note };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const);
    const rps: Record<"a" | "b", number> = { a: 0, b: 0 };
    for (const side of order) {
      const r = await run(spec[side], { connections, seconds: secs, amount: spec.amount });
      rps[side] = r["2xx"] / r.elapsed;
      result.bad += r.non2xx + r.errors + r.timeouts;
    }
    result.aRps.push(rps.a);
    result.bRps.push(rps.b);
    result.ratios.push(rps.a / rps.b);
    log(`  round ${round + 1}: ${rps.a.toFixed(0)} vs ${rps.b.toFixed(0)} req/s = ${(rps.a / rps.b).toFixed(2)}x`);
  }
  if (result.bad) log(`  ${result.bad} requests failed (non-2xx, errors or timeouts): this path is not valid`);
  results.push(result);
}

// --- SQL statements ------------------------------------------------------------------

async function statementsPer(datname: string, n: number, operation: (i: number) => Promise<unknown>): Promise<string> {
  await admin!.query("select pg_stat_statements_reset()");
  for (let i = 0; i < n; i++) await operation(i);
  // Each Worker closes its pool after the response (waitUntil); let the backends finish.
  await new Promise((resolve) => setTimeout(resolve, 700));
  const { rows } = await admin!.query<{ calls: string; query: string }>(
    `select calls, query from pg_stat_statements
      where toplevel and dbid = (select oid from pg_database where datname = $1)
      order by calls desc, query`,
    [datname],
  );
  const total = rows.reduce((sum, row) => sum + Number(row.calls), 0);
  const kinds = rows
    .map(
      (row) =>
        `${(Number(row.calls) / n).toFixed(Number(row.calls) % n ? 1 : 0)}x ` +
        `${row.query.replace(/\s+/g, " ").trim().split(" ").slice(0, 3).join(" ")}`,
    )
    .slice(0, 6);
  log(`  ${datname}: ${(total / n).toFixed(1)} per op${kinds.length ? ` (${kinds.join("; ")})` : ""}`);
  return (total / n).toFixed(1).replace(/\.0$/, "");
}

// --- password-hash candidates ----------------------------------------------------------

async function measureHashes(base: string): Promise<void> {
  const probe = (await (await fetch(`${base}/probe`)).json()) as {
    available: Record<string, boolean>;
    nodeCryptoArgon2: string;
    passwordHasherEngine: string;
  };
  log(
    `password-hash candidates in workerd (node:crypto argon2: ${probe.nodeCryptoArgon2}; PasswordHasher engine: ` +
      `${probe.passwordHasherEngine}); ${HASH_SAMPLES} samples each, one hash per request minus an empty request`,
  );
  const memoryNotes: Record<string, number> = {
    "noble-argon2id-m19456-t2-p1": 19456 * 1024,
    "wasm-argon2id-m19456-t2-p1": 19456 * 1024,
    "node-scrypt-N131072-r8-p1": 128 * 2 ** 17 * 8,
    "node-scrypt-N16384-r16-p1": 128 * 16384 * 16,
    "node-argon2id-m19456-t2-p1": 19456 * 1024,
  };
  for (const [candidate, available] of Object.entries(probe.available)) {
    if (!available) {
      hashRows.push({ candidate, ms: "unavailable", memory: "", note: "not provided by this workerd's node:crypto" });
      continue;
    }
    const request = async (n: number) => {
      const res = await fetch(`${base}/?candidate=${candidate}&n=${n}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${candidate}: ${text}`);
    };
    try {
      await request(1);
    } catch (error) {
      hashRows.push({ candidate, ms: "failed", memory: "", note: String(error).slice(0, 120) });
      continue;
    }
    const samples: number[] = [];
    for (let i = 0; i < HASH_SAMPLES; i++) {
      const empty = await timed(() => request(0));
      samples.push((await timed(() => request(1))) - empty);
    }
    hashRows.push({
      candidate,
      ms: `${median(samples).toFixed(0)} ms`,
      memory: `${(memoryNotes[candidate]! / 2 ** 20).toFixed(0)} MiB by parameters`,
      note: `min ${Math.min(...samples).toFixed(0)}, max ${Math.max(...samples).toFixed(0)} ms`,
    });
  }
}

async function measureHashMemory(bundle: Bundle, compatibility: object): Promise<void> {
  log(
    "peak memory per candidate: one hash in a fresh workerd each, VmHWM (reset through clear_refs) over VmRSS before",
  );
  for (const row of hashRows) {
    if (!row.ms.endsWith("ms")) continue;
    const alone = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port: 0,
        workers: [{ ...compatibility, name: "hash-alone", ...bundleModules(bundle.script) }],
      } as unknown as V4MiniflareOptions),
    );
    miniflare = alone;
    try {
      const base = (await alone.ready).origin;
      const pids = workerdPids();
      await (await fetch(`${base}/?candidate=${row.candidate}&n=0`)).text();
      const before = memoryOf(pids, "VmRSS");
      resetPeaks(pids);
      const res = await fetch(`${base}/?candidate=${row.candidate}&n=1`);
      await res.text();
      const peak = memoryOf(pids, "VmHWM");
      if (pids.length && peak > 0) row.memory += `; workerd peak RSS +${((peak - before) / 2 ** 20).toFixed(0)} MiB`;
    } finally {
      await alone.dispose();
      miniflare = undefined;
    }
  }
}

function memoryOf(pids: number[], field: "VmRSS" | "VmHWM"): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const kib = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      total += Number(kib ?? 0) * 1024;
    } catch {}
  }
  return total;
}

function resetPeaks(pids: number[]): void {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5");
    } catch {}
  }
}

// --- builds ---------------------------------------------------------------------------

type Bundle = { script: string; dir: string; reported: string | undefined };

async function buildBundle(name: string, projectDir: string, configPath: string): Promise<Bundle> {
  const outdir = join(buildDir, name);
  rmSync(outdir, { recursive: true, force: true });
  const output: string[] = [];
  const build = spawnWrangler({
    root,
    cwd: projectDir,
    args: ["deploy", "--dry-run", "--outdir", outdir, "--config", configPath],
    output: (line) => output.push(line),
  });
  building.add(build);
  const code = await build.exited;
  building.delete(build);
  if (code !== 0)
    throw new Error(`wrangler deploy --dry-run for ${name} failed (${code}):\n${output.slice(-20).join("\n")}`);
  const reported = output
    .map((line) => /Total Upload: .*$/.exec(line.replace(/\u001b\[[0-9;]*m/g, ""))?.[0])
    .find(Boolean);
  const scripts = readdirSync(outdir).filter((file) => file.endsWith(".js"));
  if (scripts.length !== 1) throw new Error(`expected one script in ${outdir}, found ${scripts.join(", ") || "none"}`);
  return { script: join(outdir, scripts[0]!), dir: outdir, reported };
}

// --- helpers ----------------------------------------------------------------------------

async function postJson(target: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(target, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...CLIENT_HEADERS },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function expectOk(res: Response, target: string): Promise<void> {
  const text = await res.text();
  if (res.status !== 200 || text === "null") throw new Error(`${target} answered ${res.status}: ${text.slice(0, 300)}`);
}

async function inParallel<T>(count: number, concurrency: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await make(i);
      }
    }),
  );
  return out;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

function table(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(line(headers));
  console.log(line(widths.map((width) => "-".repeat(width))));
  for (const row of rows) console.log(line(row));
  console.log("");
}

function printReport(): void {
  console.log("");
  console.log(
    `SecureAuth vs Better Auth 1.7.25 and plain Hono, one workerd, one PostgreSQL; ratio = SecureAuth / peer ` +
      `throughput (higher is better for SecureAuth), median of ${ROUNDS} alternating rounds`,
  );
  console.log("");
  table(
    ["path", "SecureAuth", "peer", "SA req/s", "peer req/s", "ratio per round", "median", "note"],
    results.map((r) => [
      r.path,
      r.a,
      r.b,
      median(r.aRps).toFixed(r.aRps.some((x) => x < 100) ? 1 : 0),
      median(r.bRps).toFixed(r.bRps.some((x) => x < 100) ? 1 : 0),
      r.ratios.map((x) => x.toFixed(2)).join(" "),
      `${median(r.ratios).toFixed(2)}x`,
      (r.bad ? `INVALID: ${r.bad} failed requests; ` : "") + r.note,
    ]),
  );
  console.log("SQL statements per operation (pg_stat_statements, top level, per database)");
  table(
    ["operation", "SecureAuth", "Better Auth"],
    sqlRows.map((r) => [r.operation, r.secureauth, r.betterAuth]),
  );
  printColdStart();
  console.log("Password-hash candidates in workerd (one hash; median of samples)");
  table(
    ["candidate", "time", "memory", "note"],
    hashRows.map((r) => [r.candidate, r.ms, r.memory, r.note]),
  );

  const byPath = (name: string) => results.find((r) => r.path === name);
  const target = (label: string, path: string, min: number) => {
    const r = byPath(path);
    if (!r) return console.log(`SKIP  ${label}: not measured`);
    const ratio = median(r.ratios);
    const pass = r.bad === 0 && ratio >= min;
    console.log(
      `${pass ? "PASS" : "FAIL"}  ${label}: ${ratio.toFixed(2)}x (target >= ` +
        `${min.toFixed(2)}x)${r.bad ? " (invalid: failed requests)" : ""}`,
    );
  };
  console.log("Targets (issues 13 and 21)");
  target("no-op route vs plain Hono", "no-op", TARGETS.noop);
  target("no-op route vs Better Auth's own no-op (GET /api/auth/ok)", "no-op vs Better Auth", TARGETS.noopVsBetterAuth);
  target(
    "verify with a never-seen session vs Better Auth jwt verify",
    "verify with a never-seen session",
    TARGETS.freshVerify,
  );
  target(
    "sign-in at OWASP-minimum hashing vs Better Auth sign-in (throughput ratio; >= 1.0 means time <= 1.0x)",
    "sign-in, default hashing",
    TARGETS.signIn,
  );
  coldStartTargets();
  console.log("");
  console.log(`bench:peers: done in ${seconds(started)}`);
}

function printColdStart(): void {
  if (!coldStarts.length) return;
  console.log(
    `Cold start: each Worker alone in a fresh workerd, from start to the end of its first answer (SecureAuth GET ` +
      `/health, Better Auth GET /api/auth/ok), each with SecureAuth's bindings, which Miniflare simulates with ` +
      `Workers of its own; "empty" is the floor with the same bindings. Median of ${COLD_ROUNDS} rounds, the order ` +
      `rotating. CPU: workerd's, every thread (less moved by the machine's other load than wall time)`,
  );
  const floor = coldStarts.find((r) => r.name === "empty");
  table(
    ["Worker", "ready", "above empty", "CPU", "CPU above empty", "script raw", "script gzip", "rounds (ms)"],
    coldStarts.map((r) => [
      r.name,
      `${r.readyMs.toFixed(0)} ms`,
      r === floor || !floor || !r.bytes ? "" : `${(r.readyMs - floor.readyMs).toFixed(0)} ms`,
      r.cpuMs === undefined ? "n/a" : `${r.cpuMs.toFixed(0)} ms`,
      r === floor || !floor || !r.bytes || r.cpuMs === undefined || floor.cpuMs === undefined
        ? ""
        : `${(r.cpuMs - floor.cpuMs).toFixed(0)} ms`,
      r.bytes ? mib(r.bytes.raw) : "",
      r.bytes ? mib(r.bytes.gzip) : "",
      r.samples.map((x) => x.toFixed(0)).join(" "),
    ]),
  );
}

function coldStartTargets(): void {
  if (!coldStarts.length) {
    console.log("SKIP  cold start: not measured");
    return;
  }
  const { ratio, aboveEmpty, cpuAboveEmpty } = coldStartRatios(coldStarts, "SecureAuth", "Better Auth");
  const line = (label: string, value: number) =>
    console.log(
      `${value <= TARGETS.coldStart ? "PASS" : "FAIL"}  ${label}: ${value.toFixed(2)}x (target <= ` +
        `${TARGETS.coldStart.toFixed(2)}x)`,
    );
  line("cold start vs Better Auth (ready, ours / theirs)", ratio);
  line("cold start vs Better Auth above an empty Worker", aboveEmpty);
  if (cpuAboveEmpty !== undefined)
    console.log(`INFO  cold start vs Better Auth above an empty Worker, workerd CPU: ${cpuAboveEmpty.toFixed(2)}x`);
}
