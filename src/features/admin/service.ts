// Administration: list and read users, replace roles, disable and enable
// accounts, end sessions, and (the operator only) define a role. Each change
// commits with its audit row in one transaction, then reaches the edge
// revocation list so the user's earlier access tokens stop at once.
// lockForChange is the one place that decides who may act on an account
// (only what you hold, never yourself): docs/api.md lists the rules.
import type { Clock } from "../../core/clock";
import { InsufficientPermission, NotFound } from "../../core/errors";
import { deleteAccountIn, type ProviderGrants } from "../lifecycle/service";
import { isUuid } from "../../core/ids";
import { decodeCursor, toApiPage, type ApiPage } from "../../core/cursor";
import { endedSessions, grantsChanged, orgChanged, type RevocationList } from "../sessions/store";
import type { Stores, UnitOfWork } from "../../stores";
import type { UserRecord } from "../../core/domain";
import { toSessionView, type SessionView } from "../sessions";
import { actorIdOf, type AdminActor, type OperatorActor } from "./actor";
import { decideRoleChange } from "./role-change";
import { validateRoleDefinition } from "./role-definition";

/** What defineRole did: `holders` counts the accounts whose grants version it bumped. */
export type RoleDefinition = {
  name: string;
  permissions: string[];
  created: boolean;
  changed: boolean;
  before: string[];
  holders: number;
};

export type AdminDeps = {
  stores: Pick<Stores, "users" | "adminUsers" | "sessions">;
  unitOfWork: UnitOfWork;
  clock: Clock;
  revocations: Pick<RevocationList, "publish">;
  /** A deleted account's provider grants revoked at the provider (none from the operator CLI). */
  providerGrants?: ProviderGrants;
};

export class AdminService {
  constructor(private readonly deps: AdminDeps) {}

  async listUsers(filter: { search?: string; cursor?: string; limit: number }): Promise<ApiPage<UserRecord>> {
    const cursor = decodeCursor(filter.cursor);
    return toApiPage(
      await this.deps.stores.adminUsers.page({ search: filter.search || undefined, cursor, limit: filter.limit }),
    );
  }

  /** The user with their live sessions; `current` is false for all of them. */
  async getUser(id: string): Promise<{ user: UserRecord; sessions: SessionView[] }> {
    const userId = userIdOf(id);
    const user = await this.deps.stores.users.findById(userId);
    if (!user) throw new NotFound();
    const sessions = await this.deps.stores.sessions.listLive(user.id, this.deps.clock());
    return { user, sessions: sessions.map((s) => toSessionView(s, null)) };
  }

  /**
   * Replaces the user's roles with `roles` (deduplicated; [] allowed), or
   * with what `roles` makes of the current ones, read under the row lock (so
   * a grant of one role cannot undo a concurrent change). A change writes
   * user.roles_changed with {before, after} (and `via: "cli"` for the
   * operator); asking for the roles the user already has writes nothing.
   */
  async setRoles(
    id: string,
    roles: readonly string[] | ((current: readonly string[]) => readonly string[]),
    actor: AdminActor,
  ): Promise<UserRecord> {
    const userId = userIdOf(id);
    refuseSelf(userId, actor, "Your own roles can only be changed by another administrator or with the operator CLI");
    const at = this.deps.clock();
    const { user, changed } = await this.deps.unitOfWork.run(async (tx) => {
      const { target: current, actorPermissions } = await lockForChange(tx, userId, actor, "roles:assign");
      const requested = typeof roles === "function" ? roles(current.roles) : roles;
      const change = await decideRoleChange({
        requested,
        current: current.roles,
        known: new Set(await tx.roles.existing([...new Set(requested)])),
        actor,
        actorPermissions,
        permissionsOfAdded: (added) => tx.roles.permissionsOf(added),
      });
      if (!change.changed) return { user: current, changed: false };
      await tx.roles.replaceForUser(userId, change.roles, at);
      await tx.adminUsers.bumpGrantsVersion(userId, at);
      const updated = (await tx.users.findById(userId))!;
      const via = actor.kind === "operator" ? { via: "cli" } : {};
      await tx.audit.record({
        event: "user.roles_changed",
        userId,
        actorId: actorIdOf(actor),
        origin: actor.origin,
        metadata: { before: current.roles, after: updated.roles, ...via },
        at,
      });
      return { user: updated, changed: true };
    });
    if (changed) await this.deps.revocations.publish(grantsChanged([{ userId, grantsVersion: user.grantsVersion }]));
    return user;
  }

  /**
   * Disables the account and ends all its sessions (session.revoked, reason
   * user_disabled). Idempotent: an already disabled account gets no second
   * user.disabled row, but any session still live is ended all the same.
   */
  async disable(id: string, actor: AdminActor): Promise<UserRecord> {
    const userId = userIdOf(id);
    refuseSelf(userId, actor, "You cannot disable your own account");
    const at = this.deps.clock();
    const actorId = actorIdOf(actor);
    const { user, ended } = await this.deps.unitOfWork.run(async (tx) => {
      const { target } = await lockForChange(tx, userId, actor, "users:write");
      const endedIds = await tx.sessions.endAllForUser(userId, {
        reason: "user_disabled",
        event: "session.revoked",
        actorId,
        origin: actor.origin,
        at,
      });
      if (target.status !== "disabled") {
        await tx.adminUsers.setStatus(userId, "disabled", at);
        // Also stops tokens of sessions that had already ended but not yet expired.
        await tx.adminUsers.bumpGrantsVersion(userId, at);
        await tx.audit.record({
          event: "user.disabled",
          userId,
          actorId,
          origin: actor.origin,
          metadata: { endedSessions: endedIds.length },
          at,
        });
      }
      return { user: (await tx.users.findById(userId))!, ended: endedIds };
    });
    await this.deps.revocations.publish([
      ...endedSessions(ended.map((session) => session.id)),
      ...grantsChanged([{ userId, grantsVersion: user.grantsVersion }]),
    ]);
    return user;
  }

  /**
   * Lets the account sign in again. Idempotent: an active account gets no
   * user.enabled row. The operator's (`npm run admin -- enable`) says
   * `via: "cli"`: how a locked-out operator gets their account back.
   */
  async enable(id: string, actor: AdminActor): Promise<UserRecord> {
    const userId = userIdOf(id);
    const at = this.deps.clock();
    return this.deps.unitOfWork.run(async (tx) => {
      const { target } = await lockForChange(tx, userId, actor, "users:write");
      if (target.status !== "active") {
        await tx.adminUsers.setStatus(userId, "active", at);
        const via = actor.kind === "operator" ? { metadata: { via: "cli" } } : {};
        await tx.audit.record({
          event: "user.enabled",
          userId,
          actorId: actorIdOf(actor),
          origin: actor.origin,
          ...via,
          at,
        });
      }
      return (await tx.users.findById(userId))!;
    });
  }

  /**
   * Deletes the account as DELETE /me does (deleteAccountIn), with the
   * administrator as actor. Nobody deletes themselves here, and nobody
   * deletes an account holding a permission they lack: that would strip an
   * administrator by other means than a role change.
   */
  async deleteUser(id: string, actor: AdminActor): Promise<void> {
    const userId = userIdOf(id);
    refuseSelf(userId, actor, "You cannot delete your own account here; use DELETE /me");
    const { ended, providerGrants, deletedOrgs } = await this.deps.unitOfWork.run(async (tx) => {
      const { target } = await lockForChange(tx, userId, actor, "users:write");
      return deleteAccountIn(tx, target, { actorId: actorIdOf(actor), origin: actor.origin, at: this.deps.clock() });
    });
    await this.deps.revocations.publish([
      ...endedSessions(ended.map((session) => session.id)),
      ...orgChanged(deletedOrgs),
    ]);
    if (providerGrants.length > 0) await this.deps.providerGrants?.revoke(userId, providerGrants);
  }

  /**
   * Removes the user's TOTP factor, recovery codes and passkeys (one
   * mfa.removed row naming the administrator), for an owner who lost them.
   * The rules of deletion apply: not your own account, and not an account
   * holding a permission you lack (that would weaken an administrator).
   * 404 when the user has no factor.
   */
  async removeFactors(id: string, actor: AdminActor): Promise<void> {
    const userId = userIdOf(id);
    refuseSelf(userId, actor, "You cannot remove your own factors here; use the /me/mfa and /me/passkeys routes");
    await this.deps.unitOfWork.run(async (tx) => {
      await lockForChange(tx, userId, actor, "users:write");
      const removed = await tx.secondFactors.removeAll(userId, {
        actorId: actorIdOf(actor),
        sessionId: null,
        origin: actor.origin,
        at: this.deps.clock(),
      });
      if (!removed) throw new NotFound("The user has no second factor");
    });
  }

  /**
   * Creates the role `name` or replaces its permissions (the operator CLI's
   * define-role; no API route defines roles). role-definition.ts says what
   * is allowed. A change bumps the grants version of every holder and
   * marks it at the edge, as a role change does, so their older tokens,
   * which carry the old permissions, stop; one role.defined row (no user,
   * no actor) records it. The same definition again writes nothing.
   */
  async defineRole(name: string, permissions: readonly string[], actor: OperatorActor): Promise<RoleDefinition> {
    const wanted = validateRoleDefinition(name, permissions);
    const at = this.deps.clock();
    const outcome = await this.deps.unitOfWork.run(async (tx) => {
      const { created, before, holders } = await tx.roles.define(wanted.name, wanted.permissions, at);
      const changed = created || before.join() !== wanted.permissions.join();
      if (changed) {
        await tx.audit.record({
          event: "role.defined",
          actorId: actorIdOf(actor),
          origin: actor.origin,
          metadata: {
            role: wanted.name,
            created,
            before,
            after: wanted.permissions,
            holders: holders.length,
            via: "cli",
          },
          at,
        });
      }
      return { name: wanted.name, permissions: wanted.permissions, created, changed, before, holders };
    });
    if (outcome.holders.length > 0) await this.deps.revocations.publish(grantsChanged(outcome.holders));
    return { ...outcome, holders: outcome.holders.length };
  }

  /** Ends every live session of the user (session.revoked, reason revoked_by_admin). */
  async revokeSessions(id: string, actor: AdminActor): Promise<void> {
    const userId = userIdOf(id);
    const { clock } = this.deps;
    const ended = await this.deps.unitOfWork.run(async (tx) => {
      await lockForChange(tx, userId, actor, "sessions:revoke");
      return tx.sessions.endAllForUser(userId, {
        reason: "revoked_by_admin",
        event: "session.revoked",
        actorId: actorIdOf(actor),
        origin: actor.origin,
        at: clock(),
      });
    });
    await this.deps.revocations.publish(endedSessions(ended.map((session) => session.id)));
  }
}

/**
 * Inside a transaction, before any change to an account: locks actor and
 * target, then applies the one rule of every administrative action. An
 * administrator must still be active and hold `permission` as of now, not as
 * of their token (another administrator may just have demoted them), and
 * the target, as it is under the lock, must hold no permission the
 * administrator lacks ("only what you hold": acting on a stronger account
 * would weaken it by other means than a role change). The operator is bound
 * by neither. Returns the locked target.
 */
async function lockForChange(
  tx: Stores,
  userId: string,
  actor: AdminActor,
  permission: string,
): Promise<{ target: UserRecord; actorPermissions: string[] }> {
  const statuses = await tx.adminUsers.lockActorAndTarget(actorIdOf(actor), userId);
  if (!statuses.has(userId)) throw new NotFound();
  const target = await tx.users.findById(userId);
  if (!target) throw new NotFound();
  if (actor.kind === "operator") return { target, actorPermissions: [] };
  const acting = statuses.get(actor.actorId) === "active" ? await tx.users.findById(actor.actorId) : undefined;
  if (!acting?.permissions.includes(permission)) throw new InsufficientPermission({ permission });
  const beyond = target.permissions.filter((held) => !acting.permissions.includes(held));
  if (beyond.length > 0)
    throw new InsufficientPermission({ detail: `The account holds permissions you do not: ${beyond.join(", ")}` });
  return { target, actorPermissions: acting.permissions };
}

/**
 * The user id as every store, audit row and edge entry spells it: lower
 * case. Not a UUID: the same 404 as an unknown id, and no query that would
 * fail on the cast. (The routes lower-case ids already; this keeps every
 * other caller, the operator CLI among them, to the same rule.)
 */
function userIdOf(id: string): string {
  if (!isUuid(id)) throw new NotFound();
  return id.toLowerCase();
}

function refuseSelf(userId: string, actor: AdminActor, detail: string): void {
  if (actor.kind === "administrator" && userId.toLowerCase() === actor.actorId.toLowerCase())
    throw new InsufficientPermission({ detail });
}
