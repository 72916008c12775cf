// Role-based access control end to end: roles and permissions are rows, a
// route's permission is decided from the access token's claims alone, a role
// change reaches the user at their next refresh, and no one can raise their
// own privileges by any route (mass assignment at register and login, a
// user's PUT on their own roles, an admin's on theirs).
import { describe, expect, it } from "vitest";
import {
  type ApiUser,
  call,
  claimsOf,
  db,
  login,
  problemOf,
  refreshOk,
  register,
  signIn,
  STRONG_PASSWORD,
  uniqueEmail,
} from "../support/harness";

const { query, auditRows } = db;

const suffix = () => crypto.randomUUID().slice(0, 8);

/** A role made only of rows: no code knows its name. */
async function createRole(permissions: string[], name = `custom-${suffix()}`): Promise<string> {
  await query("insert into roles (name, description) values ($1, 'created by a test')", [name]);
  for (const permission of permissions) {
    await query("insert into permissions (name) values ($1) on conflict do nothing", [permission]);
    await query("insert into role_permissions (role_name, permission_name) values ($1, $2)", [name, permission]);
  }
  return name;
}

async function rolesOf(userId: string): Promise<string[]> {
  const rows = await query<{ role_name: string }>(
    "select role_name from user_roles where user_id = $1 order by role_name",
    [userId],
  );
  return rows.map((r) => r.role_name);
}

describe("roles are data, not code", () => {
  it("a role and permission added as rows are assignable, and the permission is in the user's next token", async () => {
    const permission = `reports:export-${suffix()}`;
    const role = await createRole([permission, "audit:read"]);
    // The assigning role holds the new permission too (one can only grant what one holds).
    const granter = await createRole(["roles:assign", permission, "audit:read", "profile:read"]);
    const admin = await signIn({ roles: ["admin", granter] });
    const target = await register();

    const res = await call("PUT", `/admin/users/${target.user.id}/roles`, {
      token: admin.tokens.accessToken,
      body: { roles: ["user", role] },
    });
    expect(res.status).toBe(200);
    const { user } = (await res.json()) as { user: ApiUser };
    expect(user.roles).toEqual(expect.arrayContaining(["user", role]));
    expect(user.permissions).toEqual(expect.arrayContaining([permission, "audit:read", "profile:read"]));

    const tokens = await refreshOk(target.tokens.refreshToken);
    const claims = claimsOf(tokens.accessToken);
    expect(claims.roles).toEqual(expect.arrayContaining(["user", role]));
    expect(claims.permissions).toEqual(expect.arrayContaining([permission, "audit:read"]));
    // Its audit:read opens exactly the audit trail, nothing else of the admin API.
    expect((await call("GET", "/admin/audit-logs?limit=1", { token: tokens.accessToken })).status).toBe(200);
    expect((await call("GET", "/admin/users", { token: tokens.accessToken })).status).toBe(403);
  });

  it("a permission added to an existing role reaches its holders at their next refresh", async () => {
    const role = await createRole(["profile:read"]);
    const holder = await signIn({ roles: [role] });
    expect((await call("GET", "/admin/users", { token: holder.tokens.accessToken })).status).toBe(403);
    await query("insert into role_permissions (role_name, permission_name) values ($1, 'users:read')", [role]);
    const tokens = await refreshOk(holder.tokens.refreshToken);
    expect((await call("GET", "/admin/users", { token: tokens.accessToken })).status).toBe(200);
  });
});

describe("each admin permission opens exactly its own endpoints", () => {
  const endpoints: { permission: string; request: (id: string) => [string, string, unknown?]; success: number }[] = [
    { permission: "users:read", request: () => ["GET", "/admin/users"], success: 200 },
    { permission: "users:read", request: (id) => ["GET", `/admin/users/${id}`], success: 200 },
    {
      permission: "roles:assign",
      request: (id) => ["PUT", `/admin/users/${id}/roles`, { roles: ["user"] }],
      success: 200,
    },
    { permission: "users:write", request: (id) => ["POST", `/admin/users/${id}/disable`], success: 200 },
    { permission: "users:write", request: (id) => ["POST", `/admin/users/${id}/enable`], success: 200 },
    { permission: "sessions:revoke", request: (id) => ["DELETE", `/admin/users/${id}/sessions`], success: 204 },
    { permission: "audit:read", request: () => ["GET", "/admin/audit-logs"], success: 200 },
  ];

  for (const permission of ["users:read", "users:write", "roles:assign", "sessions:revoke", "audit:read"]) {
    it(`a role holding only ${permission}`, async () => {
      const holder = await signIn({ roles: [await createRole([permission])] });
      const target = await register();
      for (const endpoint of endpoints) {
        const [method, path, body] = endpoint.request(target.user.id);
        const res = await call(method, path, { body, token: holder.tokens.accessToken });
        const expected = endpoint.permission === permission ? endpoint.success : 403;
        expect(res.status, `${method} ${path}`).toBe(expected);
        if (expected === 403) expect((await problemOf(res)).code).toBe("insufficient_permission");
      }
    });
  }
});

describe("authorize decides from the token's claims alone", () => {
  it("a role granted in the database opens nothing until the next refresh", async () => {
    const user = await register();
    await query("insert into user_roles (user_id, role_name) values ($1, 'admin')", [user.user.id]);
    expect((await call("GET", "/admin/users", { token: user.tokens.accessToken })).status).toBe(403);
    const tokens = await refreshOk(user.tokens.refreshToken);
    expect((await call("GET", "/admin/users", { token: tokens.accessToken })).status).toBe(200);
  });
});

describe("no one can raise their own privileges", () => {
  it("a plain user's PUT on their own roles is 403 and changes nothing", async () => {
    const self = await register();
    for (const roles of [["admin"], ["user", "admin"], ["user"]]) {
      const res = await call("PUT", `/admin/users/${self.user.id}/roles`, {
        token: self.tokens.accessToken,
        body: { roles },
      });
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect((await problemOf(res)).code).toBe("insufficient_permission");
    }
    expect(await rolesOf(self.user.id)).toEqual(["user"]);
    const tokens = await refreshOk(self.tokens.refreshToken);
    expect(claimsOf(tokens.accessToken).roles).toEqual(["user"]);
  });

  it("a plain user's malformed PUT on their own roles is still 403, not a validation answer", async () => {
    const self = await register();
    const res = await call("PUT", `/admin/users/${self.user.id}/roles`, {
      token: self.tokens.accessToken,
      body: { roles: "admin", permissions: ["*"] },
    });
    expect(res.status).toBe(403);
  });

  it("a holder of roles:assign cannot grant themselves a role", async () => {
    const assigner = await signIn({ roles: [await createRole(["roles:assign"])] });
    const res = await call("PUT", `/admin/users/${assigner.user.id}/roles`, {
      token: assigner.tokens.accessToken,
      body: { roles: ["user", "admin"] },
    });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("insufficient_permission");
    expect(await rolesOf(assigner.user.id)).not.toContain("admin");
    expect(await auditRows({ userId: assigner.user.id, event: "user.roles_changed" })).toHaveLength(0);
  });

  it(
    "an admin cannot change their own roles or disable themselves (the last " + "admin cannot lock everyone out)",
    async () => {
      const self = await signIn({ roles: ["admin"] });
      const roles = await call("PUT", `/admin/users/${self.user.id}/roles`, {
        token: self.tokens.accessToken,
        body: { roles: ["user"] },
      });
      expect(roles.status).toBe(403);
      const disable = await call("POST", `/admin/users/${self.user.id}/disable`, { token: self.tokens.accessToken });
      expect(disable.status).toBe(403);
      expect(await rolesOf(self.user.id)).toEqual(["admin", "user"]);
      expect(
        (await query<{ status: string }>("select status from users where id = $1", [self.user.id]))[0]!.status,
      ).toBe("active");
    },
  );

  const privileged: [string, Record<string, unknown>][] = [
    ["roles", { roles: ["admin"] }],
    ["role", { role: "admin" }],
    ["permissions", { permissions: ["users:write", "roles:assign"] }],
    ["status", { status: "active" }],
    ["isAdmin", { isAdmin: true }],
    ["id", { id: "00000000-0000-4000-8000-000000000000" }],
  ];

  for (const [field, extra] of privileged) {
    it(`POST /auth/register with a mass-assigned "${field}" is 400 validation_failed and creates nothing`, async () => {
      const email = uniqueEmail("mass");
      const res = await call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD, ...extra } });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors?.map((e) => e.path)).toContain(field);
      expect(await query("select 1 from users where email = $1", [email])).toHaveLength(0);
    });

    it(
      `POST /auth/login with a mass-assigned "${field}" is 400 ` +
        `validation_failed, opens no session and changes no role`,
      async () => {
        const account = await register();
        const res = await call("POST", "/auth/login", {
          body: { email: account.email, password: account.password, ...extra },
        });
        expect(res.status).toBe(400);
        expect((await problemOf(res)).code).toBe("validation_failed");
        expect(await rolesOf(account.user.id)).toEqual(["user"]);
        expect(await query("select id from sessions where user_id = $1", [account.user.id])).toHaveLength(1);
        expect(
          (await query<{ status: string }>("select status from users where id = $1", [account.user.id]))[0]!.status,
        ).toBe("active");
      },
    );
  }

  it("a register body smuggling roles through __proto__ is 400 validation_failed and creates nothing", async () => {
    const email = uniqueEmail("proto");
    const rawBody = `{"email":"${email}","password":"${STRONG_PASSWORD}","__proto__":{"roles":["admin"]}}`;
    const res = await call("POST", "/auth/register", { rawBody, headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
    expect(await query("select 1 from users where email = $1", [email])).toHaveLength(0);
  });

  it("a disabled user who signs in again after being enabled holds only their roles", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const target = await register();
    await call("POST", `/admin/users/${target.user.id}/disable`, { token: admin.tokens.accessToken });
    await call("POST", `/admin/users/${target.user.id}/enable`, { token: admin.tokens.accessToken });
    const { tokens } = await login(target.email, target.password);
    expect(claimsOf(tokens.accessToken)).toMatchObject({ roles: ["user"] });
    expect((await call("GET", "/admin/users", { token: tokens.accessToken })).status).toBe(403);
  });
});
