// AdminService over the in-memory stores with a fixed clock: replacing roles
// (role-change.ts's rule), disabling and enabling accounts, ending a user's
// sessions, checked by what is answered, what the stores hold afterwards and
// what reached the edge revocation list.
import { describe, expect, it } from "vitest";
import { InsufficientPermission, NotFound, ValidationFailed } from "../../src/core/errors";
import { AdminService, OPERATOR, type AdminActor } from "../../src/features/admin";
import type { UserRecord } from "../../src/core/domain";
import { MemoryStores, ORIGIN, RecordingRevocationList, SEEDED_ROLES, testClock, testSession } from "../support/fakes";

function setup() {
  const memory = new MemoryStores();
  const time = testClock();
  const revocations = new RecordingRevocationList();
  const admin = new AdminService({
    stores: memory.stores,
    unitOfWork: memory.unitOfWork,
    clock: time.clock,
    revocations,
  });
  const administrator = memory.addUser({ email: "admin@example.com", roles: ["admin", "user"] });
  const target = memory.addUser({ email: "target@example.com", roles: ["user"] });
  const as = (user: UserRecord): AdminActor => ({ kind: "administrator", actorId: user.id, origin: ORIGIN });

  /** A live session of `user`, opened now through the session store. */
  async function openSession(user: UserRecord): Promise<string> {
    const { session } = testSession(time.now());
    expect(
      await memory.stores.sessions.openSignIn({
        userId: user.id,
        session,
        origin: ORIGIN,
        at: time.now(),
        clearThrottleKey: "unused",
        maxSessions: 50,
      }),
    ).toEqual({ opened: true, evicted: [] });
    return session.id;
  }
  return { memory, time, revocations, admin, administrator, target, actor: as(administrator), as, openSession };
}

/** The sessions each publish to the edge ended, sorted. */
const marks = (revocations: RecordingRevocationList) => revocations.sessionCalls.map((ids) => [...ids].sort());

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a failure"),
    (error: unknown) => error,
  );
}

describe("setRoles", () => {
  it(
    "replaces the roles, bumps the grants version, audits before and after, " +
      "and marks the grants changed at the edge",
    async () => {
      const t = setup();
      const updated = await t.admin.setRoles(t.target.id, ["user", "admin", "admin"], t.actor);
      expect(updated).toMatchObject({
        id: t.target.id,
        roles: ["admin", "user"],
        permissions: [...SEEDED_ROLES.admin!.permissions].sort(),
        grantsVersion: 1,
      });
      expect(t.memory.user(t.target.id)).toMatchObject({ roles: ["admin", "user"], grantsVersion: 1 });
      expect(t.memory.auditRows({ event: "user.roles_changed" })).toEqual([
        expect.objectContaining({
          userId: t.target.id,
          actorId: t.administrator.id,
          ip: ORIGIN.ip,
          metadata: { before: ["user"], after: ["admin", "user"] },
        }),
      ]);
      expect(t.revocations.grantsCalls).toEqual([[{ userId: t.target.id, grantsVersion: 1 }]]);
    },
  );

  it("allows an empty role list", async () => {
    const t = setup();
    await expect(t.admin.setRoles(t.target.id, [], t.actor)).resolves.toMatchObject({ roles: [], permissions: [] });
    expect(t.memory.auditRows({ event: "user.roles_changed" })[0]!.metadata).toEqual({ before: ["user"], after: [] });
  });

  it("refuses an unknown role with validation_failed naming it, writing nothing", async () => {
    const t = setup();
    const before = t.memory.snapshot();
    const error = await failure(t.admin.setRoles(t.target.id, ["user", "superuser"], t.actor));
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).errors).toEqual([{ path: "roles.1", message: 'Unknown role "superuser"' }]);
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.grantsCalls).toEqual([]);
  });

  it("asking for the roles the user already has writes nothing and changes no grants", async () => {
    const t = setup();
    t.memory.state.userRoles.set(t.target.id, new Set(["admin", "user"]));
    const before = t.memory.snapshot();
    const same = await t.admin.setRoles(t.target.id, ["user", "admin", "user"], t.actor);
    expect(same).toMatchObject({ roles: ["admin", "user"], grantsVersion: 0 });
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.grantsCalls).toEqual([]);
  });

  it("an administrator cannot grant permissions they do not hold themselves", async () => {
    const t = setup();
    t.memory.state.roles.set("role-manager", { description: "", permissions: ["roles:assign"] });
    t.memory.state.roles.set("auditor", { description: "", permissions: ["audit:read"] });
    const manager = t.memory.addUser({ roles: ["role-manager", "user"] });
    const before = t.memory.snapshot();
    const error = await failure(t.admin.setRoles(t.target.id, ["auditor", "user"], t.as(manager)));
    expect(error).toBeInstanceOf(InsufficientPermission);
    expect((error as InsufficientPermission).detail).toBe("You cannot grant permissions you do not hold: audit:read");
    expect(t.memory.snapshot()).toEqual(before);
    // Removing one is refused the same way (the API contract: grants and removes only what the caller holds).
    t.memory.state.userRoles.set(t.target.id, new Set(["auditor", "user"]));
    expect(await failure(t.admin.setRoles(t.target.id, ["user"], t.as(manager)))).toBeInstanceOf(
      InsufficientPermission,
    );
    expect(t.memory.user(t.target.id)!.roles).toEqual(["auditor", "user"]);
  });

  it("an administrator cannot change their own roles, in any letter case of their id", async () => {
    const t = setup();
    const before = t.memory.snapshot();
    for (const id of [t.administrator.id, t.administrator.id.toUpperCase()]) {
      const error = await failure(t.admin.setRoles(id, ["user"], t.actor));
      expect(error).toBeInstanceOf(InsufficientPermission);
    }
    expect(t.memory.snapshot()).toEqual(before);
  });

  it("the actor's permissions are read as of now: a demoted or disabled administrator is refused", async () => {
    const t = setup();
    t.memory.state.userRoles.set(t.administrator.id, new Set(["user"]));
    expect(await failure(t.admin.setRoles(t.target.id, ["admin", "user"], t.actor))).toBeInstanceOf(
      InsufficientPermission,
    );
    t.memory.state.userRoles.set(t.administrator.id, new Set(["admin", "user"]));
    t.memory.state.users.get(t.administrator.id)!.status = "disabled";
    expect(await failure(t.admin.setRoles(t.target.id, ["admin", "user"], t.actor))).toBeInstanceOf(
      InsufficientPermission,
    );
    expect(t.memory.user(t.target.id)!.roles).toEqual(["user"]);
  });

  it(
    "the operator may grant any role, an administrator's own included, " + "audited with no actor and via cli",
    async () => {
      const t = setup();
      await t.admin.setRoles(t.target.id, ["admin", "user"], OPERATOR);
      await t.admin.setRoles(t.administrator.id, ["user"], OPERATOR);
      expect(t.memory.auditRows({ event: "user.roles_changed" })).toEqual([
        expect.objectContaining({
          userId: t.target.id,
          actorId: null,
          metadata: { before: ["user"], after: ["admin", "user"], via: "cli" },
        }),
        expect.objectContaining({
          userId: t.administrator.id,
          actorId: null,
          metadata: { before: ["admin", "user"], after: ["user"], via: "cli" },
        }),
      ]);
      expect(t.revocations.grantsCalls).toEqual([
        [{ userId: t.target.id, grantsVersion: 1 }],
        [{ userId: t.administrator.id, grantsVersion: 1 }],
      ]);
    },
  );

  it("answers 404 for an unknown or malformed user id, writing nothing", async () => {
    const t = setup();
    const before = t.memory.snapshot();
    for (const id of [crypto.randomUUID(), "not-a-user-id"])
      expect(await failure(t.admin.setRoles(id, ["user"], t.actor))).toBeInstanceOf(NotFound);
    expect(t.memory.snapshot()).toEqual(before);
  });
});

describe("disable and enable", () => {
  it("disable ends every session, bumps the grants version, audits it once, and tells the edge", async () => {
    const t = setup();
    const sessions = [await t.openSession(t.target), await t.openSession(t.target)];
    const disabled = await t.admin.disable(t.target.id, t.actor);
    expect(disabled).toMatchObject({ status: "disabled", grantsVersion: 1 });
    for (const id of sessions)
      expect(t.memory.session(id)).toMatchObject({ revokedAt: t.time.now(), revokedReason: "user_disabled" });
    expect(t.memory.auditRows({ event: "session.revoked" }).map((r) => [r.sessionId, r.actorId])).toEqual(
      sessions.map((id) => [id, t.administrator.id]),
    );
    expect(t.memory.auditRows({ event: "user.disabled" })).toEqual([
      expect.objectContaining({ userId: t.target.id, actorId: t.administrator.id, metadata: { endedSessions: 2 } }),
    ]);
    // The ended sessions and the grants bump reach the edge in one publish.
    expect(t.revocations.publishCalls).toHaveLength(1);
    expect(marks(t.revocations)).toEqual([[...sessions].sort()]);
    expect(t.revocations.grantsCalls).toEqual([[{ userId: t.target.id, grantsVersion: 1 }]]);
  });

  it(
    "disable is idempotent: no second user.disabled row nor grants bump, but " +
      "a session still live is ended all the same",
    async () => {
      const t = setup();
      await t.admin.disable(t.target.id, t.actor);
      // A sign-in that raced the disable: its session opened while the account was still active.
      t.memory.state.users.get(t.target.id)!.status = "active";
      const straggler = await t.openSession(t.target);
      t.memory.state.users.get(t.target.id)!.status = "disabled";
      t.time.advance(1);
      await expect(t.admin.disable(t.target.id, t.actor)).resolves.toMatchObject({
        status: "disabled",
        grantsVersion: 1,
      });
      expect(t.memory.auditRows({ event: "user.disabled" })).toHaveLength(1);
      expect(t.memory.session(straggler)!.revokedReason).toBe("user_disabled");
      expect(marks(t.revocations).at(-1)).toEqual([straggler]);
    },
  );

  it("an administrator cannot disable their own account", async () => {
    const t = setup();
    expect(await failure(t.admin.disable(t.administrator.id, t.actor))).toBeInstanceOf(InsufficientPermission);
    expect(t.memory.user(t.administrator.id)!.status).toBe("active");
  });

  it(
    "enable lets the account in again with one user.enabled row; enabling an " + "active account writes nothing",
    async () => {
      const t = setup();
      await t.admin.disable(t.target.id, t.actor);
      await expect(t.admin.enable(t.target.id, t.actor)).resolves.toMatchObject({ status: "active" });
      const before = t.memory.snapshot();
      await expect(t.admin.enable(t.target.id, t.actor)).resolves.toMatchObject({ status: "active" });
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.memory.auditRows({ event: "user.enabled" })).toEqual([
        expect.objectContaining({ userId: t.target.id, actorId: t.administrator.id }),
      ]);
    },
  );

  it("disable and enable answer 404 for an unknown user id", async () => {
    const t = setup();
    expect(await failure(t.admin.disable(crypto.randomUUID(), t.actor))).toBeInstanceOf(NotFound);
    expect(await failure(t.admin.enable(crypto.randomUUID(), t.actor))).toBeInstanceOf(NotFound);
  });
});

describe("revokeSessions", () => {
  it("ends every live session of the user with revoked_by_admin and pushes them to the edge", async () => {
    const t = setup();
    const sessions = [await t.openSession(t.target), await t.openSession(t.target)];
    const adminsOwn = await t.openSession(t.administrator);
    await t.admin.revokeSessions(t.target.id, t.actor);
    for (const id of sessions) expect(t.memory.session(id)!.revokedReason).toBe("revoked_by_admin");
    expect(t.memory.session(adminsOwn)!.revokedAt).toBeNull();
    expect(marks(t.revocations)).toEqual([[...sessions].sort()]);
    expect(t.memory.user(t.target.id)!.status).toBe("active");
  });

  it.each([
    ["an unknown id", () => crypto.randomUUID()],
    ["a malformed id", () => "not-a-user-id"],
  ])("answers 404 for %s, ending nothing", async (_label, id) => {
    const t = setup();
    await t.openSession(t.target);
    const before = t.memory.snapshot();
    expect(await failure(t.admin.revokeSessions(id(), t.actor))).toBeInstanceOf(NotFound);
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.sessionCalls).toEqual([]);
  });
});

describe("ids in capitals", () => {
  it(
    "stops a capitalised id from answering 404 or reaching the stores in " +
      "another spelling: every operation acts on the same user",
    async () => {
      const t = setup();
      const id = t.target.id.toUpperCase();
      const session = await t.openSession(t.target);
      await expect(t.admin.getUser(id)).resolves.toMatchObject({
        user: { id: t.target.id },
        sessions: [expect.objectContaining({ id: session })],
      });
      await expect(t.admin.setRoles(id, ["admin", "user"], t.actor)).resolves.toMatchObject({
        id: t.target.id,
        roles: ["admin", "user"],
      });
      await expect(t.admin.disable(id, t.actor)).resolves.toMatchObject({ id: t.target.id, status: "disabled" });
      await expect(t.admin.enable(id, t.actor)).resolves.toMatchObject({ id: t.target.id, status: "active" });
      const again = await t.openSession(t.target);
      await t.admin.revokeSessions(id, t.actor);
      expect(t.memory.session(again)!.revokedReason).toBe("revoked_by_admin");
      for (const row of t.memory.auditRows({}))
        if (row.userId !== null && row.userId.toLowerCase() === t.target.id) expect(row.userId).toBe(t.target.id);
      expect(t.revocations.grantsCalls.flat().map((c) => c.userId)).toEqual([t.target.id, t.target.id]);
      expect(t.revocations.sessionCalls).toEqual([[session], [again]]);
    },
  );
});

describe("setRoles: removing roles (grants and removes only what the caller holds)", () => {
  /** A holder of roles:assign alone, beside the seeded admin. */
  function withRoleManager() {
    const t = setup();
    t.memory.state.roles.set("role-manager", { description: "", permissions: ["roles:assign"] });
    t.memory.state.roles.set("auditor", { description: "", permissions: ["audit:read"] });
    const manager = t.memory.addUser({ email: "manager@example.com", roles: ["role-manager", "user"] });
    return { ...t, manager: t.as(manager) };
  }

  it(
    "stops a holder of roles:assign alone from stripping admin from an " +
      "administrator: 403 naming what they lack, nothing written",
    async () => {
      const t = withRoleManager();
      const before = t.memory.snapshot();
      const error = await failure(t.admin.setRoles(t.administrator.id, ["user"], t.manager));
      expect(error).toBeInstanceOf(InsufficientPermission);
      expect((error as InsufficientPermission).detail).toBe(
        "The account holds permissions you do not: audit:read, sessions:revoke, users:read, users:write",
      );
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.memory.user(t.administrator.id)).toMatchObject({ roles: ["admin", "user"], grantsVersion: 0 });
      expect(t.revocations.grantsCalls).toEqual([]);
    },
  );

  it("stops a removal hidden in a swap: adding a role one holds does not license removing one beyond it", async () => {
    const t = withRoleManager();
    t.memory.state.userRoles.set(t.target.id, new Set(["auditor", "user"]));
    const before = t.memory.snapshot();
    const error = await failure(t.admin.setRoles(t.target.id, ["role-manager", "user"], t.manager));
    expect(error).toBeInstanceOf(InsufficientPermission);
    expect((error as InsufficientPermission).detail).toBe("The account holds permissions you do not: audit:read");
    expect(t.memory.snapshot()).toEqual(before);
  });

  it("stops the empty list from stripping roles beyond the caller's permissions", async () => {
    const t = withRoleManager();
    t.memory.state.userRoles.set(t.target.id, new Set(["auditor"]));
    expect(await failure(t.admin.setRoles(t.target.id, [], t.manager))).toBeInstanceOf(InsufficientPermission);
    expect(t.memory.user(t.target.id)!.roles).toEqual(["auditor"]);
  });

  it("still lets a caller remove a role whose permissions they all hold, audited as a change", async () => {
    const t = withRoleManager();
    t.memory.state.userRoles.set(t.target.id, new Set(["role-manager", "user"]));
    const updated = await t.admin.setRoles(t.target.id, [], t.manager);
    expect(updated).toMatchObject({ roles: [], grantsVersion: 1 });
    expect(t.memory.auditRows({ event: "user.roles_changed" })).toEqual([
      expect.objectContaining({ userId: t.target.id, metadata: { before: ["role-manager", "user"], after: [] } }),
    ]);
  });

  it("an administrator holding every permission still demotes another administrator", async () => {
    const t = setup();
    const other = t.memory.addUser({ email: "other-admin@example.com", roles: ["admin", "user"] });
    await expect(t.admin.setRoles(other.id, ["user"], t.actor)).resolves.toMatchObject({
      roles: ["user"],
      grantsVersion: 1,
    });
  });

  it("the operator may still remove any role, bound by no permission", async () => {
    const t = withRoleManager();
    await expect(t.admin.setRoles(t.administrator.id, [], OPERATOR)).resolves.toMatchObject({
      roles: [],
      permissions: [],
    });
  });
});

describe("v3: every action on another account follows one rule (only what you hold)", () => {
  /** A support account: the user role plus users:write, sessions:revoke and roles:assign, beside the seeded admin. */
  function withSupport() {
    const t = setup();
    t.memory.state.roles.set("support", {
      description: "",
      permissions: ["users:write", "sessions:revoke", "roles:assign"],
    });
    const supportUser = t.memory.addUser({ email: "support@example.com", roles: ["support", "user"] });
    return { ...t, supportUser, support: t.as(supportUser) };
  }
  const LACKED = "The account holds permissions you do not: audit:read, users:read";

  it.each([
    ["disable", (t: ReturnType<typeof withSupport>) => t.admin.disable(t.administrator.id, t.support)],
    ["enable", (t: ReturnType<typeof withSupport>) => t.admin.enable(t.administrator.id, t.support)],
    ["revokeSessions", (t: ReturnType<typeof withSupport>) => t.admin.revokeSessions(t.administrator.id, t.support)],
    ["removeFactors", (t: ReturnType<typeof withSupport>) => t.admin.removeFactors(t.administrator.id, t.support)],
    ["deleteUser", (t: ReturnType<typeof withSupport>) => t.admin.deleteUser(t.administrator.id, t.support)],
    [
      "setRoles (adding a role the caller holds)",
      (t: ReturnType<typeof withSupport>) =>
        t.admin.setRoles(t.administrator.id, ["admin", "support", "user"], t.support),
    ],
  ])(
    "stops %s on an administrator by a holder of the action's permission " +
      "alone: 403 naming what they lack, nothing written",
    async (name, act) => {
      const t = withSupport();
      await t.openSession(t.administrator);
      if (name === "enable") t.memory.state.users.get(t.administrator.id)!.status = "disabled";
      const before = t.memory.snapshot();
      const error = await failure(act(t));
      expect(error).toBeInstanceOf(InsufficientPermission);
      expect((error as InsufficientPermission).detail).toBe(LACKED);
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.revocations.grantsCalls).toEqual([]);
      expect(t.revocations.sessionCalls).toEqual([]);
    },
  );

  it("the same holder acts on a plain user, whose permissions they all hold", async () => {
    const t = withSupport();
    const session = await t.openSession(t.target);
    await t.admin.revokeSessions(t.target.id, t.support);
    expect(t.memory.session(session)!.revokedReason).toBe("revoked_by_admin");
    await expect(t.admin.disable(t.target.id, t.support)).resolves.toMatchObject({ status: "disabled" });
    await expect(t.admin.enable(t.target.id, t.support)).resolves.toMatchObject({ status: "active" });
    await expect(t.admin.setRoles(t.target.id, ["support", "user"], t.support)).resolves.toMatchObject({
      roles: ["support", "user"],
    });
  });

  it(
    "ending sessions reads the caller's permissions as of now: a holder " + "demoted since their token is refused",
    async () => {
      const t = withSupport();
      const session = await t.openSession(t.target);
      t.memory.state.userRoles.set(t.supportUser.id, new Set(["user"]));
      expect(await failure(t.admin.revokeSessions(t.target.id, t.support))).toBeInstanceOf(InsufficientPermission);
      expect(t.memory.session(session)!.revokedAt).toBeNull();
    },
  );

  it("the operator re-enables any account, an administrator's too: user.enabled with no actor, via cli", async () => {
    const t = setup();
    await t.admin.disable(t.administrator.id, OPERATOR);
    await expect(t.admin.enable(t.administrator.id, OPERATOR)).resolves.toMatchObject({ status: "active" });
    expect(t.memory.auditRows({ event: "user.enabled" })).toEqual([
      expect.objectContaining({ userId: t.administrator.id, actorId: null, metadata: { via: "cli" } }),
    ]);
  });
});

describe("defineRole (the operator's define-role)", () => {
  it(
    "creates a role from built-in permissions, deduplicated and sorted, with " +
      "one role.defined row and no grants change",
    async () => {
      const t = setup();
      const defined = await t.admin.defineRole("support", ["users:write", "users:read", "users:write"], OPERATOR);
      expect(defined).toEqual({
        name: "support",
        permissions: ["users:read", "users:write"],
        created: true,
        changed: true,
        before: [],
        holders: 0,
      });
      expect(t.memory.state.roles.get("support")!.permissions).toEqual(["users:read", "users:write"]);
      expect(t.memory.auditRows({ event: "role.defined" })).toEqual([
        expect.objectContaining({
          userId: null,
          actorId: null,
          metadata: {
            role: "support",
            created: true,
            before: [],
            after: ["users:read", "users:write"],
            holders: 0,
            via: "cli",
          },
        }),
      ]);
      expect(t.revocations.grantsCalls).toEqual([]);
    },
  );

  it(
    "stops a redefined role's older tokens: every holder's grants version " +
      "goes up and reaches the edge, nobody else's",
    async () => {
      const t = setup();
      await t.admin.defineRole("support", ["users:read"], OPERATOR);
      const holder = t.memory.addUser({ email: "holder@example.com", roles: ["support", "user"] });
      await t.admin.defineRole("support", ["users:read", "sessions:revoke"], OPERATOR);
      expect(t.memory.user(holder.id)).toMatchObject({
        grantsVersion: 1,
        permissions: expect.arrayContaining(["sessions:revoke", "users:read"]),
      });
      expect(t.memory.user(t.target.id)!.grantsVersion).toBe(0);
      expect(t.memory.user(t.administrator.id)!.grantsVersion).toBe(0);
      expect(t.revocations.grantsCalls).toEqual([[{ userId: holder.id, grantsVersion: 1 }]]);
      expect(t.memory.auditRows({ event: "role.defined" }).at(-1)!.metadata).toEqual({
        role: "support",
        created: false,
        before: ["users:read"],
        after: ["sessions:revoke", "users:read"],
        holders: 1,
        via: "cli",
      });
    },
  );

  it("the same definition again writes nothing and stops no token", async () => {
    const t = setup();
    await t.admin.defineRole("support", ["users:read"], OPERATOR);
    t.memory.addUser({ email: "holder@example.com", roles: ["support"] });
    const before = t.memory.snapshot();
    await expect(t.admin.defineRole("support", ["users:read"], OPERATOR)).resolves.toMatchObject({
      changed: false,
      created: false,
    });
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.grantsCalls).toEqual([]);
  });

  it.each([
    ["a permission outside the built-in list", "support", ["users:read", "users:*"], "permissions.1"],
    ["no permission", "support", [], "permissions"],
    ["a name in capitals", "Support", ["users:read"], "name"],
    ["a one-letter name", "s", ["users:read"], "name"],
    ["a name of 33 characters", `s${"x".repeat(32)}`, ["users:read"], "name"],
    ["the built-in user role", "user", ["profile:read"], "name"],
    [
      "the built-in admin role (no way to weaken or widen every administrator at once)",
      "admin",
      ["profile:read"],
      "name",
    ],
  ])("refuses %s with validation_failed, writing nothing", async (_label, name, permissions, path) => {
    const t = setup();
    const before = t.memory.snapshot();
    const error = await failure(t.admin.defineRole(name, permissions, OPERATOR));
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).errors.map((e) => e.path)).toEqual([path]);
    expect(t.memory.snapshot()).toEqual(before);
  });
});
