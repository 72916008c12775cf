// Malformed and unusual requests: media types, empty bodies, NUL characters
// and OPTIONS. Each gets its documented problem, never a 500.
import { describe, expect, it } from "vitest";
import {
  call,
  db,
  login,
  problemOf,
  refresh,
  register,
  signIn,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/harness";

const { query } = db;

describe("media types the body middleware accepts", () => {
  it.each([
    "application/json",
    "APPLICATION/JSON",
    "application/json; charset=utf-8",
    "application/json;",
    "application/json ; charset=utf-8",
    "application/json; charset=utf-8; x=y",
  ])("accepts %s", async (contentType) => {
    const res = await call("POST", "/auth/register", {
      rawBody: JSON.stringify({ email: uniqueEmail("mt"), password: STRONG_PASSWORD }),
      headers: { "Content-Type": contentType },
    });
    expect(res.status).toBe(201);
  });

  it.each([
    "application/vnd.example+json",
    "application/merge-patch+json",
    "text/json",
    "application/x-www-form-urlencoded",
  ])("refuses %s with 415", async (contentType) => {
    const res = await call("POST", "/auth/login", {
      rawBody: '{"email":"a@example.com","password":"x"}',
      headers: { "Content-Type": contentType },
    });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).code).toBe("unsupported_media_type");
  });
});

describe("an empty body without a JSON Content-Type is no body", () => {
  it.each([undefined, "text/plain", "application/x-www-form-urlencoded"])(
    "logout with an access token and an empty %s body answers 204",
    async (contentType) => {
      const { tokens } = await register();
      const res = await call("POST", "/auth/logout", {
        token: tokens.accessToken,
        rawBody: "",
        headers: contentType ? { "Content-Type": contentType } : {},
      });
      expect(res.status).toBe(204);
      expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(401);
    },
  );

  it("logout with an access token and no body at all answers 204", async () => {
    const { tokens } = await register();
    expect((await call("POST", "/auth/logout", { token: tokens.accessToken })).status).toBe(204);
    expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(401);
  });

  it.each([undefined, "text/plain"])(
    "login with an empty %s body answers 400 validation_failed",
    async (contentType) => {
      const res = await call("POST", "/auth/login", {
        rawBody: "",
        headers: contentType ? { "Content-Type": contentType } : {},
      });
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    },
  );

  it("refresh with no body at all answers 400 validation_failed", async () => {
    const res = await call("POST", "/auth/refresh");
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });
});

describe("an empty body sent as application/json is not parseable JSON", () => {
  /** Every POST, PUT and PATCH operation the service documents, as `METHOD /path/{param}`. */
  async function bodyOperations(): Promise<[string, string][]> {
    const doc = (await (await call("GET", "/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    return Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => ["post", "put", "patch"].includes(method))
        .map((method) => [method.toUpperCase(), path] as [string, string]),
    );
  }

  async function auditCount(): Promise<string> {
    return (await query<{ n: string }>("select count(*) as n from audit_logs"))[0]!.n;
  }

  it("stops an empty JSON body reaching any POST/PUT route: 400 invalid_json on each, nothing written", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const target = await signIn();
    const operations = await bodyOperations();
    // The routes of the API contract at least; any route added later is covered too.
    expect(operations).toEqual(
      expect.arrayContaining([
        ["POST", "/auth/register"],
        ["POST", "/auth/login"],
        ["POST", "/auth/refresh"],
        ["POST", "/auth/logout"],
        ["POST", "/auth/password"],
        ["PUT", "/admin/users/{id}/roles"],
        ["POST", "/admin/users/{id}/disable"],
        ["POST", "/admin/users/{id}/enable"],
      ]),
    );
    const before = await auditCount();
    for (const [method, template] of operations) {
      const path = template.replace(/\{[^}]+\}/g, target.user.id);
      for (const contentType of ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]) {
        for (const rawBody of ["", undefined]) {
          const res = await call(method, path, {
            token: admin.tokens.accessToken,
            rawBody,
            headers: { "Content-Type": contentType },
          });
          const label = `${method} ${path} ${contentType} ${rawBody === undefined ? "no body" : "empty body"}`;
          expect(res.status, label).toBe(400);
          expect((await problemOf(res)).code, label).toBe("invalid_json");
        }
      }
    }
    expect(await auditCount()).toBe(before);
    // Nothing happened to either account: both still signed in, the target active with its roles.
    expect((await call("GET", "/me", { token: admin.tokens.accessToken })).status).toBe(200);
    expect(await (await call("GET", "/me", { token: target.tokens.accessToken })).json()).toMatchObject({
      user: { roles: ["user"], status: "active" },
    });
    expect((await refresh(target.tokens.refreshToken)).status).toBe(200);
  });

  it(
    "logout with an access token and an empty application/json body answers " + "400 invalid_json and ends nothing",
    async () => {
      const { tokens } = await register();
      const res = await call("POST", "/auth/logout", {
        token: tokens.accessToken,
        rawBody: "",
        headers: { "Content-Type": "application/json" },
      });
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("invalid_json");
      expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(200);
    },
  );

  it(
    "a DELETE with a default application/json Content-Type and no body is " +
      "judged on its own (no DELETE takes a body)",
    async () => {
      const { email, password, tokens } = await register();
      const other = await login(email, password);
      const res = await call("DELETE", `/sessions/${other.tokens.sessionId}`, {
        token: tokens.accessToken,
        headers: { "Content-Type": "application/json" },
      });
      expect(res.status).toBe(204);
      expect((await call("GET", "/me", { token: other.tokens.accessToken })).status).toBe(401);
    },
  );
});

describe("NUL characters, which Postgres text cannot hold", () => {
  it.each([
    ["login email", "/auth/login", { email: "a\u0000@example.com", password: STRONG_PASSWORD }, "email"],
    [
      "register name",
      "/auth/register",
      { email: "nul@example.com", password: STRONG_PASSWORD, name: "Eve\u0000" },
      "name",
    ],
    [
      "login deviceName",
      "/auth/login",
      { email: "a@example.com", password: STRONG_PASSWORD, deviceName: "\u0000" },
      "deviceName",
    ],
  ])("in the %s answer 400 validation_failed naming the field, before any work", async (_label, path, body, field) => {
    const before = await query<{ n: string }>("select count(*) as n from audit_logs");
    const res = await call("POST", path, { body });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors?.[0]?.path).toBe(field);
    expect((await query<{ n: string }>("select count(*) as n from audit_logs"))[0]!.n).toBe(before[0]!.n);
  });

  it("in a query string answers 400 validation_failed", async () => {
    const admin = await signIn({ roles: ["admin"] });
    for (const path of ["/admin/users?q=a%00b", "/admin/audit-logs?event=x%00"]) {
      const res = await call("GET", path, { token: admin.tokens.accessToken });
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
  });
});

describe("names that could disguise how they read: register's name and login's deviceName", () => {
  const FORBIDDEN: [string, string][] = [
    ["a C0 control (BEL)", "\u0007"],
    ["a tab", "\t"],
    ["a line feed", "\n"],
    ["an escape (ESC, as in terminal colours)", "\u001B[31m"],
    ["DEL", "\u007F"],
    ["a C1 control (NEL)", "\u0085"],
    ["a C1 control (CSI)", "\u009B"],
    ["LEFT-TO-RIGHT EMBEDDING", "\u202A"],
    ["RIGHT-TO-LEFT EMBEDDING", "\u202B"],
    ["POP DIRECTIONAL FORMATTING", "\u202C"],
    ["LEFT-TO-RIGHT OVERRIDE", "\u202D"],
    ["RIGHT-TO-LEFT OVERRIDE", "\u202E"],
    ["LEFT-TO-RIGHT ISOLATE", "\u2066"],
    ["RIGHT-TO-LEFT ISOLATE", "\u2067"],
    ["FIRST STRONG ISOLATE", "\u2068"],
    ["POP DIRECTIONAL ISOLATE", "\u2069"],
    ["LEFT-TO-RIGHT MARK", "\u200E"],
    ["RIGHT-TO-LEFT MARK", "\u200F"],
    ["ARABIC LETTER MARK", "\u061C"],
  ];

  async function counts(email: string) {
    const [row] = await query<{ users: string; sessions: string; audit: string }>(
      "select (select count(*) from users where email = $1) as users, (select count(*) from sessions) as sessions, " +
        "(select count(*) from audit_logs) as audit",
      [email],
    );
    return row!;
  }

  it.each(FORBIDDEN)(
    "stops %s in a register name: 400 validation_failed naming name, no account",
    async (_label, ch) => {
      for (const name of [`Eve${ch}Admin`, `${ch}Eve`, `Eve${ch}`]) {
        const email = uniqueEmail("bidi");
        const before = await counts(email);
        const res = await call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD, name } });
        expect(res.status, JSON.stringify(name)).toBe(400);
        const problem = await problemOf(res);
        expect(problem.code).toBe("validation_failed");
        expect(problem.errors?.map((e) => e.path)).toEqual(["name"]);
        expect(await counts(email)).toEqual(before);
      }
    },
  );

  it.each(FORBIDDEN)(
    "stops %s in a login deviceName: 400 validation_failed naming deviceName, no session",
    async (_label, ch) => {
      const { email, password } = await register();
      const before = await counts(email);
      const res = await call("POST", "/auth/login", { body: { email, password, deviceName: `laptop${ch}gpj.exe` } });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors?.map((e) => e.path)).toEqual(["deviceName"]);
      expect(await counts(email)).toEqual(before);
    },
  );

  it("accepts names in any script, right-to-left ones and emoji sequences included, stored as given", async () => {
    for (const name of ["Zoë Ångström", "李小龙", "محمد بن موسى", "שלום", "👩‍💻 Ada", "O'Brien-Smith Jr."]) {
      const res = await call("POST", "/auth/register", {
        body: { email: uniqueEmail("script"), password: STRONG_PASSWORD, name },
      });
      expect(res.status, name).toBe(201);
      expect(((await res.json()) as { user: { name: string } }).user.name).toBe(name);
    }
    const { email, password } = await register();
    const res = await call("POST", "/auth/login", { body: { email, password, deviceName: "  Pixel 8 — עבודה  " } });
    expect(res.status).toBe(200);
    const { tokens } = (await res.json()) as { tokens: { accessToken: string } };
    const { sessions } = (await (await call("GET", "/sessions", { token: tokens.accessToken })).json()) as {
      sessions: { current: boolean; device: { name?: string } }[];
    };
    expect(sessions.find((s) => s.current)!.device.name).toBe("Pixel 8 — עבודה");
  });
});

describe("OPTIONS without a CORS preflight", () => {
  it("answers 204 with Allow on a known path", async () => {
    const res = await call("OPTIONS", "/auth/login");
    expect(res.status).toBe(204);
    expect(res.headers.get("allow")).toBe("POST, OPTIONS");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers 404 on an unknown path", async () => {
    const res = await call("OPTIONS", "/no/such/path");
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe("not_found");
  });
});

describe("forged page cursors", () => {
  const forge = (createdAt: string, id: string) =>
    btoa(JSON.stringify([createdAt, id]))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
  const cursors = [
    ["an impossible date", forge("2024-02-30T10:00:00.000000Z", crypto.randomUUID())],
    ["an impossible time", forge("2024-02-10T25:61:61.000000Z", crypto.randomUUID())],
    ["year zero", forge("0000-01-01T00:00:00.000000Z", crypto.randomUUID())],
    ["an id of dashes", forge("2024-02-10T10:00:00.000000Z", "-".repeat(36))],
    ["three elements", btoa(JSON.stringify(["2024-02-10T10:00:00.000000Z", crypto.randomUUID(), 1]))],
    ["not base64", "***"],
  ];

  it.each(cursors)("on /me/activity: %s answers 400 validation_failed", async (_label, cursor) => {
    const { tokens } = await register();
    const res = await call("GET", `/me/activity?cursor=${encodeURIComponent(cursor!)}`, { token: tokens.accessToken });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });

  it.each(cursors)(
    "on /admin/audit-logs and /admin/users: %s answers 400 validation_failed",
    async (_label, cursor) => {
      const admin = await signIn({ roles: ["admin"] });
      for (const path of ["/admin/audit-logs", "/admin/users"]) {
        const res = await call("GET", `${path}?cursor=${encodeURIComponent(cursor!)}`, {
          token: admin.tokens.accessToken,
        });
        expect(res.status).toBe(400);
        expect((await problemOf(res)).code).toBe("validation_failed");
      }
    },
  );
});

describe("the place is judged before the body", () => {
  it.each([
    ["an unknown path with a text body", "POST", "/nope", "hello", "text/plain", 404, "not_found"],
    ["an unknown path with broken JSON", "POST", "/nope", "{", "application/json", 404, "not_found"],
    ["a wrong method with a text body", "PUT", "/auth/login", "hello", "text/plain", 405, "method_not_allowed"],
    ["a wrong method with broken JSON", "POST", "/me", "{", "application/json", 405, "method_not_allowed"],
  ])("%s answers %s", async (_label, method, path, body, contentType, status, code) => {
    const res = await call(method as string, path as string, {
      rawBody: body as string,
      headers: { "Content-Type": contentType as string },
    });
    expect(res.status).toBe(status);
    expect((await problemOf(res)).code).toBe(code);
  });

  it("a wrong method names the allowed ones", async () => {
    const res = await call("DELETE", "/auth/login");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST, OPTIONS");
  });
});

describe("deeply nested JSON", () => {
  it("answers 400 validation_failed, not a stack overflow", async () => {
    const depth = 8000;
    const body = "[".repeat(depth) + "]".repeat(depth);
    const res = await call("POST", "/auth/login", { rawBody: body, headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });

  it("accepts ordinary nesting", async () => {
    const res = await call("POST", "/auth/login", {
      body: { email: "x@example.com", password: "not the password", extra: { a: { b: { c: [1, [2, [3]]] } } } },
    });
    expect(res.status).toBe(401);
  });
});

describe("privileged fields in any body", () => {
  it.each([
    ["/auth/refresh", (t: { refreshToken: string }) => ({ refreshToken: t.refreshToken, roles: ["admin"] })],
    [
      "/auth/password",
      () => ({
        currentPassword: STRONG_PASSWORD,
        newPassword: "another long passphrase 1",
        permissions: ["users:write"],
      }),
    ],
    ["/auth/logout", (t: { refreshToken: string }) => ({ refreshToken: t.refreshToken, status: "active" })],
  ] as const)("POST %s refuses them with 400 validation_failed and changes nothing", async (path, body) => {
    const { tokens } = await register();
    const res = await call("POST", path, { token: tokens.accessToken, body: body(tokens) });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
    expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(200);
  });
});

describe("lengths answer with the documented code", () => {
  it("a 2 KB refresh token is an invalid_refresh_token (401)", async () => {
    const res = await refresh(`sart_${"a".repeat(2048)}`);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_refresh_token");
  });

  it("a 65-character session id is not_found (404)", async () => {
    const { tokens } = await register();
    const res = await call("DELETE", `/sessions/${"a".repeat(65)}`, { token: tokens.accessToken });
    expect(res.status).toBe(404);
  });

  it.each(["0x10", "1e1", " 5", "5.0"])("limit=%s is refused with 400 validation_failed", async (limit) => {
    const { tokens } = await register();
    const res = await call("GET", `/me/activity?limit=${encodeURIComponent(limit)}`, { token: tokens.accessToken });
    expect(res.status).toBe(400);
  });

  it("JSON responses declare charset=utf-8", async () => {
    const res = await call("GET", "/health");
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });
});
