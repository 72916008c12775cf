// The bookkeeping of `npm run soak`, free of I/O so it is unit-tested
// (soak-stats.test.ts): every answer the simulated users got, as a Call;
// counts and latencies per phase and endpoint; which answers the rules did
// not lead us to expect; and where each call falls against the outage window
// of the fault phase.

export type Call = {
  phase: string;
  /** "POST /auth/refresh", "GET /sessions", ... */
  endpoint: string;
  /** 0 when no HTTP answer arrived (connection error, client timeout). */
  status: number;
  /** The problem+json `code`, when the answer is one. */
  code?: string;
  /** Content-Type was application/problem+json. */
  problem: boolean;
  /** performance.now() at the request and at the end of its body. */
  start: number;
  end: number;
  /** The status is one the simulated user's rules expect at this point (2xx of the step, or an explained 4xx). */
  expected: boolean;
  /** Why a non-2xx answer was expected, when it was. */
  reason?: string;
};

/** Endpoints that answer without the database; every other one needs it. */
export const NO_DATABASE_ENDPOINTS = new Set(["GET /auth/verify", "GET /auth/verify (probe)"]);

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export type SummaryRow = {
  phase: string;
  endpoint: string;
  count: number;
  /** Status -> count, ascending by status. */
  statuses: [number, number][];
  p50: number;
  p95: number;
  p99: number;
  max: number;
};

/** Counts and latencies (ms) per phase and endpoint, in first-seen order of each. */
export function summarise(calls: readonly Call[]): SummaryRow[] {
  const groups = new Map<string, Call[]>();
  for (const call of calls) {
    const key = `${call.phase}\u0000${call.endpoint}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(call);
  }
  return [...groups.values()].map((group) => {
    const latencies = group.map((call) => call.end - call.start).sort((a, b) => a - b);
    return {
      phase: group[0]!.phase,
      endpoint: group[0]!.endpoint,
      count: group.length,
      statuses: statusCounts(group),
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1]!,
    };
  });
}

/** Status -> count, ascending by status. */
export function statusCounts(calls: readonly Pick<Call, "status">[]): [number, number][] {
  const statuses = new Map<number, number>();
  for (const call of calls) statuses.set(call.status, (statuses.get(call.status) ?? 0) + 1);
  return [...statuses.entries()].sort((a, b) => a[0] - b[0]);
}

/** "200 x 412, 503 x 7" */
export function formatStatuses(statuses: readonly [number, number][]): string {
  return statuses.map(([status, count]) => `${status === 0 ? "no answer" : status} x ${count}`).join(", ");
}

/**
 * Answers below 500 that the rules did not lead us to expect, grouped as
 * "endpoint status code" -> count. 5xx and missing answers are counted
 * separately (see serverErrors).
 */
export function unexpectedAnswers(calls: readonly Call[]): Map<string, number> {
  const found = new Map<string, number>();
  for (const call of calls) {
    if (call.expected || call.status >= 500 || call.status === 0) continue;
    const key = `${call.endpoint} ${call.status}${call.code ? ` ${call.code}` : ""}`;
    found.set(key, (found.get(key) ?? 0) + 1);
  }
  return found;
}

/**
 * Non-2xx answers the rules explain (e.g. a 409 for a register retried after its answer was lost), "endpoint status:
 * reason" -> count.
 */
export function explainedAnswers(calls: readonly Call[]): Map<string, number> {
  const found = new Map<string, number>();
  for (const call of calls) {
    if (!call.expected || !call.reason) continue;
    const key = `${call.endpoint} ${call.status}: ${call.reason}`;
    found.set(key, (found.get(key) ?? 0) + 1);
  }
  return found;
}

/**
 * Every 4xx of a run, accounted for: each is either explained by the rules (expected, with a reason) or unexpected
 * (a failure of check (d)); `unaccounted` counts a 4xx the users expected without saying why, which the soak treats
 * as a failure too, so no 4xx goes by uncounted.
 */
export function accountFor4xx(calls: readonly Call[]): {
  total: number;
  explained: number;
  unexpected: number;
  unaccounted: number;
} {
  let total4xx = 0;
  let explained = 0;
  let unexpected = 0;
  for (const call of calls) {
    if (call.status < 400 || call.status >= 500) continue;
    total4xx++;
    if (!call.expected) unexpected++;
    else if (call.reason) explained++;
  }
  return { total: total4xx, explained, unexpected, unaccounted: total4xx - explained - unexpected };
}

/** 5xx answers and calls with no answer at all, grouped as "endpoint status code". */
export function serverErrors(calls: readonly Call[], options: { except503?: boolean } = {}): Map<string, number> {
  const found = new Map<string, number>();
  for (const call of calls) {
    if (call.status !== 0 && call.status < 500) continue;
    if (options.except503 && call.status === 503) continue;
    const key = `${call.endpoint} ${call.status === 0 ? "no answer" : call.status}${call.code ? ` ${call.code}` : ""}`;
    found.set(key, (found.get(key) ?? 0) + 1);
  }
  return found;
}

export function formatCounts(counts: ReadonlyMap<string, number>): string {
  return [...counts.entries()].map(([key, count]) => `${key} x ${count}`).join("; ");
}

export function total(counts: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const count of counts.values()) sum += count;
  return sum;
}

/**
 * Where a call falls against the outage: `before` it (answered before the
 * server went down), `down` (sent after the server had exited and answered
 * before its restart began: the database was unreachable for all of it),
 * `after` (sent once the restarted server accepted connections), or
 * `straddling` one of the two transitions.
 */
export type OutageWindow = { downFrom: number; downTo: number; readyAt: number };
export type Placement = "before" | "down" | "straddling" | "after";

export function placeCall(call: Pick<Call, "start" | "end">, window: OutageWindow): Placement {
  if (call.end <= window.downFrom) return "before";
  if (call.start >= window.downFrom && call.end <= window.downTo) return "down";
  if (call.start >= window.readyAt) return "after";
  return "straddling";
}

/**
 * A 503 problem+json whose code is service_unavailable: what a request that needs the database must answer while it is
 * unreachable.
 */
export function isUnavailableProblem(call: Pick<Call, "status" | "problem" | "code">): boolean {
  return call.status === 503 && call.problem && call.code === "service_unavailable";
}

/** A fixed-width text table; every cell is already a string. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}
