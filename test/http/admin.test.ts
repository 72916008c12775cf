// The admin API (docs/api.md, "Roles and permissions"), through the Worker's fetch
// against the real Postgres: every endpoint's gate (401 without a token, 403
// without the permission, success with it), the user listing's keyset
// pagination and search, role replacement, disabling and enabling, ending a
// user's sessions, the audit trail, and the audit rows each change writes.
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ApiUser,
  call,
  claimsOf,
  db,
  login,
  problemOf,
  refresh,
  refreshOk,
  register,
  type SignedInUser,
  signIn,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/harness";

const { query, auditRows } = db;

type UserPage = { items: ApiUser[]; nextCursor: string | null };
type AuditEvent = {
  id: string;
  event: string;
  userId?: string;
  actorId?: string;
  sessionId?: string;
  metadata: Record<string, unknown>;
  createdAt: string;
};
type AuditPage = { items: AuditEvent[]; nextCursor: string | null };
type Session = {
  id: string;
  current: boolean;
  device: Record<string, string>;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
};

const UNKNOWN_ID = "7d0c2a52-3f4e-4b6a-9c1d-2e3f4a5b6c7d";

let admin: SignedInUser;

beforeAll(async () => {
  admin = await signIn({ roles: ["admin"] });
});

async function sessionRows(userId: string) {
  return query<{ id: string; revoked_at: string | null; revoked_reason: string | null }>(
    "select id, revoked_at, revoked_reason from sessions where user_id = $1 order by created_at, id",
    [userId],
  );
}

async function userRow(userId: string) {
  const [row] = await query<{ status: string; roles: string[] }>(
    "select u.status, coalesce((select array_agg(role_name order by role_name) from user_roles where user_id = " +
      "u.id), '{}') as roles from users u where u.id = $1",
    [userId],
  );
  return row!;
}

describe("the permission gate on every admin endpoint", () => {
  // Each endpoint with the permission the API contract names for it; the target user is created per case.
  const endpoints: {
    name: string;
    permission: string;
    request: (targetId: string) => [string, string, unknown?];
    success: number;
  }[] = [
    { name: "GET /admin/users", permission: "users:read", request: () => ["GET", "/admin/users"], success: 200 },
    {
      name: "GET /admin/users/:id",
      permission: "users:read",
      request: (id) => ["GET", `/admin/users/${id}`],
      success: 200,
    },
    {
      name: "PUT /admin/users/:id/roles",
      permission: "roles:assign",
      request: (id) => ["PUT", `/admin/users/${id}/roles`, { roles: ["user"] }],
      success: 200,
    },
    {
      name: "POST /admin/users/:id/disable",
      permission: "users:write",
      request: (id) => ["POST", `/admin/users/${id}/disable`],
      success: 200,
    },
    {
      name: "POST /admin/users/:id/enable",
      permission: "users:write",
      request: (id) => ["POST", `/admin/users/${id}/enable`],
      success: 200,
    },
    {
      name: "DELETE /admin/users/:id/sessions",
      permission: "sessions:revoke",
      request: (id) => ["DELETE", `/admin/users/${id}/sessions`],
      success: 204,
    },
    {
      name: "GET /admin/audit-logs",
      permission: "audit:read",
      request: () => ["GET", "/admin/audit-logs"],
      success: 200,
    },
  ];

  for (const endpoint of endpoints) {
    describe(endpoint.name, () => {
      it("is 401 invalid_token without a token", async () => {
        const target = await register();
        const [method, path, body] = endpoint.request(target.user.id);
        const res = await call(method, path, { body });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_request"');
        expect((await problemOf(res)).code).toBe("invalid_token");
      });

      it("is 403 insufficient_permission for a plain user, and changes nothing", async () => {
        const target = await register();
        const plain = await register();
        const [method, path, body] = endpoint.request(target.user.id);
        const res = await call(method, path, { body, token: plain.tokens.accessToken });
        expect(res.status).toBe(403);
        const problem = await problemOf(res);
        expect(problem).toMatchObject({
          status: 403,
          code: "insufficient_permission",
          type: "https://secureauth.dev/errors/insufficient_permission",
        });
        expect(problem.detail).toContain(endpoint.permission);
        expect(await userRow(target.user.id)).toEqual({ status: "active", roles: ["user"] });
        expect((await sessionRows(target.user.id)).every((s) => s.revoked_at === null)).toBe(true);
      });

      it(`succeeds (${endpoint.success}) for an admin`, async () => {
        const target = await register();
        const [method, path, body] = endpoint.request(target.user.id);
        const res = await call(method, path, { body, token: admin.tokens.accessToken });
        expect(res.status, await res.clone().text()).toBe(endpoint.success);
      });
    });
  }

  it("every admin operation is in /openapi.json with bearer security and problem responses", async () => {
    const doc = (await (await call("GET", "/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
    };
    const operations: [string, string][] = [
      ["/admin/users", "get"],
      ["/admin/users/{id}", "get"],
      ["/admin/users/{id}/roles", "put"],
      ["/admin/users/{id}/disable", "post"],
      ["/admin/users/{id}/enable", "post"],
      ["/admin/users/{id}/sessions", "delete"],
      ["/admin/audit-logs", "get"],
    ];
    for (const [path, method] of operations) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation!.security).toEqual([{ bearerAuth: [] }, { cookieAuth: [] }]);
      expect(Object.keys(operation!.responses)).toEqual(expect.arrayContaining(["401", "403"]));
    }
  });
});

describe("GET /admin/users", () => {
  const list = async (params: Record<string, string | number>) => {
    const res = await call(
      "GET",
      `/admin/users?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`,
      { token: admin.tokens.accessToken },
    );
    return res;
  };

  /** Follows nextCursor to the end, returning every page. */
  async function walk(params: Record<string, string | number>): Promise<UserPage[]> {
    const pages: UserPage[] = [];
    let cursor: string | null = null;
    do {
      const res = await list(cursor === null ? params : { ...params, cursor });
      expect(res.status, await res.clone().text()).toBe(200);
      const page = (await res.json()) as UserPage;
      pages.push(page);
      cursor = page.nextCursor;
      expect(pages.length).toBeLessThan(100);
    } while (cursor !== null);
    return pages;
  }

  it("walks pages oldest first with neither repeats nor skips, even when many users share one created_at", async () => {
    const tag = `walk${crypto.randomUUID().slice(0, 8)}`;
    // Eleven rows with one created_at, to the microsecond (now() of one statement), and four with distinct ones.
    await query(
      `insert into users (email, password_hash, name, created_at)
       select $1 || '-same-' || i || '@example.com', 'not-a-hash', 'Same ' || i, now() from generate_series(1, 11) i`,
      [tag],
    );
    await query(
      `insert into users (email, password_hash, name, created_at)
       select $1 || '-spread-' || i || '@example.com', 'not-a-hash', 'Spread ' || i,
         now() - make_interval(secs => i * 0.000001) from generate_series(1, 4) i`,
      [tag],
    );
    const expected = await query<{ id: string }>("select id from users where email like $1 order by created_at, id", [
      `${tag}-%`,
    ]);
    expect(expected).toHaveLength(15);

    for (const limit of [1, 3, 4, 15, 100]) {
      const pages = await walk({ q: tag, limit });
      const ids = pages.flatMap((p) => p.items.map((u) => u.id));
      expect(ids, `limit ${limit}`).toEqual(expected.map((r) => r.id));
      expect(pages.length).toBe(Math.max(1, Math.ceil(15 / limit)));
      for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(limit);
    }
  });

  it("pages stay stable when rows are inserted behind the cursor", async () => {
    const tag = `stable${crypto.randomUUID().slice(0, 8)}`;
    await query(
      `insert into users (email, password_hash, created_at) select $1 || '-' || i || '@example.com', 'x', now() -
        interval '1 hour' + make_interval(secs => i) from generate_series(1, 6) i`,
      [tag],
    );
    const first = (await (await list({ q: tag, limit: 3 })).json()) as UserPage;
    // A row older than everything already seen: keyset paging must not shift the next page.
    await query(`insert into users (email, password_hash, created_at) values ($1, 'x', now() - interval '2 hours')`, [
      `${tag}-old@example.com`,
    ]);
    const second = (await (await list({ q: tag, limit: 3, cursor: first.nextCursor! })).json()) as UserPage;
    expect(second.items.map((u) => u.email)).toEqual([4, 5, 6].map((i) => `${tag}-${i}@example.com`));
    expect(second.nextCursor).toBeNull();
  });

  it("returns users as the API contract's User, never a password hash", async () => {
    const someone = await register({ name: "Listed Person" });
    const res = await list({ q: someone.email });
    expect(res.status).toBe(200);
    const page = (await res.json()) as UserPage;
    expect(page).toEqual({ items: [someone.user], nextCursor: null });
    // The contract's User names hasPassword (a boolean); nothing else may mention a password or a hash.
    expect(someone.user.hasPassword).toBe(true);
    expect(JSON.stringify(page).replaceAll('"hasPassword":true', "")).not.toMatch(/argon2|password|hash/i);
  });

  it("searches email and name case-insensitively", async () => {
    const tag = `srch${crypto.randomUUID().slice(0, 8)}`;
    const byEmail = await register({ email: `${tag}-mail@example.com`, name: "Nobody" });
    const byName = await register({ name: `Ada ${tag.toUpperCase()} Lovelace` });
    const page = (await (await list({ q: tag.toUpperCase() })).json()) as UserPage;
    expect(page.items.map((u) => u.id).sort()).toEqual([byEmail.user.id, byName.user.id].sort());
    const none = (await (await list({ q: `${tag}-nothing` })).json()) as UserPage;
    expect(none).toEqual({ items: [], nextCursor: null });
  });

  it("matches LIKE wildcards % and _ literally", async () => {
    const tag = `wild${crypto.randomUUID().slice(0, 8)}`;
    const percent = await register({ name: `${tag} 100% off` });
    const underscore = await register({ name: `${tag} snake_case` });
    const plain = await register({ name: `${tag} 100x offxsnakeXcase` });
    const ids = async (q: string) => ((await (await list({ q })).json()) as UserPage).items.map((u) => u.id);
    expect(await ids(`${tag} 100%`)).toEqual([percent.user.id]);
    expect(await ids(`${tag} snake_case`)).toEqual([underscore.user.id]);
    expect(await ids(`${tag} 100_`)).toEqual([]);
    expect((await ids(tag)).sort()).toEqual([percent.user.id, underscore.user.id, plain.user.id].sort());
    expect(await ids("\\")).not.toContain(plain.user.id);
  });

  it("defaults limit to 20", async () => {
    const tag = `deflt${crypto.randomUUID().slice(0, 8)}`;
    await query(
      `insert into users (email, password_hash) select $1 || '-' || i || '@example.com', 'x' from
        generate_series(1, 21) i`,
      [tag],
    );
    const page = (await (await list({ q: tag })).json()) as UserPage;
    expect(page.items).toHaveLength(20);
    expect(page.nextCursor).not.toBeNull();
  });

  for (const limit of ["0", "101", "-1", "1.5", "ten", ""]) {
    it(`refuses limit=${JSON.stringify(limit)} with 400 validation_failed`, async () => {
      const res = await list({ limit });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors?.map((e) => e.path)).toContain("limit");
    });
  }

  const forged = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  for (const [name, cursor] of [
    ["random text", "not-a-cursor"],
    ["base64 of garbage", btoa("garbage")],
    ["an array with a bad date", forged(["2026-02-30T00:00:00.000000Z", UNKNOWN_ID])],
    ["an array with SQL for an id", forged(["2026-01-01T00:00:00.000000Z", "x' or 1=1 --"])],
    ["an audit-log cursor (millisecond precision)", forged(["2026-01-01T00:00:00.000Z", UNKNOWN_ID])],
  ] as const) {
    it(`refuses a malformed cursor (${name}) with 400 validation_failed`, async () => {
      const res = await list({ cursor });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors).toEqual([{ path: "cursor", message: expect.any(String) }]);
    });
  }
});

describe("GET /admin/users/:id", () => {
  it("returns the user and their live sessions, none of them current", async () => {
    const target = await register();
    const second = await login(target.email, target.password, { deviceName: "Work laptop" });
    await call("DELETE", `/sessions/${second.tokens.sessionId}`, { token: second.tokens.accessToken });
    const third = await login(target.email, target.password, { deviceName: "Phone" });

    const res = await call("GET", `/admin/users/${target.user.id}`, { token: admin.tokens.accessToken });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: ApiUser; sessions: Session[] };
    expect(body.user).toEqual(target.user);
    expect(body.sessions.map((s) => s.id).sort()).toEqual([target.tokens.sessionId, third.tokens.sessionId].sort());
    expect(body.sessions.every((s) => s.current === false)).toBe(true);
    expect(body.sessions.find((s) => s.id === third.tokens.sessionId)!.device.name).toBe("Phone");
    expect(JSON.stringify(body)).not.toContain(target.tokens.refreshToken);
    expect(JSON.stringify(body)).not.toMatch(/argon2|hash|sart_/i);
  });

  for (const id of [
    UNKNOWN_ID,
    "not-a-uuid",
    "1",
    "7d0c2a52-3f4e-4b6a-9c1d-2e3f4a5b6c7dzz",
    "'%20or%201=1--",
    "x".repeat(300),
  ]) {
    it(`answers 404 not_found for ${id.length > 40 ? "a very long id" : JSON.stringify(id)}, never a 500`, async () => {
      const res = await call("GET", `/admin/users/${id}`, { token: admin.tokens.accessToken });
      expect(res.status).toBe(404);
      expect((await problemOf(res)).code).toBe("not_found");
    });
  }

  it("every admin route under /admin/users/:id answers 404 for a malformed or unknown id", async () => {
    for (const id of ["not-a-uuid", UNKNOWN_ID]) {
      for (const [method, suffix, body] of [
        ["PUT", "/roles", { roles: ["user"] }],
        ["POST", "/disable", undefined],
        ["POST", "/enable", undefined],
        ["DELETE", "/sessions", undefined],
      ] as const) {
        const res = await call(method, `/admin/users/${id}${suffix}`, { token: admin.tokens.accessToken, body });
        expect(res.status, `${method} ${id}${suffix}`).toBe(404);
        expect((await problemOf(res)).code).toBe("not_found");
      }
    }
  });
});

describe("PUT /admin/users/:id/roles", () => {
  const putRoles = (id: string, body: unknown, token = admin.tokens.accessToken) =>
    call("PUT", `/admin/users/${id}/roles`, { body, token });

  it(
    "replaces the roles atomically with a user.roles_changed row by the " + "admin, and the next refresh carries them",
    async () => {
      const target = await register();
      const res = await putRoles(target.user.id, { roles: ["admin", "user", "admin"] });
      expect(res.status).toBe(200);
      const { user } = (await res.json()) as { user: ApiUser };
      expect(user.roles).toEqual(["admin", "user"]);
      expect(user.permissions).toEqual(
        expect.arrayContaining([
          "users:read",
          "users:write",
          "roles:assign",
          "sessions:revoke",
          "audit:read",
          "profile:read",
        ]),
      );
      expect(await userRow(target.user.id)).toEqual({ status: "active", roles: ["admin", "user"] });

      const audit = await auditRows({ userId: target.user.id, event: "user.roles_changed" });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actor_id: admin.user.id,
        metadata: { before: ["user"], after: ["admin", "user"] },
      });

      // The access token in hand keeps its claims; the next refresh carries the new ones.
      expect(claimsOf(target.tokens.accessToken).roles).toEqual(["user"]);
      const refreshed = await refresh(target.tokens.refreshToken);
      expect(refreshed.status).toBe(200);
      const { tokens } = (await refreshed.json()) as { tokens: { accessToken: string } };
      const claims = claimsOf(tokens.accessToken);
      expect(claims.roles).toEqual(["admin", "user"]);
      expect(claims.permissions).toEqual(expect.arrayContaining(["users:read", "audit:read"]));
      expect((await call("GET", "/admin/users?limit=1", { token: tokens.accessToken })).status).toBe(200);
    },
  );

  it("removes roles the same way: a demoted admin's next token lacks the admin permissions", async () => {
    const other = await signIn({ roles: ["admin"] });
    const res = await putRoles(other.user.id, { roles: ["user"] });
    expect(res.status).toBe(200);
    const { tokens } = (await (await refresh(other.tokens.refreshToken)).json()) as { tokens: { accessToken: string } };
    expect(claimsOf(tokens.accessToken).permissions).not.toContain("users:read");
    expect((await call("GET", "/admin/users", { token: tokens.accessToken })).status).toBe(403);
    const [row] = await auditRows({ userId: other.user.id, event: "user.roles_changed" });
    expect(row!.metadata).toEqual({ before: ["admin", "user"], after: ["user"] });
  });

  it("allows an empty list: the user keeps signing in but holds no permission", async () => {
    const target = await register();
    const res = await putRoles(target.user.id, { roles: [] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: ApiUser }).user).toMatchObject({ roles: [], permissions: [] });
    const signedIn = await login(target.email, target.password);
    expect(claimsOf(signedIn.tokens.accessToken)).toMatchObject({ roles: [], permissions: [] });
    expect((await call("GET", "/me", { token: signedIn.tokens.accessToken })).status).toBe(403);
  });

  it("refuses an unknown role with 400 validation_failed naming it, and changes nothing", async () => {
    const target = await register();
    const res = await putRoles(target.user.id, { roles: ["user", "superuser", "root"] });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { path: "roles.1", message: expect.stringContaining("superuser") },
        { path: "roles.2", message: expect.stringContaining("root") },
      ]),
    );
    expect(problem.errors).toHaveLength(2);
    expect(await userRow(target.user.id)).toEqual({ status: "active", roles: ["user"] });
    expect(await auditRows({ userId: target.user.id, event: "user.roles_changed" })).toHaveLength(0);
  });

  it("writes nothing when the roles asked for are the roles held", async () => {
    const target = await register();
    const res = await putRoles(target.user.id, { roles: ["user"] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: ApiUser }).user).toEqual(target.user);
    expect(await auditRows({ userId: target.user.id, event: "user.roles_changed" })).toHaveLength(0);
  });

  for (const [name, body] of [
    ["roles as a string", { roles: "admin" }],
    ["roles with a non-string", { roles: ["admin", 1] }],
    ["an empty role name", { roles: [""] }],
    ["no roles field", {}],
    ["a singular role field", { role: "admin" }],
    ["roles plus permissions", { roles: ["user"], permissions: ["users:write"] }],
    ["roles plus status", { roles: ["user"], status: "active" }],
    ["roles plus a prototype key", JSON.parse('{"roles":["user"],"__proto__":{"roles":["admin"]}}')],
    ["a JSON array", [{ roles: ["admin"] }]],
    ["null", null],
  ] as const) {
    it(`refuses a body with ${name} with 400 validation_failed and no change`, async () => {
      const target = await register();
      const res = await putRoles(target.user.id, body);
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
      expect(await userRow(target.user.id)).toEqual({ status: "active", roles: ["user"] });
    });
  }

  it("refuses an admin changing their own roles with 403, even to add one", async () => {
    const self = await signIn({ roles: ["admin"] });
    for (const roles of [["user"], ["admin", "user"], []]) {
      const res = await putRoles(self.user.id, { roles }, self.tokens.accessToken);
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
    }
    expect(await userRow(self.user.id)).toEqual({ status: "active", roles: ["admin", "user"] });
  });
});

describe("POST /admin/users/:id/disable and /enable", () => {
  it(
    "disables: every session ends, the old access token is refused at once, " +
      "refresh and login fail like a wrong password",
    async () => {
      const target = await register();
      const other = await login(target.email, target.password);
      expect((await call("GET", "/me", { token: target.tokens.accessToken })).status).toBe(200);

      const res = await call("POST", `/admin/users/${target.user.id}/disable`, { token: admin.tokens.accessToken });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { user: ApiUser }).user).toEqual({ ...target.user, status: "disabled" });

      // The edge refuses the tokens in hand before they expire.
      for (const token of [target.tokens.accessToken, other.tokens.accessToken]) {
        const me = await call("GET", "/me", { token });
        expect(me.status).toBe(401);
        expect((await problemOf(me)).code).toBe("invalid_token");
      }
      const refreshed = await refresh(target.tokens.refreshToken);
      expect(refreshed.status).toBe(401);
      expect((await problemOf(refreshed)).code).toBe("invalid_refresh_token");

      const rightPassword = await call("POST", "/auth/login", {
        body: { email: target.email, password: target.password },
      });
      const wrongPassword = await call("POST", "/auth/login", {
        body: { email: target.email, password: "not the password at all 42" },
      });
      expect(rightPassword.status).toBe(401);
      expect(wrongPassword.status).toBe(401);
      expect(await rightPassword.text()).toBe(await wrongPassword.text());

      const sessions = await sessionRows(target.user.id);
      expect(sessions).toHaveLength(2);
      expect(sessions.every((s) => s.revoked_at !== null && s.revoked_reason === "user_disabled")).toBe(true);
      const revoked = await auditRows({ userId: target.user.id, event: "session.revoked" });
      expect(revoked.map((r) => r.session_id).sort()).toEqual(sessions.map((s) => s.id).sort());
      expect(revoked.every((r) => r.actor_id === admin.user.id && r.metadata.reason === "user_disabled")).toBe(true);
      const disabled = await auditRows({ userId: target.user.id, event: "user.disabled" });
      expect(disabled).toHaveLength(1);
      expect(disabled[0]).toMatchObject({ actor_id: admin.user.id, metadata: { endedSessions: 2 } });
    },
  );

  it("disabling an already disabled user is an idempotent 200 with no second audit row", async () => {
    const target = await register();
    for (let i = 0; i < 2; i += 1) {
      const res = await call("POST", `/admin/users/${target.user.id}/disable`, { token: admin.tokens.accessToken });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { user: ApiUser }).user.status).toBe("disabled");
    }
    expect(await auditRows({ userId: target.user.id, event: "user.disabled" })).toHaveLength(1);
  });

  it(
    "enables: the user signs in again, audited as user.enabled by the admin; " + "enabling twice is idempotent",
    async () => {
      const target = await register();
      await call("POST", `/admin/users/${target.user.id}/disable`, { token: admin.tokens.accessToken });
      for (let i = 0; i < 2; i += 1) {
        const res = await call("POST", `/admin/users/${target.user.id}/enable`, { token: admin.tokens.accessToken });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { user: ApiUser }).user).toEqual(target.user);
      }
      const signedIn = await login(target.email, STRONG_PASSWORD);
      expect((await call("GET", "/me", { token: signedIn.tokens.accessToken })).status).toBe(200);
      const enabled = await auditRows({ userId: target.user.id, event: "user.enabled" });
      expect(enabled).toHaveLength(1);
      expect(enabled[0]!.actor_id).toBe(admin.user.id);
      // The sessions ended by disabling stay ended.
      expect((await refresh(target.tokens.refreshToken)).status).toBe(401);
    },
  );

  it("refuses an admin disabling their own account with 403, leaving them active", async () => {
    const self = await signIn({ roles: ["admin"] });
    const res = await call("POST", `/admin/users/${self.user.id}/disable`, { token: self.tokens.accessToken });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("insufficient_permission");
    expect((await userRow(self.user.id)).status).toBe("active");
    expect((await call("GET", "/me", { token: self.tokens.accessToken })).status).toBe(200);
  });

  it("one admin may disable another", async () => {
    const other = await signIn({ roles: ["admin"] });
    const res = await call("POST", `/admin/users/${other.user.id}/disable`, { token: admin.tokens.accessToken });
    expect(res.status).toBe(200);
    expect((await call("GET", "/admin/users", { token: other.tokens.accessToken })).status).toBe(401);
  });
});

describe("DELETE /admin/users/:id/sessions", () => {
  it("ends every session of the user, audited as revoked_by_admin, and their tokens stop at once", async () => {
    const target = await register();
    const second = await login(target.email, target.password);
    const res = await call("DELETE", `/admin/users/${target.user.id}/sessions`, { token: admin.tokens.accessToken });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    const sessions = await sessionRows(target.user.id);
    expect(sessions.every((s) => s.revoked_reason === "revoked_by_admin")).toBe(true);
    const audit = await auditRows({ userId: target.user.id, event: "session.revoked" });
    expect(audit).toHaveLength(2);
    expect(audit.every((r) => r.actor_id === admin.user.id && r.metadata.reason === "revoked_by_admin")).toBe(true);
    for (const tokens of [target.tokens, second.tokens]) {
      expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(401);
      expect((await refresh(tokens.refreshToken)).status).toBe(401);
    }
    // The account itself is untouched: the user signs in again.
    expect((await userRow(target.user.id)).status).toBe("active");
    await login(target.email, target.password);
  });

  it("is 204 for a user with no live session, and 404 for an unknown user", async () => {
    const target = await register();
    await call("DELETE", `/admin/users/${target.user.id}/sessions`, { token: admin.tokens.accessToken });
    expect(
      (await call("DELETE", `/admin/users/${target.user.id}/sessions`, { token: admin.tokens.accessToken })).status,
    ).toBe(204);
    const res = await call("DELETE", `/admin/users/${UNKNOWN_ID}/sessions`, { token: admin.tokens.accessToken });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe("not_found");
  });
});

describe("user ids in capitals on every /admin/users/:id route", () => {
  /** Every operation on a fresh user through `spell(id)`: what each answers and what it leaves behind. */
  async function exercise(spell: (id: string) => string) {
    const target = await register();
    const second = await login(target.email, target.password);
    const id = spell(target.user.id);
    const token = admin.tokens.accessToken;
    const normalise = (text: string) =>
      text
        .replaceAll(target.user.id, "<id>")
        .replaceAll(target.email, "<email>")
        .replace(/"(createdAt|lastUsedAt|expiresAt)":"[^"]+"/g, '"$1":"<t>"')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>");
    const answer = async (res: Response) => ({ status: res.status, body: normalise(await res.text()) });
    const steps: Record<string, unknown> = {};
    steps.get = await answer(await call("GET", `/admin/users/${id}`, { token }));
    steps.roles = await answer(
      await call("PUT", `/admin/users/${id}/roles`, { token, body: { roles: ["admin", "user"] } }),
    );
    steps.oldTokenAfterRoles = (await call("GET", "/me", { token: second.tokens.accessToken })).status;
    const renewed = await refreshOk(second.tokens.refreshToken);
    steps.revokeSessions = await answer(await call("DELETE", `/admin/users/${id}/sessions`, { token }));
    steps.tokenAfterRevoke = (await call("GET", "/me", { token: renewed.accessToken })).status;
    steps.refreshAfterRevoke = (await refresh(renewed.refreshToken)).status;
    const third = await login(target.email, target.password);
    steps.disable = await answer(await call("POST", `/admin/users/${id}/disable`, { token }));
    steps.tokenAfterDisable = (await call("GET", "/me", { token: third.tokens.accessToken })).status;
    steps.enable = await answer(await call("POST", `/admin/users/${id}/enable`, { token }));
    const fourth = await login(target.email, target.password);
    steps.tokenAfterEnable = (await call("GET", "/me", { token: fourth.tokens.accessToken })).status;
    steps.user = await userRow(target.user.id);
    steps.sessions = (await sessionRows(target.user.id)).map((r) => r.revoked_reason);
    const audit = await auditRows({ userId: target.user.id });
    // Rows of one transaction share created_at, so compare them as a sorted list.
    steps.audit = audit
      .map(
        (r) =>
          `${r.event} by ` +
          `${r.actor_id === admin.user.id ? "admin" : r.actor_id === target.user.id ? "self" : r.actor_id}`,
      )
      .sort();
    return steps;
  }

  it(
    "stops a capitalised id from answering 404 or acting differently: GET, " +
      "PUT roles, DELETE sessions, disable and enable have identical effects " +
      "in both spellings",
    async () => {
      const lower = await exercise((id) => id);
      const upper = await exercise((id) => id.toUpperCase());
      expect(upper).toEqual(lower);
      expect(lower).toMatchObject({
        get: { status: 200 },
        roles: { status: 200 },
        oldTokenAfterRoles: 401,
        revokeSessions: { status: 204 },
        tokenAfterRevoke: 401,
        refreshAfterRevoke: 401,
        disable: { status: 200 },
        tokenAfterDisable: 401,
        enable: { status: 200 },
        tokenAfterEnable: 200,
        user: { status: "active", roles: ["admin", "user"] },
      });
      expect(lower.audit).toEqual(
        expect.arrayContaining([
          "user.roles_changed by admin",
          "user.disabled by admin",
          "user.enabled by admin",
          "session.revoked by admin",
        ]),
      );
    },
  );

  it("a mixed-case id reaches the same user too", async () => {
    const target = await register();
    const mixed = target.user.id.replace(/[a-f]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c));
    const res = await call("GET", `/admin/users/${mixed}`, { token: admin.tokens.accessToken });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: ApiUser }).user.id).toBe(target.user.id);
  });

  it("still answers 404, never 400, for a malformed id on every route", async () => {
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["PUT", "/roles", { roles: ["user"] }],
      ["POST", "/disable", undefined],
      ["POST", "/enable", undefined],
      ["DELETE", "/sessions", undefined],
    ] as const) {
      const res = await call(method, `/admin/users/NOT-A-UUID${suffix}`, { token: admin.tokens.accessToken, body });
      expect(res.status, `${method} ${suffix}`).toBe(404);
    }
  });
});

describe("GET /admin/audit-logs", () => {
  const logs = async (params: Record<string, string | number>) =>
    call("GET", `/admin/audit-logs?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`, {
      token: admin.tokens.accessToken,
    });

  it("filters by user and event, newest first", async () => {
    const target = await register();
    await login(target.email, target.password);
    await call("POST", "/auth/login", { body: { email: target.email, password: "not the password at all 42" } });

    const all = (await (await logs({ userId: target.user.id })).json()) as AuditPage;
    const events = all.items.map((e) => e.event);
    expect(events.slice(0, 2)).toEqual(["auth.login_failed", "auth.login_succeeded"]);
    // Registration writes these two in one statement, at one instant.
    expect(events.slice(2).sort()).toEqual(["user.email_verification_sent", "user.registered"]);
    expect(all.items.every((e) => e.userId === target.user.id)).toBe(true);
    expect(all.nextCursor).toBeNull();

    const failed = (await (await logs({ userId: target.user.id, event: "auth.login_failed" })).json()) as AuditPage;
    expect(failed.items).toHaveLength(1);
    expect(failed.items[0]).toMatchObject({ event: "auth.login_failed", metadata: { reason: "wrong_password" } });

    const byEvent = (await (await logs({ event: "user.registered", limit: 100 })).json()) as AuditPage;
    expect(byEvent.items.every((e) => e.event === "user.registered")).toBe(true);
    const times = byEvent.items.map((e) => e.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("walks pages with neither repeats nor skips, across events written in the same instant", async () => {
    const target = await register();
    for (let i = 0; i < 4; i += 1) await login(target.email, target.password);
    // Five session.revoked rows with one created_at.
    await call("DELETE", `/admin/users/${target.user.id}/sessions`, { token: admin.tokens.accessToken });
    const expected = await query<{ id: string }>(
      "select id from audit_logs where user_id = $1 order by created_at desc, id desc",
      [target.user.id],
    );
    // registered, email_verification_sent, 4 logins, 4 sessions revoked
    expect(expected.length).toBe(10 + 1);

    for (const limit of [1, 2, 3, 10]) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await logs(
          cursor === null ? { userId: target.user.id, limit } : { userId: target.user.id, limit, cursor },
        );
        expect(res.status).toBe(200);
        const page = (await res.json()) as AuditPage;
        ids.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(ids, `limit ${limit}`).toEqual(expected.map((r) => r.id));
    }
  });

  for (const [name, params] of [
    ["a userId that is not a UUID", { userId: "not-a-uuid" }],
    ["a userId with SQL", { userId: "' or 1=1 --" }],
    ["a malformed cursor", { cursor: "not-a-cursor" }],
    ["limit 0", { limit: 0 }],
    ["limit 101", { limit: 101 }],
  ] as const) {
    it(`refuses ${name} with 400 validation_failed`, async () => {
      const res = await logs(params);
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    });
  }
});

describe("audit rows of administrative changes", () => {
  it("name the admin as actor and hold no password, hash or token", async () => {
    const target = await register();
    const token = admin.tokens.accessToken;
    expect(
      (await call("PUT", `/admin/users/${target.user.id}/roles`, { token, body: { roles: ["user", "admin"] } })).status,
    ).toBe(200);
    expect((await call("POST", `/admin/users/${target.user.id}/disable`, { token })).status).toBe(200);
    expect((await call("POST", `/admin/users/${target.user.id}/enable`, { token })).status).toBe(200);

    const [{ password_hash: passwordHash }] = (await query<{ password_hash: string }>(
      "select password_hash from users where id = $1",
      [target.user.id],
    )) as [{ password_hash: string }];
    const rows = (await auditRows({ userId: target.user.id })).filter((r) =>
      ["user.roles_changed", "user.disabled", "user.enabled"].includes(r.event),
    );
    expect(rows.map((r) => r.event)).toEqual(["user.roles_changed", "user.disabled", "user.enabled"]);
    for (const row of rows) {
      expect(row.actor_id).toBe(admin.user.id);
      const text = JSON.stringify(row);
      for (const secret of [
        target.password,
        passwordHash,
        target.tokens.accessToken,
        target.tokens.refreshToken,
        admin.tokens.accessToken,
        admin.tokens.refreshToken,
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(text).not.toMatch(/argon2|sart_|password/i);
    }
    // The same rows through the API.
    const page = (await (
      await call("GET", `/admin/audit-logs?userId=${target.user.id}&event=user.disabled`, { token })
    ).json()) as AuditPage;
    expect(page.items).toEqual([
      expect.objectContaining({ event: "user.disabled", userId: target.user.id, actorId: admin.user.id }),
    ]);
  });

  it("a disabled account answers login exactly like an unknown email", async () => {
    const target = await register();
    await call("POST", `/admin/users/${target.user.id}/disable`, { token: admin.tokens.accessToken });
    const disabled = await call("POST", "/auth/login", { body: { email: target.email, password: target.password } });
    const unknown = await call("POST", "/auth/login", {
      body: { email: uniqueEmail("ghost"), password: target.password },
    });
    expect(disabled.status).toBe(401);
    expect(await disabled.text()).toBe(await unknown.text());
  });
});
