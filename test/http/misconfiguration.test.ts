// A misconfiguration (a variable missing or malformed, or a signing key that
// parses as JSON but is not a usable key) fails loudly and writes nothing:
// every request but the health checks answers 500 with no details, liveness
// (`/health`) stays 200, and readiness (`/health/ready`) answers 503
// service_unavailable with a body that names nothing; the log names the variable.
import { describe, expect, it } from "vitest";
import { TEST_SECRETS, TEST_SIGNING_KEYS } from "../setup/secrets";
import { captureConsole } from "../support/logs";
import { db, problemOf, STRONG_PASSWORD, testService, uniqueEmail } from "../support/harness";

const [current, previous] = TEST_SIGNING_KEYS;
const mismatched = { ...current!, d: previous!.d };
const garbage = { ...current!, x: "AAAA", d: "BBBB" };

describe("a configuration that does not load", () => {
  it.each([
    [
      "a signing key whose private half does not match its public half",
      { JWT_SIGNING_KEYS: JSON.stringify([mismatched]) },
    ],
    ["signing key material that is not an Ed25519 key", { JWT_SIGNING_KEYS: JSON.stringify([garbage]) }],
    ["REFRESH_TOKEN_SECRET unset", { REFRESH_TOKEN_SECRET: "" }],
    ["REFRESH_TOKEN_SECRET too short", { REFRESH_TOKEN_SECRET: "short-secret-value" }],
    ["ACCESS_TOKEN_TTL malformed", { ACCESS_TOKEN_TTL: "10m" }],
  ])("with %s, every request answers 500 internal_error and register writes nothing", async (_label, env) => {
    const service = testService({ env });
    const email = uniqueEmail("misconfigured");
    const register = await service.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } });
    expect(register.status).toBe(500);
    expect(await problemOf(register)).toEqual({
      type: "https://secureauth.dev/errors/internal_error",
      title: "Internal server error",
      status: 500,
      code: "internal_error",
    });
    expect(await db.query("select 1 from users where email = $1", [email])).toHaveLength(0);
    expect((await service.call("GET", "/.well-known/jwks.json")).status).toBe(500);
  });

  it.each([
    ["a signing key that does not import", { JWT_SIGNING_KEYS: JSON.stringify([garbage]) }, "JWT_SIGNING_KEYS"],
    ["REFRESH_TOKEN_SECRET too short", { REFRESH_TOKEN_SECRET: "short-secret-value" }, "REFRESH_TOKEN_SECRET"],
    ["ACCESS_TOKEN_TTL malformed", { ACCESS_TOKEN_TTL: "10m" }, "ACCESS_TOKEN_TTL"],
  ])("with %s, /health stays 200 and /health/ready answers 503 naming nothing", async (_label, env, variable) => {
    const service = testService({ env });
    const logs = captureConsole();
    try {
      const health = await service.call("GET", "/health");
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });

      const ready = await service.call("GET", "/health/ready");
      expect(ready.status).toBe(503);
      const text = await ready.text();
      expect(JSON.parse(text)).toEqual({
        type: "https://secureauth.dev/errors/service_unavailable",
        title: "Service unavailable",
        status: 503,
        code: "service_unavailable",
      });
      for (const value of [variable, ...Object.values(env), TEST_SECRETS.REFRESH_TOKEN_SECRET]) {
        expect(text).not.toContain(value);
      }
      // The operator learns which variable from the log, which never holds its value.
      const logged = logs.lines.join("\n");
      expect(logged).toContain(variable);
      for (const value of Object.values(env)) expect(logged).not.toContain(value);
    } finally {
      logs.restore();
    }
  });
});
