// Cold start of built Workers, side by side in the same workerd binary:
// for each round and each Worker (the order rotating from round to round),
// a fresh Miniflare with that Worker alone is started and timed from
// `new Miniflare` to the end of the first answer. workerd evaluates a
// Worker's modules when it loads them, so this is process start, the
// script's compile and top-level evaluation, and the first request. An empty
// Worker (a fetch handler answering 200) is the floor: what is left above it
// is the script's own cost. Medians of the rounds.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";
import { bundleBytes } from "./bundle-modules.ts";

export type ColdStartSubject = {
  name: string;
  /** Miniflare's worker options (modules, bindings, compatibility), without `name`. */
  worker: Record<string, unknown>;
  /** The path of the first request; its answer must be 2xx. */
  path: string;
  /** The built entry script, for the size column (absent for the empty Worker). */
  script?: string;
};

export type ColdStart = {
  name: string;
  /** Median ms from `new Miniflare` to the first answer's body. */
  readyMs: number;
  samples: number[];
  /**
   * Median CPU ms workerd ran until then (every thread, /proc schedstat): less moved by other load on the machine than
   * the wall time; undefined where /proc is not there.
   */
  cpuMs: number | undefined;
  /** The script's bytes, raw and gzipped (every module of the build). */
  bytes?: { raw: number; gzip: number };
};

const EMPTY = "empty";

/** The floor: a module Worker whose fetch handler answers 200 with nothing. */
export function emptyWorker(compatibility: object): ColdStartSubject {
  const dir = mkdtempSync(join(tmpdir(), "secureauth-empty-worker-"));
  const script = join(dir, "index.js");
  writeFileSync(script, "export default { fetch() { return new Response(null); } };\n");
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return {
    name: EMPTY,
    worker: { ...compatibility, modules: [{ type: "ESModule", path: script }], modulesRoot: dir },
    path: "/",
  };
}

/** workerd processes that are children of this process (Miniflare's). */
export function workerdPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = /\((.*)\)/.exec(stat)?.[1];
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** CPU time (ms) every thread of these processes has run so far, from /proc/<pid>/task/<tid>/schedstat (ns). */
function cpuMs(pids: number[]): number {
  let ns = 0;
  for (const pid of pids) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      }
    } catch {}
  }
  return ns / 1e6;
}

async function startOnce(subject: ColdStartSubject): Promise<{ wall: number; cpu: number | undefined }> {
  const before = new Set(workerdPids());
  const started = performance.now();
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      workers: [{ ...subject.worker, name: "cold" }],
    } as unknown as V4MiniflareOptions),
  );
  try {
    const url = await miniflare.ready;
    const res = await fetch(new URL(subject.path, url));
    await res.arrayBuffer();
    const wall = performance.now() - started;
    if (res.status >= 300) throw new Error(`${subject.name}: GET ${subject.path} answered ${res.status}`);
    const pids = workerdPids().filter((pid) => !before.has(pid));
    return { wall, cpu: pids.length ? cpuMs(pids) : undefined };
  } finally {
    await miniflare.dispose();
  }
}

/**
 * `rounds` rounds; in each, every subject once, the order shifted by one each round so no subject always goes first
 * (a warmer disk cache, a quieter moment).
 */
export async function measureColdStarts(
  subjects: ColdStartSubject[],
  rounds: number,
  log: (line: string) => void = () => {},
): Promise<ColdStart[]> {
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const cpu = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  // One start each first, unmeasured: the workerd binary and the scripts into the page cache.
  for (const subject of subjects) await startOnce(subject);
  for (let round = 0; round < rounds; round++) {
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
    const line: string[] = [];
    for (const subject of order) {
      const { wall, cpu: cpuTime } = await startOnce(subject);
      samples.get(subject.name)!.push(wall);
      if (cpuTime !== undefined) cpu.get(subject.name)!.push(cpuTime);
      line.push(`${subject.name} ${wall.toFixed(0)} ms${cpuTime === undefined ? "" : ` (cpu ${cpuTime.toFixed(0)})`}`);
    }
    log(`  round ${round + 1}: ${line.join(", ")}`);
  }
  return subjects.map((subject) => {
    const mine = samples.get(subject.name)!;
    const sizes = subject.script ? bundleBytes(subject.script) : undefined;
    return {
      name: subject.name,
      readyMs: median(mine),
      samples: mine,
      cpuMs: cpu.get(subject.name)!.length ? median(cpu.get(subject.name)!) : undefined,
      bytes: sizes ? { raw: sizes.raw, gzip: sizes.gzip } : undefined,
    };
  });
}

/** ours / theirs, as is and above the empty Worker's floor. */
export function coldStartRatios(
  results: ColdStart[],
  ours: string,
  theirs: string,
): {
  ratio: number;
  aboveEmpty: number;
  cpuAboveEmpty: number | undefined;
  ours: ColdStart;
  theirs: ColdStart;
  empty: ColdStart | undefined;
} {
  const a = results.find((r) => r.name === ours)!;
  const b = results.find((r) => r.name === theirs)!;
  const empty = results.find((r) => r.name === EMPTY);
  const floor = empty?.readyMs ?? 0;
  const cpuFloor = empty?.cpuMs ?? 0;
  const cpuAboveEmpty =
    a.cpuMs !== undefined && b.cpuMs !== undefined ? (a.cpuMs - cpuFloor) / (b.cpuMs - cpuFloor) : undefined;
  return {
    ratio: a.readyMs / b.readyMs,
    aboveEmpty: (a.readyMs - floor) / (b.readyMs - floor),
    cpuAboveEmpty,
    ours: a,
    theirs: b,
    empty,
  };
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** The raw bytes of one file, for a log line. */
export function fileBytes(path: string): number {
  return statSync(path).size;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
