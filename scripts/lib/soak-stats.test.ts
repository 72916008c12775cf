// The pure bookkeeping of `npm run soak`. Run by vitest.node.config.ts (Node).
import { describe, expect, it } from "vitest";
import {
  accountFor4xx,
  explainedAnswers,
  formatStatuses,
  formatTable,
  isUnavailableProblem,
  percentile,
  placeCall,
  serverErrors,
  summarise,
  unexpectedAnswers,
  type Call,
} from "./soak-stats.ts";
import { refusalIsLate, userAddress } from "./soak-users.ts";

const call = (overrides: Partial<Call>): Call => ({
  phase: "soak",
  endpoint: "POST /auth/refresh",
  status: 200,
  problem: false,
  start: 0,
  end: 10,
  expected: true,
  ...overrides,
});

describe("soak statistics", () => {
  it("accounts for every 4xx: explained by a reason, unexpected, or expected without a reason (a failure)", () => {
    const calls = [
      call({ status: 200 }),
      call({ status: 401, reason: "session ended by reuse detection after a parent-token replay past the window" }),
      call({ status: 401, expected: false, code: "invalid_token" }),
      call({ status: 409 }),
      call({ status: 503, expected: false }),
    ];
    expect(accountFor4xx(calls)).toEqual({ total: 3, explained: 1, unexpected: 1, unaccounted: 1 });
  });

  it(
    "explains a refused replay of a rotated parent token only when the service may have seen it past the grace " +
      "window (answer end minus the rotation's start)",
    () => {
      // Rotation sent at 1000 ms; grace 10 s.
      expect(refusalIsLate(1000, 1000 + 9_999, 10_000)).toBe(false);
      expect(refusalIsLate(1000, 1000 + 10_001, 10_000)).toBe(true);
    },
  );

  it("takes nearest-rank percentiles of sorted latencies", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("counts statuses and latencies per phase and endpoint, in first-seen order", () => {
    const rows = summarise([
      call({ start: 0, end: 30 }),
      call({ endpoint: "GET /me", start: 0, end: 5 }),
      call({ status: 503, start: 10, end: 20 }),
      call({ phase: "fault", status: 503 }),
    ]);
    expect(rows.map((r) => [r.phase, r.endpoint, r.count])).toEqual([
      ["soak", "POST /auth/refresh", 2],
      ["soak", "GET /me", 1],
      ["fault", "POST /auth/refresh", 1],
    ]);
    expect(rows[0]!.statuses).toEqual([
      [200, 1],
      [503, 1],
    ]);
    expect(rows[0]!.max).toBe(30);
    expect(
      formatStatuses([
        [0, 2],
        [200, 5],
      ]),
    ).toBe("no answer x 2, 200 x 5");
  });

  it("reports every 4xx the rules did not expect, keeps explained ones apart, and leaves 5xx to serverErrors", () => {
    const calls = [
      call({ status: 401, code: "refresh_token_reused", expected: false, problem: true }),
      call({ status: 401, code: "refresh_token_reused", expected: false, problem: true }),
      call({ endpoint: "POST /auth/register", status: 409, code: "email_taken", expected: true, reason: "retried" }),
      call({ status: 503, code: "service_unavailable", expected: false, problem: true }),
      call({ status: 500, code: "internal_error", expected: false, problem: true }),
      call({ status: 0, expected: false }),
    ];
    expect([...unexpectedAnswers(calls)]).toEqual([["POST /auth/refresh 401 refresh_token_reused", 2]]);
    expect([...explainedAnswers(calls)]).toEqual([["POST /auth/register 409: retried", 1]]);
    expect([...serverErrors(calls)]).toEqual([
      ["POST /auth/refresh 503 service_unavailable", 1],
      ["POST /auth/refresh 500 internal_error", 1],
      ["POST /auth/refresh no answer", 1],
    ]);
    expect([...serverErrors(calls, { except503: true })].map(([key]) => key)).toEqual([
      "POST /auth/refresh 500 internal_error",
      "POST /auth/refresh no answer",
    ]);
  });

  it("places a call against the outage window", () => {
    const window = { downFrom: 100, downTo: 200, readyAt: 250 };
    expect(placeCall({ start: 0, end: 100 }, window)).toBe("before");
    expect(placeCall({ start: 100, end: 200 }, window)).toBe("down");
    expect(placeCall({ start: 90, end: 150 }, window)).toBe("straddling");
    expect(placeCall({ start: 150, end: 260 }, window)).toBe("straddling");
    expect(placeCall({ start: 210, end: 260 }, window)).toBe("straddling");
    expect(placeCall({ start: 250, end: 260 }, window)).toBe("after");
  });

  it("accepts as an outage answer only a 503 service_unavailable problem", () => {
    expect(isUnavailableProblem({ status: 503, problem: true, code: "service_unavailable" })).toBe(true);
    expect(isUnavailableProblem({ status: 503, problem: false, code: "service_unavailable" })).toBe(false);
    expect(isUnavailableProblem({ status: 503, problem: true, code: "internal_error" })).toBe(false);
    expect(isUnavailableProblem({ status: 500, problem: true, code: "service_unavailable" })).toBe(false);
  });

  it("formats a fixed-width table", () => {
    expect(formatTable(["a", "bb"], [["xxx", "y"]]).split("\n")).toEqual(["a    bb", "---  --", "xxx  y"]);
  });

  it("gives each simulated user of a phase its own documentation-range address", () => {
    const addresses = new Set(Array.from({ length: 600 }, (_, i) => userAddress(i + 1, 0)));
    expect(addresses.size).toBe(600);
    expect(userAddress(1, 0)).toBe("198.18.0.1");
    expect(userAddress(257, 1)).toBe("198.19.1.1");
  });
});
