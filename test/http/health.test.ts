import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";

/** The Worker's fetch with DATABASE_URL pointing at an address where nothing listens. */
async function fetchWithClosedDatabase(request: Request): Promise<Response> {
  const closed = { ...env, DATABASE_URL: (env as unknown as { CLOSED_DATABASE_URL: string }).CLOSED_DATABASE_URL };
  const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
  return worker.fetch(request, closed as never, ctx);
}

describe("GET /health", () => {
  it("answers 200 ok", async () => {
    const res = await exports.default.fetch("http://auth.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers 200 ok without touching the database: still 200 when the database is unreachable", async () => {
    const res = await fetchWithClosedDatabase(new Request("http://auth.test/health"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("GET /health/ready", () => {
  it("answers 200 when the database answers", async () => {
    const res = await exports.default.fetch("http://auth.test/health/ready");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", database: "ok" });
  });

  it("answers 503 service_unavailable when the database is unreachable", async () => {
    const res = await fetchWithClosedDatabase(new Request("http://auth.test/health/ready"));
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = await res.json();
    expect(body).toMatchObject({ code: "service_unavailable", status: 503 });
  });
});
