// Organizations under attack (docs/organizations.md, "The rules"): each test
// is named after the attack it stops. Organization permissions are checked
// by the service from the membership in the database, never from the token:
// a non-member sees exactly what a missing organization shows, a member
// lacking a permission gets 403, acting on a member or granting roles needs
// every permission involved, and no change leaves an organization without an
// owner.
import { describe, expect, it } from "vitest";
import { call, db, problemOf, signIn, testService } from "../support/harness";
import { addMember, createOrg, grantsVersion, inviteToken, rolesIn, verifiedUser } from "../support/organizations";

const service = testService();

describe("non-members", () => {
  it("cannot tell an organization they are not in from one that does not exist: the same 404, the same body", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const stranger = await signIn();
    const missing = crypto.randomUUID();
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["PATCH", "", { name: "Mine now" }],
      ["DELETE", "", undefined],
      ["GET", "/members", undefined],
      ["PUT", `/members/${owner.user.id}/roles`, { roles: ["member"] }],
      ["DELETE", `/members/${owner.user.id}`, undefined],
      ["PUT", "/roles/billing", { permissions: ["org:read"] }],
      ["DELETE", "/roles/billing", undefined],
      ["POST", "/invitations", { email: stranger.email, roles: ["owner"] }],
      ["GET", "/invitations", undefined],
      ["DELETE", `/invitations/${crypto.randomUUID()}`, undefined],
      ["GET", "/audit-logs", undefined],
    ] as const) {
      const real = await call(method, `/orgs/${org.id}${suffix}`, { token: stranger.tokens.accessToken, body });
      const none = await call(method, `/orgs/${missing}${suffix}`, { token: stranger.tokens.accessToken, body });
      // DELETE /orgs/{id} needs a recent sign-in first; a fresh one has it.
      expect(real.status, `${method} ${suffix}`).toBe(404);
      expect(await real.text(), `${method} ${suffix}`).toBe(await none.text());
      expect(none.status).toBe(404);
    }
    expect(await rolesIn(org.id, owner.user.id)).toEqual(["owner"]);
    expect(await rolesIn(org.id, stranger.user.id)).toBeNull();
  });
});

describe("members lacking a permission", () => {
  it("get 403 for what their roles do not grant (a member renaming, inviting, reading the audit log)", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const member = await addMember(service, owner, org.id, ["member"]);
    const token = member.tokens.accessToken;
    for (const [method, suffix, body, permission] of [
      ["PATCH", "", { name: "Renamed" }, "org:update"],
      ["DELETE", "", undefined, "org:delete"],
      ["PUT", `/members/${owner.user.id}/roles`, { roles: ["member"] }, "members:roles"],
      ["DELETE", `/members/${owner.user.id}`, undefined, "members:remove"],
      ["POST", "/invitations", { email: "someone@example.com", roles: ["member"] }, "members:invite"],
      ["GET", "/invitations", undefined, "members:invite"],
      ["GET", "/audit-logs", undefined, "org:audit:read"],
    ] as const) {
      const res = await call(method, `/orgs/${org.id}${suffix}`, { token, body });
      expect(res.status, `${method} ${suffix}`).toBe(403);
      const problem = await problemOf(res);
      expect(problem.code).toBe("insufficient_permission");
      expect(problem.detail).toBe(`Requires the ${permission} permission`);
    }
    // What `member` grants works.
    expect((await call("GET", `/orgs/${org.id}`, { token })).status).toBe(200);
    expect((await call("GET", `/orgs/${org.id}/members`, { token })).status).toBe(200);
    const [row] = await db.query<{ name: string }>("select name from organizations where id = $1", [org.id]);
    expect(row!.name).toBe("Acme");
  });
});

describe("only what you hold", () => {
  it("stops an org admin from granting owner, by role change or by invitation", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const admin = await addMember(service, owner, org.id, ["admin"]);
    const member = await addMember(service, owner, org.id, ["member"]);
    const before = await grantsVersion(member.user.id);

    const promote = await call("PUT", `/orgs/${org.id}/members/${member.user.id}/roles`, {
      token: admin.tokens.accessToken,
      body: { roles: ["owner"] },
    });
    expect(promote.status).toBe(403);
    expect((await problemOf(promote)).detail).toBe("Only an owner can grant owner");
    const self = await call("PUT", `/orgs/${org.id}/members/${admin.user.id}/roles`, {
      token: admin.tokens.accessToken,
      body: { roles: ["admin", "owner"] },
    });
    expect(self.status).toBe(403);
    const invite = await call("POST", `/orgs/${org.id}/invitations`, {
      token: admin.tokens.accessToken,
      body: { email: "new-owner@example.com", roles: ["owner"] },
    });
    expect(invite.status).toBe(403);

    expect(await rolesIn(org.id, member.user.id)).toEqual(["member"]);
    expect(await rolesIn(org.id, admin.user.id)).toEqual(["admin"]);
    expect(await grantsVersion(member.user.id)).toBe(before);
    const [pending] = await db.query<{ n: number }>(
      "select count(*)::int as n from organization_invitations where org_id = $1 and accepted_at is null",
      [org.id],
    );
    expect(pending!.n).toBe(0);
  });

  it("stops an org admin from removing or demoting an owner", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const coOwner = await addMember(service, owner, org.id, ["owner"]);
    const admin = await addMember(service, owner, org.id, ["admin"]);
    for (const target of [owner, coOwner]) {
      const demote = await call("PUT", `/orgs/${org.id}/members/${target.user.id}/roles`, {
        token: admin.tokens.accessToken,
        body: { roles: ["member"] },
      });
      expect(demote.status).toBe(403);
      expect((await problemOf(demote)).detail).toBe("The member holds permissions you do not: org:delete");
      const remove = await call("DELETE", `/orgs/${org.id}/members/${target.user.id}`, {
        token: admin.tokens.accessToken,
      });
      expect(remove.status).toBe(403);
      expect(await rolesIn(org.id, target.user.id)).toEqual(["owner"]);
    }
    // An owner may: the rule is what the caller holds, not the role's name.
    const res = await call("PUT", `/orgs/${org.id}/members/${coOwner.user.id}/roles`, {
      token: owner.tokens.accessToken,
      body: { roles: ["admin"] },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { member: { roles: string[] } }).member.roles).toEqual(["admin"]);
  });

  it("stops granting a custom role that carries a permission the caller lacks", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    // projects:write is an application permission (ORG_PERMISSIONS); a role pairing it with org:delete goes beyond
    // what an admin holds.
    const define = await call("PUT", `/orgs/${org.id}/roles/deployer`, {
      token: owner.tokens.accessToken,
      body: { permissions: ["projects:write", "org:delete"] },
    });
    expect(define.status).toBe(200);
    const admin = await addMember(service, owner, org.id, ["admin"]);
    const member = await addMember(service, owner, org.id, ["member"]);
    const grant = await call("PUT", `/orgs/${org.id}/members/${member.user.id}/roles`, {
      token: admin.tokens.accessToken,
      body: { roles: ["member", "deployer"] },
    });
    expect(grant.status).toBe(403);
    expect((await problemOf(grant)).detail).toBe("You cannot grant permissions you do not hold: org:delete");
    const invite = await call("POST", `/orgs/${org.id}/invitations`, {
      token: admin.tokens.accessToken,
      body: { email: "deployer@example.com", roles: ["deployer"] },
    });
    expect(invite.status).toBe(403);
    expect(await rolesIn(org.id, member.user.id)).toEqual(["member"]);
    // A role within what the admin holds can be granted.
    await call("PUT", `/orgs/${org.id}/roles/writer`, {
      token: owner.tokens.accessToken,
      body: { permissions: ["projects:write"] },
    });
    const ok = await call("PUT", `/orgs/${org.id}/members/${member.user.id}/roles`, {
      token: admin.tokens.accessToken,
      body: { roles: ["member", "writer"] },
    });
    expect(ok.status).toBe(200);
    expect(await rolesIn(org.id, member.user.id)).toEqual(["member", "writer"]);
  });

  it("refuses a role the organization does not have (400), and a role of another organization", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const other = await createOrg(service, owner, { name: "Other" });
    await call("PUT", `/orgs/${other.id}/roles/elsewhere`, {
      token: owner.tokens.accessToken,
      body: { permissions: ["org:read"] },
    });
    const member = await addMember(service, owner, org.id, ["member"]);
    const res = await call("PUT", `/orgs/${org.id}/members/${member.user.id}/roles`, {
      token: owner.tokens.accessToken,
      body: { roles: ["elsewhere"] },
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ path: "roles.0", message: 'Unknown role "elsewhere"' }]);
  });
});

describe("the last owner", () => {
  it("cannot leave, be removed, be demoted, or delete their account: 409 last_owner", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const admin = await addMember(service, owner, org.id, ["admin"]);

    const leave = await call("DELETE", `/orgs/${org.id}/members/${owner.user.id}`, {
      token: owner.tokens.accessToken,
    });
    expect(leave.status).toBe(409);
    expect((await problemOf(leave)).code).toBe("last_owner");
    const demote = await call("PUT", `/orgs/${org.id}/members/${owner.user.id}/roles`, {
      token: owner.tokens.accessToken,
      body: { roles: ["admin"] },
    });
    expect(demote.status).toBe(409);
    expect((await problemOf(demote)).code).toBe("last_owner");
    const deleteAccount = await call("DELETE", "/me", {
      token: owner.tokens.accessToken,
      body: { currentPassword: owner.password },
    });
    expect(deleteAccount.status).toBe(409);
    expect((await problemOf(deleteAccount)).code).toBe("last_owner");
    // Removal by another member is refused before (an admin lacks org:delete); the owner is still there.
    expect(await rolesIn(org.id, owner.user.id)).toEqual(["owner"]);
    const [user] = await db.query("select id from users where id = $1", [owner.user.id]);
    expect(user).toBeDefined();
    expect((await call("GET", "/me", { token: owner.tokens.accessToken })).status).toBe(200);

    // With a second owner, each becomes possible.
    await call("PUT", `/orgs/${org.id}/members/${admin.user.id}/roles`, {
      token: owner.tokens.accessToken,
      body: { roles: ["owner"] },
    });
    const left = await call("DELETE", `/orgs/${org.id}/members/${owner.user.id}`, {
      token: owner.tokens.accessToken,
    });
    expect(left.status).toBe(204);
    expect(await rolesIn(org.id, owner.user.id)).toBeNull();
  });

  it("cannot be removed by a co-owner who then leaves the organization ownerless", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const coOwner = await addMember(service, owner, org.id, ["owner"]);
    expect(
      (await call("DELETE", `/orgs/${org.id}/members/${owner.user.id}`, { token: coOwner.tokens.accessToken })).status,
    ).toBe(204);
    const leave = await call("DELETE", `/orgs/${org.id}/members/${coOwner.user.id}`, {
      token: coOwner.tokens.accessToken,
    });
    expect(leave.status).toBe(409);
    expect(await rolesIn(org.id, coOwner.user.id)).toEqual(["owner"]);
  });

  it("cannot be deleted by an administrator either (DELETE /admin/users/:id answers 409 last_owner)", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    await addMember(service, owner, org.id, ["member"]);
    const administrator = await signIn({ roles: ["admin"] });
    const res = await call("DELETE", `/admin/users/${owner.user.id}`, { token: administrator.tokens.accessToken });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("last_owner");
    expect(await rolesIn(org.id, owner.user.id)).toEqual(["owner"]);
  });
});

describe("account deletion", () => {
  it("removes an organization whose only member deletes their account, in the same transaction", async () => {
    const owner = await verifiedUser(service);
    const alone = await createOrg(service, owner, { name: "Solo" });
    const shared = await createOrg(service, owner, { name: "Shared" });
    const other = await addMember(service, owner, shared.id, ["owner"]);

    const res = await call("DELETE", "/me", {
      token: owner.tokens.accessToken,
      body: { currentPassword: owner.password },
    });
    expect(res.status).toBe(204);
    expect(await db.query("select id from organizations where id = $1", [alone.id])).toEqual([]);
    expect(await db.query("select org_id from organization_members where org_id = $1", [alone.id])).toEqual([]);
    // The shared organization stays with its other owner; the deleted account's membership went with it.
    expect(await rolesIn(shared.id, other.user.id)).toEqual(["owner"]);
    expect(await rolesIn(shared.id, owner.user.id)).toBeNull();
    // The deletion reached the feed: the organization's version one past its last.
    const log = await db.query<{ version: number }>(
      "select version from revocation_log where kind = 'org' and subject = $1",
      [alone.id],
    );
    expect(log.map((row) => Number(row.version))).toEqual([1]);
    const audit = await db.query<{ event: string; org_id: string; metadata: Record<string, unknown> }>(
      "select event, org_id, metadata from audit_logs where user_id = $1 and event like 'org.%' " +
        "and metadata->>'reason' = 'account_deleted' order by event",
      [owner.user.id],
    );
    expect(audit).toEqual([
      { event: "org.deleted", org_id: alone.id, metadata: { orgId: alone.id, reason: "account_deleted" } },
      { event: "org.member_removed", org_id: shared.id, metadata: { orgId: shared.id, reason: "account_deleted" } },
    ]);
  });
});

describe("global checks", () => {
  it("are never satisfied by organization permissions: an owner of their own organization gets 403 on /admin", async () => {
    const owner = await verifiedUser(service);
    await createOrg(service, owner);
    // A fresh token, issued after the organization exists.
    const login = await service.login(owner.email, owner.password);
    for (const path of ["/admin/users", "/admin/audit-logs", `/admin/users/${owner.user.id}`]) {
      const res = await call("GET", path, { token: login.tokens.accessToken });
      expect(res.status, path).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
    }
    expect(login.user.permissions).toEqual(["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"]);
  });
});

describe("two organizations", () => {
  it("give one user different roles in each, each checked in its own organization", async () => {
    const alice = await verifiedUser(service);
    const bob = await verifiedUser(service);
    const a = await createOrg(service, alice, { name: "Org A" });
    const b = await createOrg(service, bob, { name: "Org B" });
    const carol = await addMember(service, alice, a.id, ["admin"]);
    const { token } = await inviteToken(service, bob, b.id, carol.email, ["member"]);
    expect(
      (await call("POST", "/invitations/accept", { token: carol.tokens.accessToken, body: { token } })).status,
    ).toBe(200);

    const list = await call("GET", "/orgs", { token: carol.tokens.accessToken });
    const { orgs } = (await list.json()) as { orgs: { org: { id: string }; roles: string[] }[] };
    expect(orgs.map(({ org, roles }) => [org.id, roles])).toEqual([
      [a.id, ["admin"]],
      [b.id, ["member"]],
    ]);
    // Admin in A: may rename A. Member in B: may not rename B.
    expect(
      (await call("PATCH", `/orgs/${a.id}`, { token: carol.tokens.accessToken, body: { name: "A2" } })).status,
    ).toBe(200);
    const refused = await call("PATCH", `/orgs/${b.id}`, { token: carol.tokens.accessToken, body: { name: "B2" } });
    expect(refused.status).toBe(403);
    // Admin in A is nothing in B: no invitation from her there.
    expect(
      (
        await call("GET", `/orgs/${b.id}/invitations`, {
          token: carol.tokens.accessToken,
        })
      ).status,
    ).toBe(403);
  });
});

describe("custom roles", () => {
  it("refuses to redefine a built-in role: 403, nothing stored", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    for (const name of ["owner", "admin", "member"]) {
      const res = await call("PUT", `/orgs/${org.id}/roles/${name}`, {
        token: owner.tokens.accessToken,
        body: { permissions: ["org:read"] },
      });
      expect(res.status, name).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
      expect((await call("DELETE", `/orgs/${org.id}/roles/${name}`, { token: owner.tokens.accessToken })).status).toBe(
        403,
      );
    }
    expect(await db.query("select name from organization_roles where org_id = $1", [org.id])).toEqual([]);
  });

  it("refuses names that are not plain and permissions outside the catalog (400); only owners define", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const admin = await addMember(service, owner, org.id, ["admin"]);
    for (const name of ["Billing", "x", "a%2Cb", "9lives"]) {
      const res = await call("PUT", `/orgs/${org.id}/roles/${name}`, {
        token: owner.tokens.accessToken,
        body: { permissions: ["org:read"] },
      });
      expect(res.status, name).toBe(400);
    }
    for (const permission of ["users:write", "projects:delete", "profile:read"]) {
      const res = await call("PUT", `/orgs/${org.id}/roles/billing`, {
        token: owner.tokens.accessToken,
        body: { permissions: [permission] },
      });
      expect(res.status, permission).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
    const byAdmin = await call("PUT", `/orgs/${org.id}/roles/billing`, {
      token: admin.tokens.accessToken,
      body: { permissions: ["org:read"] },
    });
    expect(byAdmin.status).toBe(403);
    expect((await problemOf(byAdmin)).detail).toBe("Only an owner can define roles");
    expect(await db.query("select name from organization_roles where org_id = $1", [org.id])).toEqual([]);
  });

  it("refuses to delete a role a member holds (400), and deletes it once nobody does", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    await call("PUT", `/orgs/${org.id}/roles/billing`, {
      token: owner.tokens.accessToken,
      body: { permissions: ["org:read", "projects:read"] },
    });
    const member = await addMember(service, owner, org.id, ["billing"]);
    const held = await call("DELETE", `/orgs/${org.id}/roles/billing`, { token: owner.tokens.accessToken });
    expect(held.status).toBe(400);
    expect((await problemOf(held)).code).toBe("validation_failed");
    expect(await db.query("select name from organization_roles where org_id = $1", [org.id])).toHaveLength(1);

    await call("PUT", `/orgs/${org.id}/members/${member.user.id}/roles`, {
      token: owner.tokens.accessToken,
      body: { roles: ["member"] },
    });
    const deleted = await call("DELETE", `/orgs/${org.id}/roles/billing`, { token: owner.tokens.accessToken });
    expect(deleted.status).toBe(204);
    expect(await db.query("select name from organization_roles where org_id = $1", [org.id])).toEqual([]);
  });
});

describe("revocation at the edge", () => {
  it("raises the member's grants_version on a role change and a removal, in the change's transaction", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const member = await addMember(service, owner, org.id, ["member"]);
    const start = await grantsVersion(member.user.id);
    await call("PUT", `/orgs/${org.id}/members/${member.user.id}/roles`, {
      token: owner.tokens.accessToken,
      body: { roles: ["admin"] },
    });
    expect(await grantsVersion(member.user.id)).toBe(start + 1);
    await call("DELETE", `/orgs/${org.id}/members/${member.user.id}`, { token: owner.tokens.accessToken });
    expect(await grantsVersion(member.user.id)).toBe(start + 2);
    const log = await db.query<{ version: number }>(
      "select version from revocation_log where kind = 'user' and subject = $1 order by seq",
      [member.user.id],
    );
    expect(log.map((row) => Number(row.version))).toEqual([start + 1, start + 2]);
    // The member's token, issued before, is refused at once.
    const res = await call("GET", "/me", { token: member.tokens.accessToken });
    expect(res.status).toBe(401);
    // The owner acting was not touched.
    expect((await call("GET", "/me", { token: owner.tokens.accessToken })).status).toBe(200);
  });

  it("raises organizations.version when a role is redefined or deleted, and logs the organization's deletion", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const version = async () =>
      Number(
        (await db.query<{ version: number }>("select version from organizations where id = $1", [org.id]))[0]!.version,
      );
    const define = (permissions: string[]) =>
      call("PUT", `/orgs/${org.id}/roles/billing`, { token: owner.tokens.accessToken, body: { permissions } });
    expect((await define(["org:read"])).status).toBe(200);
    expect(await version()).toBe(0); // a new role: nobody holds it yet
    expect((await define(["org:read"])).status).toBe(200);
    expect(await version()).toBe(0); // the same definition changes nothing
    expect((await define(["org:read", "projects:read"])).status).toBe(200);
    expect(await version()).toBe(1);
    expect((await call("DELETE", `/orgs/${org.id}/roles/billing`, { token: owner.tokens.accessToken })).status).toBe(
      204,
    );
    expect(await version()).toBe(2);
    expect((await call("DELETE", `/orgs/${org.id}`, { token: owner.tokens.accessToken })).status).toBe(204);
    const log = await db.query<{ version: number }>(
      "select version from revocation_log where kind = 'org' and subject = $1 order by seq",
      [org.id],
    );
    expect(log.map((row) => Number(row.version))).toEqual([1, 2, 3]);
  });
});
