// The organizations port over Postgres (raw SQL through Drizzle's executor).
// Every change is one statement; the service runs them in a transaction with
// their audit rows. Slugs are unique: an insert or update that would take one
// in use does nothing (ON CONFLICT, or a guard on the update) rather than
// failing, so the transaction stays usable and the service can answer
// slug_taken or try another slug; an update that loses a race past the guard
// answers as if it had found the slug taken (the service then rolls back).
import { sql } from "drizzle-orm";
import type { KeysetCursor, Page } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import { textArray } from "../../adapters/postgres/fragments";
import { cursorTimestamp } from "../../adapters/postgres/keyset-cursor";
import { rows, toDate, toStringArray } from "../../adapters/postgres/rows";
import type {
  InvitationRecord,
  MemberRecord,
  MembershipAtDeletion,
  NewInvitation,
  OrganizationAccess,
  OrganizationRecord,
  OrganizationStore,
  PendingInvitation,
} from "./store";

type OrgRow = { id: string; name: string; slug: string; created_at: Date | string };

const toOrg = (row: OrgRow): OrganizationRecord => ({
  id: row.id,
  name: row.name,
  slug: row.slug,
  createdAt: toDate(row.created_at),
});

type InvitationRow = { id: string; org_id: string; email: string; roles: unknown; expires_at: Date | string };

const toInvitation = (row: InvitationRow): InvitationRecord => ({
  id: row.id,
  orgId: row.org_id,
  email: row.email,
  roles: toStringArray(row.roles),
  expiresAt: toDate(row.expires_at),
});

type MemberRow = {
  user_id: string;
  email: string;
  name: string | null;
  roles: unknown;
  joined_at: Date | string;
};

const toMember = (row: MemberRow): MemberRecord => ({
  user: { id: row.user_id, email: row.email, name: row.name },
  roles: toStringArray(row.roles),
  joinedAt: toDate(row.joined_at),
});

/** A pending invitation of alias `i` at `at`: neither accepted nor revoked, not expired. */
const pending = (at: Date) => sql`i.accepted_at is null and i.revoked_at is null and i.expires_at > ${at}`;

/** The UPDATE raising a user's grants version, as a CTE body returning it. */
const bumpGrantsVersion = (userId: string, at: Date) =>
  sql`update users set grants_version = grants_version + 1, updated_at = ${at} where id = ${userId}
    returning grants_version`;

/** The unique violation of organizations_slug_key (the driver's error, or Drizzle's wrapping it as its cause). */
function isSlugTaken(error: unknown): boolean {
  for (let e = error as { code?: unknown; constraint?: unknown; cause?: unknown } | undefined; e; e = e.cause as never)
    if (e.code === "23505") return e.constraint === "organizations_slug_key";
  return false;
}

export class OrganizationRepository implements OrganizationStore {
  constructor(private readonly db: Executor) {}

  async lockMembershipCount(userId: string): Promise<number> {
    const [row] = await rows<{ n: number }>(
      this.db,
      sql`with u as (select id from users where id = ${userId} for no key update)
        select (select count(*)::int from organization_members m where m.user_id = ${userId}) as n from u`,
    );
    return Number(row?.n ?? 0);
  }

  async create(input: { name: string; slug: string; ownerId: string; at: Date }) {
    const [row] = await rows<OrgRow>(
      this.db,
      sql`with o as (
          insert into organizations (name, slug, created_at, updated_at)
          values (${input.name}, ${input.slug}, ${input.at}, ${input.at})
          on conflict (slug) do nothing
          returning id, name, slug, created_at
        ), m as (
          insert into organization_members (org_id, user_id, roles, joined_at)
          select o.id, ${input.ownerId}, array['owner'], ${input.at} from o
        )
        select * from o`,
    );
    return row && toOrg(row);
  }

  async listFor(userId: string) {
    const found = await rows<OrgRow & { roles: unknown }>(
      this.db,
      sql`select o.id, o.name, o.slug, o.created_at, m.roles
        from organization_members m join organizations o on o.id = m.org_id
        where m.user_id = ${userId}
        order by m.joined_at, o.id`,
    );
    return found.map((row) => ({ org: toOrg(row), roles: toStringArray(row.roles) }));
  }

  async access(
    orgId: string,
    userId: string,
    options: { lock?: boolean } = {},
  ): Promise<OrganizationAccess | undefined> {
    const [row] = await rows<OrgRow & { version: number; roles: unknown; custom: { name: string; p: string[] }[] }>(
      this.db,
      sql`select o.id, o.name, o.slug, o.created_at, o.version, m.roles,
          coalesce((select json_agg(json_build_object('name', r.name, 'p', r.permissions))
            from organization_roles r where r.org_id = o.id), '[]'::json) as custom
        from organizations o join organization_members m on m.org_id = o.id and m.user_id = ${userId}
        where o.id = ${orgId}
        ${options.lock ? sql`for no key update of o` : sql``}`,
    );
    if (!row) return undefined;
    return {
      org: { ...toOrg(row), version: Number(row.version) },
      roles: toStringArray(row.roles),
      customRoles: new Map(row.custom.map((role) => [role.name, toStringArray(role.p)])),
    };
  }

  /**
   * The NOT EXISTS settles the common case in the statement; two re-slugs to one slug racing each other (neither
   * sees the other's uncommitted row) meet the unique index, and the loser's violation answers undefined as well:
   * the statement changed nothing, and the service's slug_taken rolls its transaction back.
   */
  async update(orgId: string, change: { name?: string; slug?: string }, at: Date) {
    try {
      const [row] = await rows<OrgRow>(
        this.db,
        sql`update organizations o set
            name = coalesce(${change.name ?? null}::text, o.name),
            slug = coalesce(${change.slug ?? null}::text, o.slug),
            updated_at = ${at}
          where o.id = ${orgId}
            and not exists (select 1 from organizations x where x.slug = ${change.slug ?? null}::text and x.id <> o.id)
          returning o.id, o.name, o.slug, o.created_at`,
      );
      return row && toOrg(row);
    } catch (error) {
      if (isSlugTaken(error)) return undefined;
      throw error;
    }
  }

  async delete(orgId: string): Promise<void> {
    await this.db.execute(sql`delete from organizations where id = ${orgId}`);
  }

  async members(orgId: string, page: { cursor?: KeysetCursor; limit: number }): Promise<Page<MemberRecord>> {
    const after = page.cursor
      ? sql`and (m.joined_at, m.user_id) > (${page.cursor.createdAt}::timestamptz, ${page.cursor.id}::uuid)`
      : sql``;
    const found = await rows<MemberRow & { cursor_at: string }>(
      this.db,
      sql`select m.user_id, u.email, u.name, m.roles, m.joined_at, ${cursorTimestamp(sql`m.joined_at`)} as cursor_at
        from organization_members m join users u on u.id = m.user_id
        where m.org_id = ${orgId} ${after}
        order by m.joined_at, m.user_id
        limit ${page.limit + 1}`,
    );
    const items = found.slice(0, page.limit);
    const last = items.at(-1);
    return {
      items: items.map(toMember),
      nextCursor: found.length > page.limit && last ? { createdAt: last.cursor_at, id: last.user_id } : null,
    };
  }

  async member(orgId: string, userId: string) {
    const [row] = await rows<MemberRow>(
      this.db,
      sql`select m.user_id, u.email, u.name, m.roles, m.joined_at
        from organization_members m join users u on u.id = m.user_id
        where m.org_id = ${orgId} and m.user_id = ${userId}`,
    );
    return row && toMember(row);
  }

  async otherOwners(orgId: string, userId: string): Promise<number> {
    const [row] = await rows<{ n: number }>(
      this.db,
      sql`select count(*)::int as n from organization_members
        where org_id = ${orgId} and user_id <> ${userId} and 'owner' = any(roles)`,
    );
    return Number(row?.n ?? 0);
  }

  async setMemberRoles(orgId: string, userId: string, roles: readonly string[], at: Date): Promise<number> {
    const [row] = await rows<{ grants_version: number }>(
      this.db,
      sql`with m as (
          update organization_members set roles = ${textArray(roles)}
          where org_id = ${orgId} and user_id = ${userId}
          returning user_id
        ), u as (${bumpGrantsVersion(userId, at)})
        select grants_version from u`,
    );
    return Number(row?.grants_version ?? 0);
  }

  async removeMember(orgId: string, userId: string, at: Date): Promise<number> {
    const [row] = await rows<{ grants_version: number }>(
      this.db,
      sql`with m as (
          delete from organization_members where org_id = ${orgId} and user_id = ${userId} returning user_id
        ), s as (
          update sessions set active_org_id = null where user_id = ${userId} and active_org_id = ${orgId}
        ), u as (${bumpGrantsVersion(userId, at)})
        select grants_version from u`,
    );
    return Number(row?.grants_version ?? 0);
  }

  async addMember(orgId: string, userId: string, roles: readonly string[], at: Date): Promise<boolean> {
    const added = await rows<{ user_id: string }>(
      this.db,
      sql`insert into organization_members (org_id, user_id, roles, joined_at)
        values (${orgId}, ${userId}, ${textArray(roles)}, ${at})
        on conflict (org_id, user_id) do nothing
        returning user_id`,
    );
    return added.length > 0;
  }

  async defineRole(orgId: string, name: string, permissions: readonly string[], at: Date) {
    const [row] = await rows<{ before: unknown; version: number }>(
      this.db,
      sql`with old as (
          select permissions from organization_roles where org_id = ${orgId} and name = ${name} for update
        ), r as (
          insert into organization_roles (org_id, name, permissions, created_at, updated_at)
          values (${orgId}, ${name}, ${textArray(permissions)}, ${at}, ${at})
          on conflict (org_id, name) do update set permissions = excluded.permissions, updated_at = excluded.updated_at
        ), o as (
          update organizations set version = version + 1, updated_at = ${at}
          where id = ${orgId}
            and exists (select 1 from old where old.permissions is distinct from ${textArray(permissions)})
          returning version
        )
        select (select permissions from old) as before,
          coalesce((select version from o), (select version from organizations where id = ${orgId})) as version`,
    );
    const before = row?.before;
    return { before: before == null ? null : toStringArray(before).sort(), version: Number(row?.version ?? 0) };
  }

  async roleInUse(orgId: string, name: string, at: Date) {
    const [row] = await rows<{ members: number; invitations: number }>(
      this.db,
      sql`select
          (select count(*)::int from organization_members where org_id = ${orgId} and ${name} = any(roles)) as members,
          (select count(*)::int from organization_invitations i
            where i.org_id = ${orgId} and ${name} = any(i.roles) and ${pending(at)}) as invitations`,
    );
    return { members: Number(row?.members ?? 0), invitations: Number(row?.invitations ?? 0) };
  }

  async deleteRole(orgId: string, name: string): Promise<number | undefined> {
    const [row] = await rows<{ version: number }>(
      this.db,
      sql`with r as (
          delete from organization_roles where org_id = ${orgId} and name = ${name} returning name
        )
        update organizations set version = version + 1
        where id = ${orgId} and exists (select 1 from r)
        returning version`,
    );
    return row ? Number(row.version) : undefined;
  }

  async pendingInvitations(orgId: string, at: Date) {
    const found = await rows<InvitationRow>(
      this.db,
      sql`select i.id, i.org_id, i.email, i.roles, i.expires_at from organization_invitations i
        where i.org_id = ${orgId} and ${pending(at)}
        order by i.created_at, i.id`,
    );
    return found.map(toInvitation);
  }

  async countPendingInvitations(orgId: string, at: Date): Promise<number> {
    const [row] = await rows<{ n: number }>(
      this.db,
      sql`select count(*)::int as n from organization_invitations i where i.org_id = ${orgId} and ${pending(at)}`,
    );
    return Number(row?.n ?? 0);
  }

  async invite(input: NewInvitation) {
    const [row] = await rows<{ id: string; replaced: number }>(
      this.db,
      sql`with replaced as (
          update organization_invitations i set revoked_at = ${input.at}
          where i.org_id = ${input.orgId} and i.email = ${input.email} and ${pending(input.at)}
          returning i.id
        ), created as (
          insert into organization_invitations (org_id, email, roles, token_hash, invited_by, created_at, expires_at)
          values (${input.orgId}, ${input.email}, ${textArray(input.roles)}, ${input.tokenHash}, ${input.invitedBy},
            ${input.at}, ${input.expiresAt})
          returning id
        )
        select (select id from created) as id, (select count(*)::int from replaced) as replaced`,
    );
    return { id: row!.id, replaced: Number(row!.replaced) };
  }

  async revokeInvitation(orgId: string, invitationId: string, at: Date): Promise<boolean> {
    const revoked = await rows<{ id: string }>(
      this.db,
      sql`update organization_invitations i set revoked_at = ${at}
        where i.org_id = ${orgId} and i.id = ${invitationId} and ${pending(at)}
        returning i.id`,
    );
    return revoked.length > 0;
  }

  async findPendingInvitation(tokenHash: string, at: Date): Promise<PendingInvitation | undefined> {
    const [row] = await rows<InvitationRow & { org_name: string; org_slug: string; org_created_at: Date | string }>(
      this.db,
      sql`select i.id, i.org_id, i.email, i.roles, i.expires_at,
          o.name as org_name, o.slug as org_slug, o.created_at as org_created_at
        from organization_invitations i join organizations o on o.id = i.org_id
        where i.token_hash = ${tokenHash} and ${pending(at)}
        for no key update of o, i`,
    );
    if (!row) return undefined;
    return {
      ...toInvitation(row),
      org: { id: row.org_id, name: row.org_name, slug: row.org_slug, createdAt: toDate(row.org_created_at) },
    };
  }

  async markInvitationAccepted(invitationId: string, userId: string, at: Date): Promise<void> {
    await this.db.execute(
      sql`update organization_invitations set accepted_at = ${at}, accepted_by = ${userId} where id = ${invitationId}`,
    );
  }

  async lockMembershipsOf(userId: string): Promise<MembershipAtDeletion[]> {
    const found = await rows<{
      org_id: string;
      slug: string;
      version: number;
      owner: boolean;
      other_members: number;
      other_owners: number;
    }>(
      this.db,
      sql`select o.id as org_id, o.slug, o.version, 'owner' = any(m.roles) as owner,
          (select count(*)::int from organization_members x where x.org_id = o.id and x.user_id <> ${userId})
            as other_members,
          (select count(*)::int from organization_members x
            where x.org_id = o.id and x.user_id <> ${userId} and 'owner' = any(x.roles)) as other_owners
        from organizations o join organization_members m on m.org_id = o.id and m.user_id = ${userId}
        order by o.id
        for no key update of o`,
    );
    return found.map((row) => ({
      orgId: row.org_id,
      slug: row.slug,
      version: Number(row.version),
      owner: row.owner,
      otherMembers: Number(row.other_members),
      otherOwners: Number(row.other_owners),
    }));
  }
}
