// Privilege changes take effect at the edge at once: a role change refuses
// the user's earlier tokens (so the client refreshes into the new grants),
// and roles:assign cannot hand out more than its holder has.
//
// iat has whole-second precision, so a token issued within the same second
// as the change cannot be told apart and is let through; the tests below let
// a second pass between issuing the token and changing the roles.
import { describe, expect, it } from "vitest";
import { query } from "../support/db";
import { call, problemOf, registerAdmin, registerUser, registerWithRoles, type TokenPair } from "../support/harness";

async function refresh(refreshToken: string): Promise<TokenPair> {
  const res = await call("POST", "/auth/refresh", { body: { refreshToken } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { tokens: TokenPair }).tokens;
}

const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));

async function setRoles(adminToken: string, userId: string, roles: string[]) {
  return call("PUT", `/admin/users/${userId}/roles`, { token: adminToken, body: { roles } });
}

describe("demotion", () => {
  it("refuses a demoted admin's earlier access token at once; after a refresh the new token lacks the rights", async () => {
    const admin = await registerAdmin();
    const demoted = await registerAdmin();
    expect((await call("GET", "/admin/users?limit=1", { token: demoted.tokens.accessToken })).status).toBe(200);
    await nextSecond();

    expect((await setRoles(admin.tokens.accessToken, demoted.user.id, ["user"])).status).toBe(200);

    const stale = await call("GET", "/admin/users?limit=1", { token: demoted.tokens.accessToken });
    expect(stale.status).toBe(401);
    expect(stale.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect((await call("GET", "/auth/verify", { token: demoted.tokens.accessToken })).status).toBe(401);

    const fresh = await refresh(demoted.tokens.refreshToken);
    const denied = await call("GET", "/admin/users?limit=1", { token: fresh.accessToken });
    expect(denied.status).toBe(403);
    expect((await problemOf(denied)).code).toBe("insufficient_permission");
    expect((await call("GET", "/me", { token: fresh.accessToken })).status).toBe(200);
  });

  it("leaves tokens alone when PUT roles changes nothing", async () => {
    const admin = await registerAdmin();
    const user = await registerUser();
    await nextSecond();
    expect((await setRoles(admin.tokens.accessToken, user.user.id, ["user"])).status).toBe(200);
    expect((await call("GET", "/me", { token: user.tokens.accessToken })).status).toBe(200);
  });

  it("refuses the earlier token of a promoted user too, and the refreshed one carries the new role", async () => {
    const admin = await registerAdmin();
    const user = await registerUser();
    await nextSecond();
    expect((await setRoles(admin.tokens.accessToken, user.user.id, ["user", "admin"])).status).toBe(200);
    expect((await call("GET", "/me", { token: user.tokens.accessToken })).status).toBe(401);
    const fresh = await refresh(user.tokens.refreshToken);
    expect((await call("GET", "/admin/users?limit=1", { token: fresh.accessToken })).status).toBe(200);
  });
});

describe("privilege escalation through roles:assign", () => {
  it("a holder of roles:assign cannot grant a role with permissions they lack, e.g. admin to a second account of their own", async () => {
    const roleManagerRole = `role-manager-${crypto.randomUUID().slice(0, 8)}`;
    await query("insert into roles (name) values ($1)", [roleManagerRole]);
    await query("insert into role_permissions (role_name, permission_name) values ($1, 'roles:assign'), ($1, 'profile:read')", [roleManagerRole]);
    const manager = await registerWithRoles([roleManagerRole]);
    const sock = await registerUser();

    const res = await setRoles(manager.tokens.accessToken, sock.user.id, ["user", "admin"]);
    expect(res.status).toBe(403);
    const problem = await problemOf(res);
    expect(problem.code).toBe("insufficient_permission");
    expect(problem.detail).toContain("users:write");
    const roles = await query<{ role_name: string }>("select role_name from user_roles where user_id = $1", [sock.user.id]);
    expect(roles.map((r) => r.role_name)).toEqual(["user"]);
    expect(await query("select 1 from audit_logs where user_id = $1 and event = 'user.roles_changed'", [sock.user.id])).toHaveLength(0);
  });

  it("may still remove a role whose permissions exceed their own (de-escalation)", async () => {
    const roleManagerRole = `role-manager-${crypto.randomUUID().slice(0, 8)}`;
    await query("insert into roles (name) values ($1)", [roleManagerRole]);
    await query("insert into role_permissions (role_name, permission_name) values ($1, 'roles:assign'), ($1, 'profile:read'), ($1, 'profile:write'), ($1, 'sessions:read'), ($1, 'sessions:revoke:own')", [roleManagerRole]);
    const manager = await registerWithRoles([roleManagerRole]);
    const target = await registerWithRoles(["admin"]);
    const res = await setRoles(manager.tokens.accessToken, target.user.id, ["user"]);
    expect(res.status).toBe(200);
  });
});
