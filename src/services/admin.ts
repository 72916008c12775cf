// Administration (API.md "Administration (permission-gated)"): list and read
// users, replace a user's roles, disable and enable accounts, end a user's
// sessions. Each change commits in one transaction with its audit row, whose
// actor is the administrator; ended sessions are then pushed to the edge
// revocation list so their access tokens stop working at once.
//
// Rules beyond the permission check (the routes' authorize):
// - An administrator cannot change their own roles nor disable their own
//   account (403 insufficient_permission). Nobody can raise their own
//   privileges through the API, and the actor of every change keeps the
//   permissions they acted with, so the service can never lose its last
//   account holding roles:assign through the API. The operator CLI
//   (`npm run admin`) is the way to change an administrator's own roles.
// - An administrator can only add roles whose permissions they hold
//   themselves (403 otherwise): roles:assign is not a way to acquire more
//   than one has, e.g. by promoting a second account of one's own.
// - An empty role list is allowed: the account can still sign in, but holds
//   no permission at all (not even profile:read) until given a role.
// - A role change is recorded at the edge: the user's tokens issued before it
//   are refused (401 invalid_token), so clients refresh and get the new roles
//   and permissions at once rather than up to ACCESS_TOKEN_TTL later.
// - A malformed id answers exactly like an unknown one: 404.
import type { Clock } from "../context";
import { AuthError, NotFound, ValidationFailed } from "../errors";
import { AdminUserRepository } from "../repositories/admin-users";
import { AuditRepository, type RequestOrigin } from "../repositories/audit";
import { decodeCursor, encodeCursor } from "../repositories/keyset-cursor";
import type { Database } from "../repositories/database";
import { RoleRepository } from "../repositories/roles";
import { SessionRepository } from "../repositories/sessions";
import { UserRepository, type UserRecord } from "../repositories/users";
import { isUuid } from "./ids";
import type { SessionRevocationList } from "./revocation";
import { toSessionView, type SessionView } from "./sessions";

export type AdminDeps = { db: Database; clock: Clock; revocations: SessionRevocationList };

/** Who acts, and from where. Their permissions are read from the database inside each change, not from their token. */
export type AdminActor = { actorId: string; origin: RequestOrigin };

export type UserListPage = { items: UserRecord[]; nextCursor: string | null };

export class AdminService {
  constructor(private readonly deps: AdminDeps) {}

  async listUsers(filter: { search?: string; cursor?: string; limit: number }): Promise<UserListPage> {
    const cursor = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    if (filter.cursor !== undefined && !cursor) throw new ValidationFailed([{ path: "cursor", message: "Not a cursor this service issued" }], "The cursor is not one this service issued");
    const page = await new AdminUserRepository(this.deps.db).page({ search: filter.search || undefined, cursor, limit: filter.limit });
    return { items: page.items, nextCursor: page.nextCursor && encodeCursor(page.nextCursor) };
  }

  /** The user with their live sessions; `current` is false for all of them. */
  async getUser(userId: string): Promise<{ user: UserRecord; sessions: SessionView[] }> {
    const user = await this.findUser(userId);
    const sessions = await new SessionRepository(this.deps.db).listLive(user.id, this.deps.clock());
    return { user, sessions: sessions.map((s) => toSessionView(s, null)) };
  }

  /**
   * Replaces the user's roles with `roles` (deduplicated; [] allowed). Every
   * name must be a row of the roles table. A change writes user.roles_changed
   * with {before, after}; asking for the roles the user already has writes
   * nothing.
   */
  async setRoles(userId: string, roles: readonly string[], actor: AdminActor): Promise<UserRecord> {
    assertUserId(userId);
    refuseSelf(userId, actor, "Your own roles can only be changed by another administrator or with the operator CLI");
    const wanted = [...new Set(roles)].sort();
    const at = this.deps.clock();
    const { user, changed } = await this.deps.db.transaction(async (tx) => {
      const { actorPermissions } = await this.lockForChange(tx, userId, actor, "roles:assign");
      const roleRepository = new RoleRepository(tx);
      const known = new Set(await roleRepository.existing(wanted));
      const unknown = [...new Set(roles)].filter((name) => !known.has(name));
      if (unknown.length > 0) {
        throw new ValidationFailed(
          unknown.map((name) => ({ path: `roles.${roles.indexOf(name)}`, message: `Unknown role "${name}"` })),
          `Unknown roles: ${unknown.join(", ")}`,
        );
      }
      const users = new UserRepository(tx);
      const current = (await users.findById(userId))!;
      if (sameRoles(current.roles, wanted)) return { user: current, changed: false };
      const added = wanted.filter((role) => !current.roles.includes(role));
      const beyond = (await roleRepository.permissionsOf(added)).filter((p) => !actorPermissions.includes(p));
      if (beyond.length > 0) {
        throw new AuthError("insufficient_permission", { detail: `You cannot grant permissions you do not hold: ${beyond.join(", ")}` });
      }
      await roleRepository.replaceForUser(userId, wanted, at);
      await new AdminUserRepository(tx).bumpGrantsVersion(userId, at);
      const updated = (await users.findById(userId))!;
      await new AuditRepository(tx).record({
        event: "user.roles_changed",
        userId,
        actorId: actor.actorId,
        origin: actor.origin,
        metadata: { before: current.roles, after: updated.roles },
        at,
      });
      return { user: updated, changed: true };
    });
    if (changed) await this.deps.revocations.markGrantsChanged([{ userId, grantsVersion: user.grantsVersion }]);
    return user;
  }

  /**
   * Disables the account and ends all its sessions (session.revoked, reason
   * user_disabled). Idempotent: an already disabled account gets no second
   * user.disabled row, but any session still live is ended all the same.
   */
  async disable(userId: string, actor: AdminActor): Promise<UserRecord> {
    assertUserId(userId);
    refuseSelf(userId, actor, "You cannot disable your own account");
    const at = this.deps.clock();
    const { user, ended } = await this.deps.db.transaction(async (tx) => {
      const { targetStatus } = await this.lockForChange(tx, userId, actor, "users:write");
      const endedIds = await new SessionRepository(tx).endAllForUser(userId, {
        reason: "user_disabled",
        event: "session.revoked",
        actorId: actor.actorId,
        origin: actor.origin,
        at,
      });
      if (targetStatus !== "disabled") {
        await new AdminUserRepository(tx).setStatus(userId, "disabled", at);
        // Also stops tokens of sessions that had already ended but not yet expired.
        await new AdminUserRepository(tx).bumpGrantsVersion(userId, at);
        await new AuditRepository(tx).record({
          event: "user.disabled",
          userId,
          actorId: actor.actorId,
          origin: actor.origin,
          metadata: { endedSessions: endedIds.length },
          at,
        });
      }
      return { user: (await new UserRepository(tx).findById(userId))!, ended: endedIds };
    });
    await this.deps.revocations.revoke(ended);
    await this.deps.revocations.markGrantsChanged([{ userId, grantsVersion: user.grantsVersion }]);
    return user;
  }

  /** Lets the account sign in again. Idempotent: an active account gets no user.enabled row. */
  async enable(userId: string, actor: AdminActor): Promise<UserRecord> {
    assertUserId(userId);
    const at = this.deps.clock();
    return this.deps.db.transaction(async (tx) => {
      const { targetStatus } = await this.lockForChange(tx, userId, actor, "users:write");
      if (targetStatus !== "active") {
        await new AdminUserRepository(tx).setStatus(userId, "active", at);
        await new AuditRepository(tx).record({ event: "user.enabled", userId, actorId: actor.actorId, origin: actor.origin, at });
      }
      return (await new UserRepository(tx).findById(userId))!;
    });
  }

  /** Ends every live session of the user (session.revoked, reason revoked_by_admin). */
  async revokeSessions(userId: string, actor: AdminActor): Promise<void> {
    assertUserId(userId);
    if (!(await new AdminUserRepository(this.deps.db).exists(userId))) throw new NotFound();
    const ended = await new SessionRepository(this.deps.db).endAllForUser(userId, {
      reason: "revoked_by_admin",
      event: "session.revoked",
      actorId: actor.actorId,
      origin: actor.origin,
      at: this.deps.clock(),
    });
    await this.deps.revocations.revoke(ended);
  }

  /**
   * Inside a transaction: locks actor and target, then checks the actor is
   * still active and still holds `permission` as of now, not as of their
   * token (another administrator may just have demoted them). Returns the
   * target's status and the actor's current permissions.
   */
  private async lockForChange(tx: Database, userId: string, actor: AdminActor, permission: string) {
    const statuses = await new AdminUserRepository(tx).lockActorAndTarget(actor.actorId, userId);
    const target = statuses.get(userId);
    if (!target) throw new NotFound();
    const acting = statuses.get(actor.actorId) === "active" ? await new UserRepository(tx).findById(actor.actorId) : undefined;
    if (!acting || !acting.permissions.includes(permission)) {
      throw new AuthError("insufficient_permission", { detail: `Requires the ${permission} permission` });
    }
    return { targetStatus: target, actorPermissions: acting.permissions };
  }

  private async findUser(userId: string): Promise<UserRecord> {
    assertUserId(userId);
    const user = await new UserRepository(this.deps.db).findById(userId);
    if (!user) throw new NotFound();
    return user;
  }
}

/** Not a UUID: the same 404 as an unknown id, and no query that would fail on the cast. */
function assertUserId(userId: string): void {
  if (!isUuid(userId)) throw new NotFound();
}

function refuseSelf(userId: string, actor: AdminActor, detail: string): void {
  if (userId.toLowerCase() === actor.actorId.toLowerCase()) throw new AuthError("insufficient_permission", { detail });
}

function sameRoles(current: readonly string[], wanted: readonly string[]): boolean {
  return current.length === wanted.length && [...current].sort().every((role, i) => role === wanted[i]);
}
