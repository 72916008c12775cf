import { describe, expect, it } from "vitest";
import { call, testService } from "../support/harness";

/** The Worker with DATABASE_URL pointing at an address where nothing listens. */
const closed = testService().closedDatabase();

describe("GET /health", () => {
  it("answers 200 ok", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers 200 ok without touching the database: still 200 when the database is unreachable", async () => {
    const res = await closed.call("GET", "/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("GET /health/ready", () => {
  it("answers 200 when the database answers", async () => {
    const res = await call("GET", "/health/ready");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", database: "ok" });
  });

  it("answers 503 service_unavailable when the database is unreachable", async () => {
    const res = await closed.call("GET", "/health/ready");
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = await res.json();
    expect(body).toMatchObject({ code: "service_unavailable", status: 503 });
  });
});
