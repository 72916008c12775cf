// Administration under attack and under load (issue "Hardening"): a holder
// of roles:assign cannot strip roles carrying permissions they lack (docs/api.md,
// "Administration rules": role assignment grants and removes only what the caller holds), and
// disabling a user while their sessions refresh never deadlocks.
import { describe, expect, it } from "vitest";
import { call, claimsOf, db, login, problemOf, refresh, signIn, type TokenPair } from "../support/harness";

const { query, auditRows } = db;

/** A role made only of rows, holding exactly `permissions`. */
async function createRole(permissions: string[]): Promise<string> {
  const name = `hardening-${crypto.randomUUID().slice(0, 8)}`;
  await query("insert into roles (name, description) values ($1, 'created by a test')", [name]);
  for (const permission of permissions)
    await query("insert into role_permissions (role_name, permission_name) values ($1, $2)", [name, permission]);
  return name;
}

async function rolesAndVersion(userId: string): Promise<{ roles: string[]; grantsVersion: number }> {
  const [row] = await query<{ roles: string[]; grants_version: number }>(
    "select coalesce((select array_agg(role_name order by role_name) from user_roles where user_id = u.id), '{}') " +
      "as roles, u.grants_version from users u where u.id = $1",
    [userId],
  );
  return { roles: row!.roles, grantsVersion: Number(row!.grants_version) };
}

describe("removing roles through PUT /admin/users/:id/roles", () => {
  it(
    "stops a holder of roles:assign alone from stripping admin from an " +
      "administrator: 403, roles unchanged, no audit row, no grants-version " +
      "bump",
    async () => {
      const assigner = await signIn({ roles: [await createRole(["roles:assign"])] });
      const administrator = await signIn({ roles: ["admin"] });
      const before = await rolesAndVersion(administrator.user.id);
      expect(before.roles).toEqual(["admin", "user"]);

      for (const roles of [["user"], [], ["user", await createRole(["roles:assign"])]]) {
        const res = await call("PUT", `/admin/users/${administrator.user.id}/roles`, {
          token: assigner.tokens.accessToken,
          body: { roles },
        });
        expect(res.status, JSON.stringify(roles)).toBe(403);
        const problem = await problemOf(res);
        expect(problem.code).toBe("insufficient_permission");
        // v3: the one rule of every action on another account refuses first, since the administrator holds what the
        // assigner lacks.
        expect(problem.detail).toMatch(/^The account holds permissions you do not: /);
      }
      expect(await rolesAndVersion(administrator.user.id)).toEqual(before);
      expect(await auditRows({ userId: administrator.user.id, event: "user.roles_changed" })).toHaveLength(0);
      // Nothing reached the edge either: the administrator's token still works.
      expect((await call("GET", "/admin/users?limit=1", { token: administrator.tokens.accessToken })).status).toBe(200);
    },
  );

  it("names the permissions the caller lacks when the removal is refused", async () => {
    const assigner = await signIn({ roles: [await createRole(["roles:assign", "users:read"])] });
    const auditor = await createRole(["audit:read", "users:read"]);
    const target = await signIn({ roles: [auditor] });
    const res = await call("PUT", `/admin/users/${target.user.id}/roles`, {
      token: assigner.tokens.accessToken,
      body: { roles: ["user"] },
    });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toBe("The account holds permissions you do not: audit:read");
    expect((await rolesAndVersion(target.user.id)).roles).toEqual([auditor, "user"].sort());
  });

  it("still lets an administrator holding every permission demote another administrator", async () => {
    const administrator = await signIn({ roles: ["admin"] });
    const other = await signIn({ roles: ["admin"] });
    const res = await call("PUT", `/admin/users/${other.user.id}/roles`, {
      token: administrator.tokens.accessToken,
      body: { roles: ["user"] },
    });
    expect(res.status).toBe(200);
    expect(await rolesAndVersion(other.user.id)).toEqual({ roles: ["user"], grantsVersion: 1 });
  });
});

describe("disabling a user while their sessions refresh", () => {
  const ROUNDS = 10;
  const SESSIONS = 4;
  const REFRESHES_PER_SESSION = 3;

  /** Refreshes one session in a chain, each time with the newest token; every status, and the newest token. */
  async function refreshChain(tokens: TokenPair): Promise<{ statuses: number[]; latest: string }> {
    const statuses: number[] = [];
    let latest = tokens.refreshToken;
    for (let i = 0; i < REFRESHES_PER_SESSION; i++) {
      const res = await refresh(latest);
      statuses.push(res.status);
      if (res.status !== 200) {
        await res.body?.cancel();
        break;
      }
      latest = ((await res.json()) as { tokens: TokenPair }).tokens.refreshToken;
    }
    return { statuses, latest };
  }

  it("stops the deadlock (40P01 answered 503): no 5xx in any round, and after " +
    "each disable no live session and every refresh refused", async () => {
    const administrator = await signIn({ roles: ["admin"] });
    const target = await signIn();
    const failures: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const sessions: TokenPair[] = [];
      for (let i = 0; i < SESSIONS; i++) sessions.push((await login(target.email, target.password)).tokens);

      const chains = sessions.map((tokens) => refreshChain(tokens));
      const disable = call("POST", `/admin/users/${target.user.id}/disable`, {
        token: administrator.tokens.accessToken,
      });
      const [disabled, ...results] = await Promise.all([disable, ...chains]);
      if (disabled.status !== 200) failures.push(`round ${round}: disable ${disabled.status} ${await disabled.text()}`);
      for (const { statuses } of results) {
        for (const status of statuses)
          if (status >= 500 || (status !== 200 && status !== 401)) failures.push(`round ${round}: refresh ${status}`);
      }

      // The end state after the disable: nothing of the user's is live, and no token of theirs refreshes.
      const live = await query("select id from sessions where user_id = $1 and revoked_at is null", [target.user.id]);
      if (live.length > 0) failures.push(`round ${round}: ${live.length} live sessions after disable`);
      for (const { latest } of results) {
        const res = await refresh(latest);
        if (res.status !== 401) failures.push(`round ${round}: refresh after disable answered ${res.status}`);
        await res.body?.cancel();
      }

      const enabled = await call("POST", `/admin/users/${target.user.id}/enable`, {
        token: administrator.tokens.accessToken,
      });
      if (enabled.status !== 200) failures.push(`round ${round}: enable ${enabled.status} ${await enabled.text()}`);
    }

    expect(failures).toEqual([]);
    // Every round disabled the account once, and its tokens carry the grants version of the last disable.
    expect(await auditRows({ userId: target.user.id, event: "user.disabled" })).toHaveLength(ROUNDS);
    expect(claimsOf((await login(target.email, target.password)).tokens.accessToken).gv).toBe(ROUNDS);
  }, 120_000);
});
