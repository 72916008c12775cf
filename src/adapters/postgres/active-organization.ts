// The session's active organization in SQL, written once for every statement
// that issues an access token for an existing session (refresh rotation,
// re-authentication, POST /auth/org): a scalar subquery read in the same
// snapshot as the user's grants, so the token's `org` claim and its `gv`
// and `ov` describe one moment (docs/organizations.md, "Acting in an
// organization").
import { sql, type SQL } from "drizzle-orm";
import type { ActiveMembership } from "../../core/active-organization";

/**
 * A jsonb value `{id, slug, version, roles, customRoles}` for `userId`'s membership of the organization `orgId`
 * (SQL expressions), with the definitions of the custom roles among its roles (name -> permissions); null when
 * `orgId` is null, the organization is gone or the user is not a member. Name it with `as`.
 */
export function activeMembershipOf(orgId: SQL, userId: SQL): SQL {
  return sql`(select jsonb_build_object('id', o.id, 'slug', o.slug, 'version', o.version, 'roles', to_jsonb(m.roles),
      'customRoles', coalesce((select jsonb_object_agg(r.name, to_jsonb(r.permissions)) from organization_roles r
        where r.org_id = o.id and r.name = any(m.roles)), '{}'::jsonb))
    from organizations o join organization_members m on m.org_id = o.id
    where o.id = ${orgId} and m.user_id = ${userId})`;
}

/**
 * The UPDATE expression that keeps a session's active organization (alias `s`) only while its user is still a member:
 * a removed member's next token carries no `org` claim, and being added again later does not bring it back.
 */
export const STILL_A_MEMBER = sql`(select m.org_id from organization_members m
  where m.org_id = s.active_org_id and m.user_id = s.user_id)`;

/** The membership activeMembershipOf read, or undefined for its null. */
export function toActiveMembership(value: unknown): ActiveMembership | undefined {
  const row = typeof value === "string" ? (JSON.parse(value) as unknown) : value;
  if (row === null || row === undefined || typeof row !== "object") return undefined;
  const { id, slug, version, roles, customRoles } = row as Record<string, unknown>;
  const custom: Record<string, string[]> = {};
  if (customRoles !== null && typeof customRoles === "object") {
    for (const [name, permissions] of Object.entries(customRoles)) custom[name] = strings(permissions);
  }
  return {
    orgId: String(id),
    slug: String(slug),
    version: Number(version),
    roles: strings(roles),
    customRoles: custom,
  };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
