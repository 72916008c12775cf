// v3 hardening of administration and of authenticated answers, through the
// Worker's fetch against the real Postgres:
// - every administrative action on another account (disable, enable, ending
//   its sessions, removing its factors, deleting it, changing its roles)
//   answers 403 insufficient_permission when the target holds a permission
//   the caller lacks, so users:write alone no longer disables or re-enables
//   an administrator;
// - every answer to a request that carries an access token (the
//   Authorization header or the access cookie), whatever its route and
//   status, is `Cache-Control: no-store` and `Pragma: no-cache`, so no
//   browser or proxy cache keeps someone's data.
import { beforeAll, describe, expect, it } from "vitest";
import { call, db, problemOf, register, type SignedInUser, signIn } from "../support/harness";

const { query, auditRows } = db;

/** A role made only of rows, holding exactly `permissions`. */
async function createRole(permissions: string[]): Promise<string> {
  const name = `v3-${crypto.randomUUID().slice(0, 8)}`;
  await query("insert into roles (name, description) values ($1, 'created by a test')", [name]);
  for (const permission of permissions)
    await query("insert into role_permissions (role_name, permission_name) values ($1, $2)", [name, permission]);
  return name;
}

async function statusOf(userId: string): Promise<string> {
  const [row] = await query<{ status: string }>("select status from users where id = $1", [userId]);
  return row!.status;
}

async function liveSessions(userId: string): Promise<number> {
  return (await query("select id from sessions where user_id = $1 and revoked_at is null", [userId])).length;
}

/**
 * A support account: the user role (from registration) plus users:write, sessions:revoke and roles:assign, but not
 * users:read nor audit:read.
 */
async function supportAccount(): Promise<{ support: SignedInUser; supportRole: string }> {
  const supportRole = await createRole(["users:write", "sessions:revoke", "roles:assign"]);
  return { support: await signIn({ roles: [supportRole] }), supportRole };
}

describe("administrative actions on an account holding permissions the caller lacks", () => {
  it(
    "a holder of users:write alone cannot disable an administrator: 403, " +
      "still active, sessions live, no audit row",
    async () => {
      const { support } = await supportAccount();
      const administrator = await signIn({ roles: ["admin"] });
      const res = await call("POST", `/admin/users/${administrator.user.id}/disable`, {
        token: support.tokens.accessToken,
      });
      expect(res.status).toBe(403);
      const problem = await problemOf(res);
      expect(problem.code).toBe("insufficient_permission");
      expect(problem.detail).toBe("The account holds permissions you do not: audit:read, users:read");
      expect(await statusOf(administrator.user.id)).toBe("active");
      expect(await liveSessions(administrator.user.id)).toBeGreaterThan(0);
      expect(await auditRows({ userId: administrator.user.id, event: "user.disabled" })).toEqual([]);
      // The administrator's token still works: nothing reached the edge.
      expect((await call("GET", "/admin/users?limit=1", { token: administrator.tokens.accessToken })).status).toBe(200);
    },
  );

  it("a holder of users:write alone cannot re-enable an administrator another administrator disabled", async () => {
    const { support } = await supportAccount();
    const administrator = await signIn({ roles: ["admin"] });
    const disabledAdmin = await signIn({ roles: ["admin"] });
    expect(
      (await call("POST", `/admin/users/${disabledAdmin.user.id}/disable`, { token: administrator.tokens.accessToken }))
        .status,
    ).toBe(200);
    const res = await call("POST", `/admin/users/${disabledAdmin.user.id}/enable`, {
      token: support.tokens.accessToken,
    });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("insufficient_permission");
    expect(await statusOf(disabledAdmin.user.id)).toBe("disabled");
    expect(await auditRows({ userId: disabledAdmin.user.id, event: "user.enabled" })).toEqual([]);
  });

  it("a holder of sessions:revoke cannot sign an administrator out everywhere", async () => {
    const { support } = await supportAccount();
    const administrator = await signIn({ roles: ["admin"] });
    const res = await call("DELETE", `/admin/users/${administrator.user.id}/sessions`, {
      token: support.tokens.accessToken,
    });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("insufficient_permission");
    expect(await liveSessions(administrator.user.id)).toBeGreaterThan(0);
    expect(await auditRows({ userId: administrator.user.id, event: "session.revoked" })).toEqual([]);
    expect((await call("GET", "/admin/users?limit=1", { token: administrator.tokens.accessToken })).status).toBe(200);
  });

  it(
    "a holder of roles:assign cannot touch an administrator's roles at all, " + "not even to add a role they hold",
    async () => {
      const { support, supportRole } = await supportAccount();
      const administrator = await signIn({ roles: ["admin"] });
      const res = await call("PUT", `/admin/users/${administrator.user.id}/roles`, {
        token: support.tokens.accessToken,
        body: { roles: ["admin", "user", supportRole] },
      });
      expect(res.status).toBe(403);
      expect((await problemOf(res)).detail).toBe("The account holds permissions you do not: audit:read, users:read");
      const roles = await query<{ role_name: string }>(
        "select role_name from user_roles where user_id = $1 order by role_name",
        [administrator.user.id],
      );
      expect(roles.map((r) => r.role_name)).toEqual(["admin", "user"]);
      expect(await auditRows({ userId: administrator.user.id, event: "user.roles_changed" })).toEqual([]);
    },
  );

  it("one rule for every action: 403 on the administrator, and the same calls succeed on a plain user", async () => {
    const { support, supportRole } = await supportAccount();
    const administrator = await signIn({ roles: ["admin"] });
    const plain = await register();
    const actions: [string, (id: string) => string, unknown?, number?][] = [
      ["PUT", (id) => `/admin/users/${id}/roles`, { roles: ["user", supportRole] }, 200],
      ["DELETE", (id) => `/admin/users/${id}/sessions`, undefined, 204],
      ["POST", (id) => `/admin/users/${id}/disable`, undefined, 200],
      ["POST", (id) => `/admin/users/${id}/enable`, undefined, 200],
      // The plain user has no factor: past the rule, 404.
      ["DELETE", (id) => `/admin/users/${id}/mfa`, undefined, 404],
      ["DELETE", (id) => `/admin/users/${id}`, undefined, 204],
    ];
    for (const [method, path, body] of actions) {
      const res = await call(method, path(administrator.user.id), { token: support.tokens.accessToken, body });
      expect(res.status, `${method} ${path(":id")} on an administrator`).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
    }
    expect(await statusOf(administrator.user.id)).toBe("active");
    for (const [method, path, body, status] of actions) {
      const res = await call(method, path(plain.user.id), { token: support.tokens.accessToken, body });
      expect(res.status, `${method} ${path(":id")} on a plain user: ${await res.clone().text()}`).toBe(status);
    }
  });

  it(
    "an administrator holding every permission still disables, enables and " + "signs out another administrator",
    async () => {
      const administrator = await signIn({ roles: ["admin"] });
      const other = await signIn({ roles: ["admin"] });
      expect(
        (await call("DELETE", `/admin/users/${other.user.id}/sessions`, { token: administrator.tokens.accessToken }))
          .status,
      ).toBe(204);
      expect(
        (await call("POST", `/admin/users/${other.user.id}/disable`, { token: administrator.tokens.accessToken }))
          .status,
      ).toBe(200);
      expect(
        (await call("POST", `/admin/users/${other.user.id}/enable`, { token: administrator.tokens.accessToken }))
          .status,
      ).toBe(200);
      expect(await statusOf(other.user.id)).toBe("active");
    },
  );

  it(
    "ending another account's sessions reads the caller's permissions as of " + "now: a demoted holder is refused",
    async () => {
      const { support, supportRole } = await supportAccount();
      const plain = await register();
      await query("delete from user_roles where user_id = $1 and role_name = $2", [support.user.id, supportRole]);
      const res = await call("DELETE", `/admin/users/${plain.user.id}/sessions`, { token: support.tokens.accessToken });
      expect(res.status).toBe(403);
      expect(await liveSessions(plain.user.id)).toBeGreaterThan(0);
    },
  );
});

describe("no cache keeps an authenticated answer", () => {
  let administrator: SignedInUser;
  let plain: SignedInUser;
  beforeAll(async () => {
    administrator = await signIn({ roles: ["admin"] });
    plain = await register();
  });

  const unknownId = "7d0c2a52-3f4e-4b6a-9c1d-2e3f4a5b6c7d";
  /** `:plain` and `:unknown` in a path stand for the plain user's id and an id nobody has. */
  const cases: { method: string; path: string; who: "plain" | "administrator"; body?: unknown; status: number }[] = [
    { method: "GET", path: "/me", who: "plain", status: 200 },
    { method: "PATCH", path: "/me", who: "plain", body: { name: "Cached Nowhere" }, status: 200 },
    { method: "GET", path: "/me/activity", who: "plain", status: 200 },
    { method: "GET", path: "/sessions", who: "plain", status: 200 },
    { method: "DELETE", path: "/sessions/:unknown", who: "plain", status: 404 },
    { method: "GET", path: "/me/passkeys", who: "plain", status: 200 },
    { method: "GET", path: "/auth/verify", who: "plain", status: 200 },
    { method: "GET", path: "/auth/verify?permission=users:read", who: "plain", status: 403 },
    { method: "GET", path: "/admin/users?limit=2", who: "administrator", status: 200 },
    { method: "GET", path: "/admin/users/:plain", who: "administrator", status: 200 },
    { method: "GET", path: "/admin/users/:unknown", who: "administrator", status: 404 },
    { method: "GET", path: "/admin/users?limit=nope", who: "administrator", status: 400 },
    { method: "GET", path: "/admin/audit-logs?limit=2", who: "administrator", status: 200 },
    { method: "GET", path: "/admin/users", who: "plain", status: 403 },
    // The route gate answers before any route runs: the request still carried someone's token.
    { method: "PUT", path: "/me", who: "plain", status: 405 },
  ];

  for (const { method, path, who, body, status } of cases) {
    it(
      `${method} ${path} as ` +
        `${who === "plain" ? "a plain user" : "an administrator"} (${status}) is ` +
        `no-store, no-cache`,
      async () => {
        const caller = who === "plain" ? plain : administrator;
        const res = await call(method, path.replace(":plain", plain.user.id).replace(":unknown", unknownId), {
          token: caller.tokens.accessToken,
          body,
        });
        expect(res.status, await res.clone().text()).toBe(status);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(res.headers.get("pragma")).toBe("no-cache");
      },
    );
  }

  it(
    "the access cookie counts as much as the header: GET /me and GET " + "/auth/verify by cookie are no-store",
    async () => {
      for (const path of ["/me", "/auth/verify"]) {
        const res = await call("GET", path, { headers: { Cookie: `__Host-sa_at=${plain.tokens.accessToken}` } });
        expect(res.status, path).toBe(200);
        expect(res.headers.get("cache-control"), path).toBe("no-store");
        expect(res.headers.get("pragma"), path).toBe("no-cache");
      }
    },
  );

  it("a token that fails authentication (forged, or of an ended session) gets a no-store 401 too", async () => {
    const ended = await register();
    expect((await call("DELETE", "/sessions", { token: ended.tokens.accessToken })).status).toBe(204);
    await call("POST", "/auth/logout", { token: ended.tokens.accessToken });
    for (const token of [`${plain.tokens.accessToken.slice(0, -4)}AAAA`, ended.tokens.accessToken]) {
      const res = await call("GET", "/me", { token });
      expect(res.status).toBe(401);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("pragma")).toBe("no-cache");
    }
  });

  it(
    "answers to requests without a token keep their own caching: the JWKS " +
      "stays publicly cacheable, /health sets none",
    async () => {
      const jwks = await call("GET", "/.well-known/jwks.json");
      expect(jwks.headers.get("cache-control")).toBe("public, max-age=300");
      const health = await call("GET", "/health");
      expect(health.headers.get("cache-control")).toBeNull();
      expect(health.headers.get("pragma")).toBeNull();
    },
  );
});
