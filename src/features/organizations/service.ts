// Organizations (docs/organizations.md): create, list, read, rename, delete;
// members and their roles; custom roles; the organization's audit log.
// Invitations live in invitations.ts. Every check of an organization
// permission is made here, from the membership as the database has it now
// (never from the caller's token): a non-member gets the same 404 as for an
// organization that does not exist, a member lacking the permission 403.
// Each change runs in one transaction, under the organization's row lock,
// with its audit row; what must reach tokens at the edge (a member's grants
// version, the organization's version) is raised there and published after
// the commit.
import type { Clock } from "../../core/clock";
import type { Config } from "../../core/config";
import { decodeCursor, toApiPage, type ApiPage } from "../../core/cursor";
import type { AuditEvent, RequestOrigin } from "../../core/domain";
import {
  EmailNotVerified,
  InvalidToken,
  LastOwner,
  LimitReached,
  NotFound,
  SlugTaken,
  ValidationFailed,
} from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { Stores, UnitOfWork } from "../../stores";
import { grantsChanged, orgChanged, type RevocationList } from "../sessions/store";
import {
  knownRoles,
  requireHoldsAllOf,
  requireMayGrant,
  requireOrgPermission,
  requireCustomRoleName,
  requireOwner,
  slugFromName,
  slugSuffix,
  standingOf,
  validateCustomRole,
  type Standing,
} from "./rules";
import type { MemberRecord, OrganizationAccess, OrganizationAuditEvent, OrganizationRecord } from "./store";

/** Who acts: the signed-in user, their session, and where the request came from. */
export type OrgActor = { userId: string; sessionId?: string; origin: RequestOrigin };

export type OrganizationDeps = {
  stores: Pick<Stores, "organizations" | "users" | "audit">;
  unitOfWork: UnitOfWork;
  clock: Clock;
  settings: Pick<Config, "organizations">;
  revocations: Pick<RevocationList, "publish">;
};

/** A member's standing read under the organization's lock, inside a transaction. */
export type Acting = { tx: Stores; access: OrganizationAccess; caller: Standing; at: Date };

/** Tries at a slug made from the name before giving up: the name's own, then with random suffixes. */
const SLUG_ATTEMPTS = 5;

export class OrganizationService {
  constructor(private readonly deps: OrganizationDeps) {}

  private get catalog(): readonly string[] {
    return this.deps.settings.organizations.permissions;
  }

  /**
   * Creates an organization with the caller as its owner (org.created, org.member_added). A verified email is
   * required; MAX_ORGS_PER_USER bounds the caller's memberships. Without a slug, one is made from the name (with a
   * short suffix when taken); a given slug that is taken answers slug_taken.
   */
  async create(actor: OrgActor, input: { name: string; slug?: string }): Promise<OrganizationRecord> {
    const user = await this.deps.stores.users.findById(actor.userId);
    if (user?.status !== "active") throw new InvalidToken({ cause: new Error("user gone or disabled") });
    if (!user.emailVerified) throw new EmailNotVerified("Verify your email address to create an organization.");
    const { maxPerUser } = this.deps.settings.organizations;
    return this.deps.unitOfWork.run(async (tx) => {
      const at = this.deps.clock();
      if ((await tx.organizations.lockMembershipCount(actor.userId)) >= maxPerUser)
        throw new LimitReached("MAX_ORGS_PER_USER", maxPerUser);
      const org = await this.insertWithSlug(tx, actor.userId, input, at);
      await record(tx, "org.created", org.id, actor, at, { slug: org.slug });
      await record(tx, "org.member_added", org.id, actor, at, { roles: ["owner"], via: "created" }, actor.userId);
      return org;
    });
  }

  /** The caller's organizations with their roles in each. */
  list(userId: string): Promise<{ org: OrganizationRecord; roles: string[] }[]> {
    return this.deps.stores.organizations.listFor(userId);
  }

  /** The organization, for any of its members; 404 otherwise. */
  async get(userId: string, orgId: string): Promise<OrganizationRecord> {
    return (await this.read(userId, orgId)).access.org;
  }

  /** Renames or re-slugs (org:update); org.updated names the fields that changed. */
  async update(actor: OrgActor, orgId: string, change: { name?: string; slug?: string }): Promise<OrganizationRecord> {
    return this.acting(actor, orgId, async ({ tx, access, caller, at }) => {
      requireOrgPermission(caller, "org:update");
      const fields = (["name", "slug"] as const).filter(
        (field) => change[field] !== undefined && change[field] !== access.org[field],
      );
      if (fields.length === 0) return toRecord(access.org);
      const updated = await tx.organizations.update(orgId, change, at);
      if (!updated) throw new SlugTaken();
      await record(tx, "org.updated", orgId, actor, at, {
        fields,
        ...(fields.includes("slug") ? { slug: { from: access.org.slug, to: updated.slug } } : {}),
      });
      return updated;
    });
  }

  /**
   * Deletes the organization (org:delete; the route also needs a recent sign-in): its memberships, roles and
   * invitations end; its audit rows stay; tokens carrying it stop at the edge.
   */
  async delete(actor: OrgActor, orgId: string): Promise<void> {
    const version = await this.acting(actor, orgId, async ({ tx, access, caller, at }) => {
      requireOrgPermission(caller, "org:delete");
      await tx.organizations.delete(orgId);
      await record(tx, "org.deleted", orgId, actor, at, { slug: access.org.slug });
      return access.org.version + 1;
    });
    await this.deps.revocations.publish(orgChanged([{ orgId, version }]));
  }

  /** A page of members (members:read), oldest membership first. */
  async members(
    userId: string,
    orgId: string,
    page: { cursor?: string; limit: number },
  ): Promise<ApiPage<MemberRecord>> {
    const cursor = decodeCursor(page.cursor);
    const { caller } = await this.read(userId, orgId);
    requireOrgPermission(caller, "members:read");
    return toApiPage(await this.deps.stores.organizations.members(orgId, { cursor, limit: page.limit }));
  }

  /**
   * Replaces a member's roles (members:roles). Only what you hold: the member's current permissions and those of
   * every added role must all be the caller's (the caller's own roles aside), and only an owner grants owner. The
   * last owner keeps `owner`. A change raises the member's grants version: their tokens stop at the edge.
   */
  async setMemberRoles(
    actor: OrgActor,
    orgId: string,
    memberId: string,
    roles: readonly string[],
  ): Promise<MemberRecord> {
    const targetId = idOf(memberId);
    const outcome = await this.acting(actor, orgId, async ({ tx, access, caller, at }) => {
      requireOrgPermission(caller, "members:roles");
      const wanted = knownRoles(roles, access);
      const target = await tx.organizations.member(orgId, targetId);
      if (!target) throw new NotFound();
      if (targetId !== actor.userId) requireHoldsAllOf(caller, standingOf(target.roles, access, this.catalog));
      const added = wanted.filter((role) => !target.roles.includes(role));
      requireMayGrant(caller, added, access, this.catalog);
      if (sameRoles(target.roles, wanted)) return { member: target };
      if (target.roles.includes("owner") && !wanted.includes("owner"))
        await requireAnotherOwner(tx, orgId, targetId, access);
      const grantsVersion = await tx.organizations.setMemberRoles(orgId, targetId, wanted, at);
      await record(tx, "org.member_roles_changed", orgId, actor, at, { before: target.roles, after: wanted }, targetId);
      return { member: { ...target, roles: wanted }, grantsVersion };
    });
    if (outcome.grantsVersion !== undefined)
      await this.deps.revocations.publish(grantsChanged([{ userId: targetId, grantsVersion: outcome.grantsVersion }]));
    return outcome.member;
  }

  /**
   * Removes a member (members:remove, and only one whose permissions the caller all holds), or the caller leaves.
   * The last owner cannot leave or be removed. The member's tokens stop at the edge.
   */
  async removeMember(actor: OrgActor, orgId: string, memberId: string): Promise<void> {
    const targetId = idOf(memberId);
    const leaving = targetId === actor.userId;
    const grantsVersion = await this.acting(actor, orgId, async ({ tx, access, caller, at }) => {
      const target = leaving ? { roles: access.roles } : await tx.organizations.member(orgId, targetId);
      if (!leaving) {
        requireOrgPermission(caller, "members:remove");
        if (!target) throw new NotFound();
        requireHoldsAllOf(caller, standingOf(target.roles, access, this.catalog));
      }
      if (target!.roles.includes("owner")) await requireAnotherOwner(tx, orgId, targetId, access);
      const version = await tx.organizations.removeMember(orgId, targetId, at);
      await record(tx, "org.member_removed", orgId, actor, at, { roles: target!.roles, left: leaving }, targetId);
      return version;
    });
    await this.deps.revocations.publish(grantsChanged([{ userId: targetId, grantsVersion }]));
  }

  /**
   * Defines or redefines a custom role (owners only): a plain name that is not built-in (403 for a built-in one),
   * permissions from the catalog. Redefining a role raises the organization's version: tokens carrying it stop.
   */
  async defineRole(
    actor: OrgActor,
    orgId: string,
    name: string,
    permissions: readonly string[],
  ): Promise<{ name: string; permissions: string[] }> {
    const outcome = await this.acting(actor, orgId, async ({ tx, caller, at }) => {
      requireOwner(caller, "define roles");
      const role = validateCustomRole(name, permissions, this.catalog);
      const { before, version } = await tx.organizations.defineRole(orgId, role.name, role.permissions, at);
      const changed = before === null || before.join() !== role.permissions.join();
      if (changed)
        await record(tx, "org.role_defined", orgId, actor, at, {
          role: role.name,
          created: before === null,
          before: before ?? [],
          after: role.permissions,
        });
      return { role, version: changed && before !== null ? version : undefined };
    });
    if (outcome.version !== undefined)
      await this.deps.revocations.publish(orgChanged([{ orgId, version: outcome.version }]));
    return outcome.role;
  }

  /**
   * Deletes a custom role (owners only; 403 for a built-in one). A role a member holds, or a pending invitation
   * grants, stays: 400 validation_failed. The organization's version is raised.
   */
  async deleteRole(actor: OrgActor, orgId: string, name: string): Promise<void> {
    const version = await this.acting(actor, orgId, async ({ tx, access, caller, at }) => {
      requireOwner(caller, "delete roles");
      requireCustomRoleName(name);
      if (!access.customRoles.has(name)) throw new NotFound();
      const inUse = await tx.organizations.roleInUse(orgId, name, at);
      if (inUse.members > 0 || inUse.invitations > 0)
        throw new ValidationFailed(
          [{ path: "name", message: "The role is in use" }],
          `The role is held by ${inUse.members} member(s) and granted by ${inUse.invitations} pending ` +
            "invitation(s): change their roles or revoke the invitations first",
        );
      const raised = await tx.organizations.deleteRole(orgId, name);
      if (raised === undefined) throw new NotFound();
      await record(tx, "org.role_deleted", orgId, actor, at, { role: name, permissions: access.customRoles.get(name) });
      return raised;
    });
    await this.deps.revocations.publish(orgChanged([{ orgId, version }]));
  }

  /**
   * The organization's own audit log (org:audit:read): only rows naming it, newest first. Who else acted is shown
   * by id; their ip and user agent are the service operator's to see (GET /admin/audit-logs), not the organization's.
   */
  async auditLog(
    userId: string,
    orgId: string,
    filter: { event?: string; cursor?: string; limit: number },
  ): Promise<ApiPage<AuditEvent>> {
    const cursor = decodeCursor(filter.cursor);
    const { caller } = await this.read(userId, orgId);
    requireOrgPermission(caller, "org:audit:read");
    const page = toApiPage(
      await this.deps.stores.audit.page({ orgId, event: filter.event, cursor, limit: filter.limit }),
    );
    return { ...page, items: page.items.map(({ ip: _ip, userAgent: _userAgent, ...event }) => event) };
  }

  /** The caller's standing in the organization, unlocked (reads); 404 for a non-member. */
  async read(userId: string, orgId: string): Promise<{ access: OrganizationAccess; caller: Standing }> {
    const access = isUuid(orgId) ? await this.deps.stores.organizations.access(orgId.toLowerCase(), userId) : undefined;
    if (!access) throw new NotFound();
    return { access, caller: standingOf(access.roles, access, this.catalog) };
  }

  /**
   * Runs `work` in a transaction with the caller's standing read under the organization's row lock; 404 for a
   * non-member, exactly as for an organization that does not exist.
   */
  async acting<T>(actor: OrgActor, orgId: string, work: (acting: Acting) => Promise<T>): Promise<T> {
    if (!isUuid(orgId)) throw new NotFound();
    return this.deps.unitOfWork.run(async (tx) => {
      const access = await tx.organizations.access(orgId.toLowerCase(), actor.userId, { lock: true });
      if (!access) throw new NotFound();
      return work({ tx, access, caller: standingOf(access.roles, access, this.catalog), at: this.deps.clock() });
    });
  }

  private async insertWithSlug(
    tx: Stores,
    ownerId: string,
    input: { name: string; slug?: string },
    at: Date,
  ): Promise<OrganizationRecord> {
    if (input.slug !== undefined) {
      const org = await tx.organizations.create({ name: input.name, slug: input.slug, ownerId, at });
      if (!org) throw new SlugTaken();
      return org;
    }
    const base = slugFromName(input.name);
    for (let attempt = 0; attempt < SLUG_ATTEMPTS; attempt++) {
      const slug = attempt === 0 ? base : `${base}-${slugSuffix()}`;
      const org = await tx.organizations.create({ name: input.name, slug, ownerId, at });
      if (org) return org;
    }
    throw new SlugTaken();
  }
}

/** Writes one of this feature's audit rows: `orgId` in the row's org_id and in its metadata. */
export function record(
  tx: Pick<Stores, "audit">,
  event: OrganizationAuditEvent,
  orgId: string,
  actor: OrgActor,
  at: Date,
  metadata: Record<string, unknown> = {},
  userId: string = actor.userId,
): Promise<void> {
  return tx.audit.record({
    event,
    userId,
    actorId: actor.userId,
    sessionId: actor.sessionId ?? null,
    orgId,
    origin: actor.origin,
    metadata: { orgId, ...metadata },
    at,
  });
}

/** 409 last_owner unless another member holds `owner` (read under the organization's lock). */
async function requireAnotherOwner(tx: Stores, orgId: string, userId: string, access: OrganizationAccess) {
  if ((await tx.organizations.otherOwners(orgId, userId)) === 0)
    throw new LastOwner(`This would leave "${access.org.slug}" without an owner: make another member an owner first.`);
}

/** A user id from a path: lower case; anything but a UUID is a member that does not exist. */
function idOf(id: string): string {
  if (!isUuid(id)) throw new NotFound();
  return id.toLowerCase();
}

function sameRoles(current: readonly string[], wanted: readonly string[]): boolean {
  return current.length === wanted.length && [...current].sort().every((role, i) => role === wanted[i]);
}

function toRecord(org: OrganizationRecord): OrganizationRecord {
  return { id: org.id, name: org.name, slug: org.slug, createdAt: org.createdAt };
}
