// Privilege changes take effect at the edge at once: a role change refuses
// the user's earlier tokens (so the client refreshes into the new grants),
// and roles:assign cannot hand out more than its holder has.
//
// Tokens carry the user's grants version, read with their roles; a change
// bumps it in the same transaction and records it at the edge.
import { describe, expect, it } from "vitest";
import { call, db, problemOf, refreshOk, register, revocations, signIn, type TokenPair } from "../support/harness";

const { query, withClient } = db;

async function setRoles(adminToken: string, userId: string, roles: string[]) {
  return call("PUT", `/admin/users/${userId}/roles`, { token: adminToken, body: { roles } });
}

describe("demotion", () => {
  it(
    "refuses a demoted admin's earlier access token at once; after a refresh " + "the new token lacks the rights",
    async () => {
      const admin = await signIn({ roles: ["admin"] });
      const demoted = await signIn({ roles: ["admin"] });
      expect((await call("GET", "/admin/users?limit=1", { token: demoted.tokens.accessToken })).status).toBe(200);

      expect((await setRoles(admin.tokens.accessToken, demoted.user.id, ["user"])).status).toBe(200);

      const stale = await call("GET", "/admin/users?limit=1", { token: demoted.tokens.accessToken });
      expect(stale.status).toBe(401);
      expect(stale.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
      expect((await call("GET", "/auth/verify", { token: demoted.tokens.accessToken })).status).toBe(401);

      const fresh = await refreshOk(demoted.tokens.refreshToken);
      const denied = await call("GET", "/admin/users?limit=1", { token: fresh.accessToken });
      expect(denied.status).toBe(403);
      expect((await problemOf(denied)).code).toBe("insufficient_permission");
      expect((await call("GET", "/me", { token: fresh.accessToken })).status).toBe(200);
    },
  );

  it("leaves tokens alone when PUT roles changes nothing", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const user = await register();
    expect((await setRoles(admin.tokens.accessToken, user.user.id, ["user"])).status).toBe(200);
    expect((await call("GET", "/me", { token: user.tokens.accessToken })).status).toBe(200);
  });

  it("refuses the earlier token of a promoted user too, and the refreshed one carries the new role", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const user = await register();
    expect((await setRoles(admin.tokens.accessToken, user.user.id, ["user", "admin"])).status).toBe(200);
    expect((await call("GET", "/me", { token: user.tokens.accessToken })).status).toBe(401);
    const fresh = await refreshOk(user.tokens.refreshToken);
    expect((await call("GET", "/admin/users?limit=1", { token: fresh.accessToken })).status).toBe(200);
  });
});

describe("a sign-in racing a role change", () => {
  it("gets a token with the old roles, which the edge refuses once the change is recorded", async () => {
    const victim = await signIn({ roles: ["admin"] });
    const [row] = await query<{ grants_version: number }>("select grants_version from users where id = $1", [
      victim.user.id,
    ]);
    const before = row!.grants_version;
    let signingIn: Promise<Response> | undefined;
    await withClient(async (client) => {
      // A concurrent demotion holds the user's row, as the admin service does.
      await client.query("begin");
      await client.query("select id from users where id = $1 for update", [victim.user.id]);
      // The sign-in reads roles and version now (old ones), hashes, then waits on the row to open its session.
      signingIn = call("POST", "/auth/login", { body: { email: victim.email, password: victim.password } });
      for (let i = 0; i < 200; i++) {
        const waiting = await query("select pid from pg_stat_activity where $1::int = any(pg_blocking_pids(pid))", [
          (await client.query("select pg_backend_pid() as pid")).rows[0].pid,
        ]);
        if (waiting.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await client.query("delete from user_roles where user_id = $1 and role_name = 'admin'", [victim.user.id]);
      await client.query("update users set grants_version = grants_version + 1 where id = $1", [victim.user.id]);
      await client.query("commit");
    });
    await revocations().publish([{ kind: "user", subject: victim.user.id, version: Number(before) + 1 }]);

    const res = await signingIn!;
    expect(res.status).toBe(200);
    const { tokens } = (await res.json()) as { tokens: TokenPair };
    const stale = await call("GET", "/admin/users?limit=1", { token: tokens.accessToken });
    expect(stale.status).toBe(401);
    // Its refresh reads the new roles and version together.
    const fresh = await refreshOk(tokens.refreshToken);
    expect((await call("GET", "/admin/users?limit=1", { token: fresh.accessToken })).status).toBe(403);
    expect((await call("GET", "/me", { token: fresh.accessToken })).status).toBe(200);
  });
});

describe("a disabled user's tokens", () => {
  it("stop at once even for a session that had already ended but whose token had not expired", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const user = await register();
    // The session ends on its own (idle expiry) without going through KV.
    await query("update sessions set idle_expires_at = now() - interval '1 second' where id = $1", [
      user.tokens.sessionId,
    ]);
    expect((await call("GET", "/auth/verify", { token: user.tokens.accessToken })).status).toBe(200);
    expect(
      (await call("POST", `/admin/users/${user.user.id}/disable`, { token: admin.tokens.accessToken })).status,
    ).toBe(200);
    expect((await call("GET", "/auth/verify", { token: user.tokens.accessToken })).status).toBe(401);
    expect((await call("GET", "/me", { token: user.tokens.accessToken })).status).toBe(401);
  });
});

describe("privilege escalation through roles:assign", () => {
  it(
    "a holder of roles:assign cannot grant a role with permissions they " +
      "lack, e.g. admin to a second account of their own",
    async () => {
      const roleManagerRole = `role-manager-${crypto.randomUUID().slice(0, 8)}`;
      await query("insert into roles (name) values ($1)", [roleManagerRole]);
      await query(
        "insert into role_permissions (role_name, permission_name) values ($1, 'roles:assign'), ($1, 'profile:read')",
        [roleManagerRole],
      );
      const manager = await signIn({ roles: [roleManagerRole] });
      const sock = await register();

      const res = await setRoles(manager.tokens.accessToken, sock.user.id, ["user", "admin"]);
      expect(res.status).toBe(403);
      const problem = await problemOf(res);
      expect(problem.code).toBe("insufficient_permission");
      expect(problem.detail).toContain("users:write");
      const roles = await query<{ role_name: string }>("select role_name from user_roles where user_id = $1", [
        sock.user.id,
      ]);
      expect(roles.map((r) => r.role_name)).toEqual(["user"]);
      expect(
        await query("select 1 from audit_logs where user_id = $1 and event = 'user.roles_changed'", [sock.user.id]),
      ).toHaveLength(0);
    },
  );

  it(
    "cannot remove a role whose permissions exceed their own either: " + "stripping an administrator is 403 too",
    async () => {
      const roleManagerRole = `role-manager-${crypto.randomUUID().slice(0, 8)}`;
      await query("insert into roles (name) values ($1)", [roleManagerRole]);
      await query(
        "insert into role_permissions (role_name, permission_name) values ($1, 'roles:assign'), " +
          "($1, 'profile:read'), ($1, 'profile:write'), ($1, 'sessions:read'), ($1, 'sessions:revoke:own')",
        [roleManagerRole],
      );
      const manager = await signIn({ roles: [roleManagerRole] });
      const target = await signIn({ roles: ["admin"] });
      const res = await setRoles(manager.tokens.accessToken, target.user.id, ["user"]);
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
      const roles = await query<{ role_name: string }>(
        "select role_name from user_roles where user_id = $1 order by role_name",
        [target.user.id],
      );
      expect(roles.map((r) => r.role_name)).toEqual(["admin", "user"]);
    },
  );
});

describe("two administrators acting on each other at once", () => {
  it("queue instead of deadlocking: one demotion wins, the other is refused, never a 500", async () => {
    for (let round = 0; round < 3; round++) {
      const a = await signIn({ roles: ["admin"] });
      const b = await signIn({ roles: ["admin"] });
      const [ab, ba] = await Promise.all([
        setRoles(a.tokens.accessToken, b.user.id, ["user"]),
        setRoles(b.tokens.accessToken, a.user.id, ["user"]),
      ]);
      expect([ab.status, ba.status].sort()).toEqual([200, 403]);
      const admins = await query("select user_id from user_roles where role_name = 'admin' and user_id in ($1, $2)", [
        a.user.id,
        b.user.id,
      ]);
      expect(admins).toHaveLength(1);
    }
  });

  it("disabling each other: one wins, the other is refused (the loser is disabled), never a 500", async () => {
    const a = await signIn({ roles: ["admin"] });
    const b = await signIn({ roles: ["admin"] });
    const [ab, ba] = await Promise.all([
      call("POST", `/admin/users/${b.user.id}/disable`, { token: a.tokens.accessToken }),
      call("POST", `/admin/users/${a.user.id}/disable`, { token: b.tokens.accessToken }),
    ]);
    expect([ab.status, ba.status].sort()).toEqual([200, 403]);
  });
});
