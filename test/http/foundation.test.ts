// The conventions every endpoint shares (docs/api.md), through the Worker's real fetch: problem+json errors
// for unknown paths and methods, the request-body limits, the security
// headers on every response, the CORS allowlist, error bodies that leak
// nothing, and a service that refuses to run on a broken configuration.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/config";
import { TEST_SECRETS } from "../setup/secrets";
import { call, env, problemOf, testService } from "../support/harness";

const PROBLEM_BASE = "https://secureauth.dev/errors/";
const ALLOWED_ORIGIN = "https://app.example.com";
const OTHER_ALLOWED_ORIGIN = "http://127.0.0.1:5173";
const FOREIGN_ORIGIN = "https://evil.example.net";
const LIMIT = 16 * 1024;

// The exact security headers every response carries, whatever the route.
const SECURITY_HEADERS = {
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
};

/** The Worker with its database unreachable. */
const closedDatabase = testService().closedDatabase();

/** The exact body the API contract allows for an error with no detail: nothing else. */
function bareProblem(code: string, status: number, title: string) {
  return { type: PROBLEM_BASE + code, title, status, code };
}

function expectSecurityHeaders(res: Response): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name), name).toBe(value);
}

function expectNoLeak(text: string): void {
  // Stack frames, SQL, driver and runtime error text.
  expect(text).not.toMatch(
    new RegExp(
      String.raw`\n\s+at |\bat .+:\d+:\d+|Error:|select |insert |update |ECONN|websocket|postgres|neon|drizzle|` +
        String.raw`workerd|TypeError|SyntaxError|JSON\.parse|Unexpected token`,
      "i",
    ),
  );
}

/** A request body with no Content-Length: the Worker sees only a stream. */
function streamedBody(totalBytes: number, onPull?: () => void): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(" ".repeat(1024));
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      onPull?.();
      if (sent >= totalBytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("unknown paths and methods", () => {
  it("an unknown path is 404 not_found problem+json", async () => {
    const res = await call("GET", "/no/such/thing");
    expect(res.status).toBe(404);
    expect(await problemOf(res)).toEqual(bareProblem("not_found", 404, "Not found"));
  });

  it("a known path with a method it does not serve is 405 method_not_allowed with Allow", async () => {
    const res = await call("DELETE", "/health");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    expect(await problemOf(res)).toEqual(bareProblem("method_not_allowed", 405, "Method not allowed"));
  });

  it("POST to a GET-only path is 405, not 404", async () => {
    const res = await call("POST", "/health/ready", { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    expect((await problemOf(res)).code).toBe("method_not_allowed");
  });

  it("HEAD is served wherever GET is, with the GET headers and no body", async () => {
    const res = await call("HEAD", "/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expectSecurityHeaders(res);
    expect(await res.text()).toBe("");
  });

  it("HEAD on an unknown path is 404 with no body", async () => {
    const res = await call("HEAD", "/no/such/thing");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.text()).toBe("");
  });
});

describe("request bodies", () => {
  it("a body over 16 KiB with Content-Length is 413 payload_too_large", async () => {
    const res = await call("POST", "/auth/login", {
      rawBody: JSON.stringify({ email: "a@example.com", password: "x".repeat(LIMIT) }),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(413);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ code: "payload_too_large", status: 413, type: `${PROBLEM_BASE}payload_too_large` });
    expectNoLeak(JSON.stringify(problem));
  });

  it("a streamed body over 16 KiB without Content-Length is 413 payload_too_large", async () => {
    const res = await call("POST", "/auth/register", {
      rawBody: streamedBody(64 * 1024),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe("payload_too_large");
  });

  it("an endless streamed body is cut off at the limit, not read to the end", async () => {
    let pulls = 0;
    const res = await call("POST", "/auth/login", {
      rawBody: streamedBody(Number.POSITIVE_INFINITY, () => pulls++),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe("payload_too_large");
    // The stream never ends: answering at all proves the reader stopped. Some
    // read-ahead across the runtime's pipe is fine; a full read is impossible.
    expect(pulls).toBeLessThan(10_000);
  });

  it("the size limit is checked before the media type or the JSON", async () => {
    const res = await call("POST", "/auth/login", {
      rawBody: "{".repeat(LIMIT + 1),
      headers: { "Content-Type": "text/plain" },
    });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe("payload_too_large");
  });

  it("a body of exactly 16 KiB is not refused for its size", async () => {
    const padding = LIMIT - JSON.stringify({ email: "a@example.com", password: "" }).length;
    const body = JSON.stringify({ email: "a@example.com", password: "x".repeat(padding) });
    expect(new TextEncoder().encode(body).byteLength).toBe(LIMIT);
    const res = await call("POST", "/auth/login", { rawBody: body, headers: { "Content-Type": "application/json" } });
    // Read and parsed in full: the schema, not the size limit, refuses it (a
    // password over the 1024-character input bound).
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ code: "validation_failed", status: 400 });
    expect(problem.errors?.map((e) => e.path)).toEqual(["password"]);
  });

  it.each([
    ["text/plain", '{"email":"a@example.com","password":"correct horse battery"}'],
    ["application/x-www-form-urlencoded", "email=a%40example.com&password=correct+horse+battery"],
    [
      "multipart/form-data; boundary=x",
      '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.com\r\n--x--\r\n',
    ],
  ])("a %s body is 415 unsupported_media_type", async (contentType, body) => {
    const res = await call("POST", "/auth/login", { rawBody: body, headers: { "Content-Type": contentType } });
    expect(res.status).toBe(415);
    expect(await problemOf(res)).toMatchObject({ code: "unsupported_media_type", status: 415 });
  });

  it("a body with no Content-Type is 415 unsupported_media_type", async () => {
    const res = await call("POST", "/auth/login", { rawBody: new TextEncoder().encode('{"email":"a@example.com"}') });
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.status).toBe(415);
  });

  it.each([
    ["truncated", '{"email":"a@example.com","password":'],
    ["single-quoted", "{'email':'a@example.com'}"],
    ["trailing garbage", '{"email":"a@example.com"} x'],
  ])("a %s JSON body is 400 invalid_json, with no parser text", async (_name, body) => {
    const res = await call("POST", "/auth/login", {
      rawBody: body,
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem).toEqual(bareProblem("invalid_json", 400, "Request body is not valid JSON"));
    expectNoLeak(JSON.stringify(problem));
  });

  it("a body that is not valid UTF-8 is 400 invalid_json", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"a":"\xff\xfe"}
    const res = await call("POST", "/auth/login", { rawBody: bytes, headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("invalid_json");
  });
});

describe("security headers on every response", () => {
  it("on a 200", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
  });

  it("on a 404", async () => {
    const res = await call("GET", "/nope");
    expect(res.status).toBe(404);
    expectSecurityHeaders(res);
  });

  it("on a 405", async () => {
    const res = await call("DELETE", "/health");
    expect(res.status).toBe(405);
    expectSecurityHeaders(res);
  });

  it("on a 413", async () => {
    const res = await call("POST", "/auth/login", {
      rawBody: streamedBody(LIMIT * 2),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(413);
    expectSecurityHeaders(res);
  });

  it("on a 415 and a 400", async () => {
    const unsupported = await call("POST", "/auth/login", { rawBody: "x", headers: { "Content-Type": "text/plain" } });
    expect(unsupported.status).toBe(415);
    expectSecurityHeaders(unsupported);
    const invalid = await call("POST", "/auth/login", {
      rawBody: "{",
      headers: { "Content-Type": "application/json" },
    });
    expect(invalid.status).toBe(400);
    expectSecurityHeaders(invalid);
  });

  it("on a 503 when the database is unreachable", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await closedDatabase.call("GET", "/health/ready");
    expect(res.status).toBe(503);
    expectSecurityHeaders(res);
  });

  it("on a 500 and a 503 from a broken configuration", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const misconfigured = testService({ env: { JWT_SIGNING_KEYS: undefined } });
    const res = await misconfigured.call("GET", "/.well-known/jwks.json");
    expect(res.status).toBe(500);
    expectSecurityHeaders(res);
    const ready = await misconfigured.call("GET", "/health/ready");
    expect(ready.status).toBe(503);
    expectSecurityHeaders(ready);
  });

  it("on a CORS preflight", async () => {
    const res = await call("OPTIONS", "/auth/login", {
      headers: { Origin: ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(204);
    expectSecurityHeaders(res);
  });
});

describe("CORS allowlist", () => {
  function varyValues(res: Response): string[] {
    return (res.headers.get("vary") ?? "")
      .split(",")
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean);
  }

  it.each([ALLOWED_ORIGIN, OTHER_ALLOWED_ORIGIN])(
    "echoes the allowlisted origin %s exactly, with Vary: Origin once and credentials",
    async (origin) => {
      const res = await call("GET", "/health", { headers: { Origin: origin } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
      expect(varyValues(res).filter((v) => v === "origin")).toHaveLength(1);
    },
  );

  it("puts the CORS headers on error responses too, so a browser can read the problem", async () => {
    const res = await call("GET", "/nope", { headers: { Origin: ALLOWED_ORIGIN } });
    expect(res.status).toBe(404);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(res.headers.get("access-control-expose-headers")).toContain("WWW-Authenticate");
  });

  it("answers a preflight from an allowlisted origin", async () => {
    const res = await call("OPTIONS", "/auth/login", {
      headers: {
        Origin: ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-methods")?.split(",")).toEqual(
      expect.arrayContaining(["GET", "POST", "PUT", "DELETE"]),
    );
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase().split(",")).toEqual(
      expect.arrayContaining(["authorization", "content-type"]),
    );
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(varyValues(res).filter((v) => v === "origin")).toHaveLength(1);
  });

  it.each([
    ["a foreign origin", FOREIGN_ORIGIN],
    ["a suffix of an allowed origin", "https://app.example.com.evil.example.net"],
    ["an allowed host on another scheme", "http://app.example.com"],
    ["an allowed host on another port", "https://app.example.com:8443"],
    ["the opaque origin null", "null"],
    ["a wildcard", "*"],
  ])("gives %s no CORS headers at all, and never *", async (_name, origin) => {
    const res = await call("GET", "/health", { headers: { Origin: origin } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("access-control-expose-headers")).toBeNull();
    // The answer still varies by Origin for shared caches.
    expect(varyValues(res)).toContain("origin");
  });

  it("refuses a preflight from a foreign origin: no Allow-Origin, no Allow-Credentials", async () => {
    const res = await call("OPTIONS", "/auth/login", {
      headers: {
        Origin: FOREIGN_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
      },
    });
    // Answered like any OPTIONS (what the path accepts), not as an error.
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("access-control-allow-methods")).toBeNull();
    expect(res.headers.get("access-control-allow-headers")).toBeNull();
  });

  it("sends no CORS headers to a request without Origin", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("with an empty allowlist, no origin is answered", async () => {
    const res = await testService({ env: { ALLOWED_ORIGINS: "" } }).call("GET", "/health", {
      headers: { Origin: ALLOWED_ORIGIN },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });
});

describe("database unreachable", () => {
  it("/health stays 200 while /health/ready is 503 with exactly the problem fields", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const live = await closedDatabase.call("GET", "/health");
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok" });

    const ready = await closedDatabase.call("GET", "/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.headers.get("content-type")).toBe("application/problem+json");
    const text = await ready.text();
    expect(JSON.parse(text)).toEqual(bareProblem("service_unavailable", 503, "Service unavailable"));
    expectNoLeak(text);
    // Nothing the driver said reaches the log line either beyond a class name and code.
    for (const [line] of logged.mock.calls) expect(String(line)).not.toMatch(/postgres:\/\/|password/i);
  });
});

describe("a misconfigured deployment", () => {
  it.each([
    ["JWT_SIGNING_KEYS is missing", { JWT_SIGNING_KEYS: undefined }, "JWT_SIGNING_KEYS"],
    ["JWT_SIGNING_KEYS is not JSON", { JWT_SIGNING_KEYS: "[{kty:OKP" }, "JWT_SIGNING_KEYS"],
    [
      "JWT_SIGNING_KEYS holds a public key only",
      { JWT_SIGNING_KEYS: JSON.stringify([{ kty: "OKP", crv: "Ed25519", x: "abc", kid: "k" }]) },
      "JWT_SIGNING_KEYS",
    ],
    ["REFRESH_TOKEN_SECRET is too short", { REFRESH_TOKEN_SECRET: "short" }, "REFRESH_TOKEN_SECRET"],
    ["REFRESH_TOKEN_SECRET is missing", { REFRESH_TOKEN_SECRET: undefined }, "REFRESH_TOKEN_SECRET"],
    ["DATABASE_URL is missing", { DATABASE_URL: undefined }, "DATABASE_URL"],
    ["ACCESS_TOKEN_TTL is not a number", { ACCESS_TOKEN_TTL: "ten minutes" }, "ACCESS_TOKEN_TTL"],
  ])(
    "refuses every request with a bare 500 internal_error (readiness a bare 503) when %s",
    async (_name, overrides, variable) => {
      const logged = vi.spyOn(console, "error").mockImplementation(() => {});
      const misconfigured = testService({ env: overrides });
      for (const [path, status, code, title] of [
        ["/.well-known/jwks.json", 500, "internal_error", "Internal server error"],
        ["/auth/login", 500, "internal_error", "Internal server error"],
        ["/health/ready", 503, "service_unavailable", "Service unavailable"],
      ] as const) {
        const res = await misconfigured.call("GET", path);
        expect(res.status).toBe(status);
        expect(res.headers.get("content-type")).toBe("application/problem+json");
        const text = await res.text();
        expect(JSON.parse(text)).toEqual(bareProblem(code, status, title));
        expect(text).not.toContain(variable);
        expectNoLeak(text);
      }
      // Liveness: the Worker runs; it is the configuration that is wrong.
      const live = await misconfigured.call("GET", "/health");
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: "ok" });
      // The operator learns which variable is wrong from the log, never the client.
      expect(logged.mock.calls.map(([line]) => String(line)).join("\n")).toContain(variable);
    },
  );
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document of the service", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const doc = (await res.json()) as { openapi: string; info: { title: string }; paths: Record<string, unknown> };
    expect(doc.openapi.startsWith("3.1")).toBe(true);
    expect(doc.info.title).toBe("SecureAuth");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/health", "/health/ready"]));
    expectSecurityHeaders(res);
  });
});

describe("the test environment", () => {
  // Variables that do not come from TEST_SECRETS: the database and SMTP addresses from
  // the global setup, and the non-text bindings from wrangler.toml.
  type NotPinned =
    | "DATABASE_URL"
    | "PG_WS_PROXY"
    | "REVOCATION_FEED"
    | "AUTH_IP_RATE_LIMITER"
    | "AUTH_EMAIL_RATE_LIMITER"
    | "AUTH_REFRESH_RATE_LIMITER"
    | "MAIL_QUEUE"
    | "SMTP_URL";

  it("binds every variable src/config.ts reads to its pinned value, whatever .dev.vars or [vars] hold", () => {
    // Compile time: a variable added to Env but not pinned fails the typecheck
    // here, and so does a pinned name that config does not read.
    const pinned: Record<Exclude<keyof Env, NotPinned>, string> = TEST_SECRETS;
    const noUnknownNames: [Exclude<keyof typeof TEST_SECRETS, keyof Env>] extends [never] ? true : false = true;
    expect(noUnknownNames).toBe(true);

    const bound = env as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(pinned)) expect(bound[name], name).toBe(value);
  });
});
