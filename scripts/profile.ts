// `npm run bench:profile -- [health|verify|cold] [seconds]`: a V8 CPU profile
// of the built Worker under load, to find where a request's time goes before
// rewriting anything. The bench (`npm run bench`) says how fast; this says why.
//
// It builds the deployable bundle, runs it in Miniflare (workerd) with
// wrangler.toml's bindings and fresh keys, puts autocannon's load on one path,
// samples the Worker's isolate through workerd's inspector (the DevTools
// Profiler domain), and prints the functions with the most self time and the
// most total time. No database is started: the three paths need none.
//   health  GET /health
//   verify  GET /auth/verify with one token (the isolate's warm path)
//   cold    GET /auth/verify with a token of a new session every request
//   plain   the bench's ceiling: the plain Hono Worker's GET /health
//   jose    the never-seen verify's ceiling: the bare jose Worker (bench/workers/jose-verify) with cold's tokens
// The raw profile is written to .data/profile-<path>.cpuprofile (open it in
// Chrome DevTools' Performance panel).
import { guardRun } from "./lib/run-guard.ts";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";
import { unstable_readConfig } from "wrangler";
import WebSocket from "ws";
import { bundleModules } from "./lib/bundle-modules.ts";
import { spawnWrangler, type WranglerProcess } from "./lib/dev-stack.ts";
import { freePorts } from "./lib/free-ports.ts";
import { generateSecret, generateSigningKey } from "./lib/signing-keys.ts";
import { durableObjectOptions } from "./lib/miniflare-durable-objects.ts";

type Autocannon = (options: Record<string, unknown>) => Promise<{ "2xx": number; non2xx: number; errors: number }>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const root = fileURLToPath(new URL("..", import.meta.url));
const path = (process.argv[2] ?? "health") as "health" | "verify" | "cold" | "plain" | "jose";
if (!["health", "verify", "cold", "plain", "jose"].includes(path))
  throw new Error(`unknown path ${path}: health, verify, cold, plain or jose`);
/** `plain` and `jose`: the bench's ceilings, a plain Hono Worker's GET /health and the bare jose verify. */
const project =
  path === "plain"
    ? join(root, "bench/peers/workers/hono")
    : path === "jose"
      ? join(root, "bench/workers/jose-verify")
      : root;
const seconds = Number(process.argv[3] ?? 5);
const log = (line: string) => console.log(`profile: ${line}`);
const workDir = mkdtempSync(join(tmpdir(), "secureauth-profile-"));
let miniflare: Miniflare | undefined;
let building: WranglerProcess | undefined;

const cleanup = async () => {
  await building?.stop();
  await miniflare?.dispose().catch(() => {});
  rmSync(workDir, { recursive: true, force: true });
};
const guard = guardRun({ log, timeoutMs: 5 * 60_000, cleanup });

// Kept after the run, so the profile's line numbers can be read in it.
const outdir = join(root, ".data/profile-dist");
log(`building the deployable bundle: wrangler deploy --dry-run --outdir ${outdir}`);
building = spawnWrangler({
  root,
  cwd: project,
  // Not minified, so the profile names the functions (the deploy is: wrangler.toml).
  args: ["deploy", "--dry-run", "--no-minify", "--outdir", outdir, "--config", join(project, "wrangler.toml")],
  output: () => {},
});
if ((await building.exited) !== 0) throw new Error("wrangler deploy --dry-run failed");

const [port, inspectorPort] = (await freePorts(2)) as [number, number];
const config = unstable_readConfig({ config: join(root, "wrangler.toml") });
const signingKey = await generateSigningKey();
miniflare = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port,
    inspectorPort,
    workers: [
      {
        name: "secureauth",
        compatibilityDate: config.compatibility_date,
        compatibilityFlags: config.compatibility_flags,
        // The service's own; the ceilings have none (the feed's class is the service's).
        ...(project === root ? { durableObjects: durableObjectOptions(config) } : {}),
        ratelimits: Object.fromEntries(config.ratelimits.map((limit: { name: string }) => [limit.name, limit])),
        ...bundleModules(join(outdir, readdirSync(outdir).find((name) => name.endsWith(".js"))!)),
        bindings: {
          ...(config.vars as Record<string, string>),
          JWT_SIGNING_KEYS: JSON.stringify([signingKey]),
          REFRESH_TOKEN_SECRET: generateSecret(),
          // Never connected to: none of the profiled paths opens the database.
          DATABASE_URL: "postgres://unused@127.0.0.1:1/unused",
          // The jose Worker's: the public half of the same key.
          JWT_PUBLIC_JWK: JSON.stringify({ ...signingKey, d: undefined }),
        },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
    ],
  } as V4MiniflareOptions),
);
guard.retakeSignals();
await miniflare.ready;
const url = (await miniflare.unsafeGetDirectURL("secureauth")).origin;

const { importJWK, SignJWT } = await import("jose");
const key = await importJWK(signingKey, "EdDSA");
const sign = (sid: string) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: crypto.randomUUID(),
    sid,
    jti: crypto.randomUUID(),
    client_id: "secureauth",
    roles: ["user"],
    permissions: ["profile:read"],
    email_verified: true,
    gv: 0,
  })
    .setProtectedHeader({ alg: "EdDSA", kid: signingKey.kid, typ: "at+jwt" })
    .setIssuer((config.vars as Record<string, string>).JWT_ISSUER ?? "https://auth.secureauth.dev")
    .setAudience((config.vars as Record<string, string>).JWT_AUDIENCE ?? "secureauth")
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(key);
};
const tokens: string[] = [];
if (path === "cold" || path === "jose")
  for (let i = 0; i < 4000 * seconds; i++) tokens.push(await sign(crypto.randomUUID()));
else tokens.push(await sign(crypto.randomUUID()));
let next = 0;
const target = {
  url:
    path === "health" || path === "plain" ? `${url}/health` : path === "jose" ? `${url}/verify` : `${url}/auth/verify`,
  connections: 10,
  duration: seconds,
  // GET /health without a token, as a probe sends it (one presenting a token is answered no-store, by the app).
  requests:
    path === "health" || path === "plain"
      ? [{}]
      : [
          {
            setupRequest: (request: { headers?: Record<string, string> }) => ({
              ...request,
              headers: { ...request.headers, Authorization: `Bearer ${tokens[next++ % tokens.length]}` },
            }),
          },
        ],
};

// The Worker's isolate through workerd's inspector.
const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
  id: string;
  title: string;
  webSocketDebuggerUrl: string;
}[];
const inspected =
  targets.find((t) => t.title.includes("secureauth")) ?? targets.find((t) => t.id.includes("secureauth"));
if (!inspected) throw new Error(`no inspector target for the Worker: ${targets.map((t) => t.title).join(", ")}`);
const socket = new WebSocket(inspected.webSocketDebuggerUrl.replace("localhost", "127.0.0.1"));
await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
let id = 0;
const pending = new Map<number, (result: unknown) => void>();
socket.on("message", (data) => {
  const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
  if (message.id !== undefined) pending.get(message.id)?.(message.result);
});
const send = <T>(method: string, params: object = {}) =>
  new Promise<T>((resolve) => {
    pending.set(++id, resolve as (result: unknown) => void);
    socket.send(JSON.stringify({ id, method, params }));
  });

log(`warm-up: 2 s of ${target.url}`);
await autocannon({ ...target, duration: 2 });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
log(`profiling ${seconds} s of ${path} under 10 connections`);
const result = await autocannon(target);
const { profile } = await send<{ profile: CpuProfile }>("Profiler.stop");
socket.close();
log(
  `${result["2xx"]} answered 2xx, ${result.non2xx + result.errors} not (${(result["2xx"] / seconds).toFixed(0)} req/s)`,
);

type CpuProfile = {
  startTime: number;
  endTime: number;
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    hitCount: number;
    children?: number[];
  }[];
  samples: number[];
};
mkdirSync(join(root, ".data"), { recursive: true });
writeFileSync(join(root, `.data/profile-${path}.cpuprofile`), JSON.stringify(profile));

// Self time per function, and total time (each sample counted once per function on its stack).
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const nameOf = (node: CpuProfile["nodes"][number]) => {
  const { functionName, url: file, lineNumber, columnNumber } = node.callFrame;
  const at = file ? `${file.split("/").pop()}:${lineNumber + 1}:${columnNumber + 1}` : "";
  return `${functionName || "(anonymous)"} ${at}`.trim();
};
const self = new Map<string, number>();
const total = new Map<string, number>();
for (const sample of profile.samples) {
  const leaf = byId.get(sample)!;
  self.set(nameOf(leaf), (self.get(nameOf(leaf)) ?? 0) + 1);
  const seen = new Set<string>();
  for (let at: number | undefined = sample; at !== undefined; at = parent.get(at)) {
    const name = nameOf(byId.get(at)!);
    if (!seen.has(name)) total.set(name, (total.get(name) ?? 0) + 1);
    seen.add(name);
  }
}
const samples = profile.samples.length;
const top = (counts: Map<string, number>, n: number) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, count]) => `  ${((100 * count) / samples).toFixed(1).padStart(5)}%  ${name}`)
    .join("\n");
// Per answered request, from the sample interval: the isolate's busy time, and the part spent under the Worker's fetch
// handler.
const interval = (profile.endTime - profile.startTime) / samples;
const perRequest = (count: number) => `${((count * interval) / result["2xx"]).toFixed(1)} µs`;
const idle = self.get("(idle)") ?? 0;
const handler = [...total]
  .filter(([name]) => name.startsWith("fetch "))
  .reduce((most, [, count]) => Math.max(most, count), 0);
log(`per request: ${perRequest(samples - idle)} busy, ${perRequest(handler)} under fetch`);
console.log(`\nself time (${samples} samples):\n${top(self, 30)}\n\ntotal time:\n${top(total, 40)}\n`);
log(`the profile: .data/profile-${path}.cpuprofile`);
await cleanup();
process.exit(0);
