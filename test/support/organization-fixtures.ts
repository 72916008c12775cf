// Organizations arranged directly in the database, with Drizzle over the
// schema (src/db/schema.ts), for tests of what the tokens and the edge do
// with them: an organization, its members and roles, and the changes the
// organization service makes (a member removed, a role redefined, the
// organization deleted), each with the version raise it makes in the same
// transaction. Publishing to the edge is the test's own step.
import { and, eq, sql } from "drizzle-orm";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import { organizationMembers, organizationRoles, organizations, sessions, users } from "../../src/db/schema";
import { withClient } from "./db";

type Db = NeonDatabase;

const inDb = <T>(work: (db: Db) => Promise<T>): Promise<T> => withClient((client) => work(drizzle(client)));

export type TestOrganization = { id: string; slug: string };

/** An organization with these members (user id -> roles) and custom roles (name -> permissions). */
export async function createOrganization(
  input: { members?: Record<string, string[]>; customRoles?: Record<string, string[]>; slug?: string } = {},
): Promise<TestOrganization> {
  const slug = input.slug ?? `org-${crypto.randomUUID().slice(0, 12)}`;
  return inDb(async (db) => {
    const [org] = await db
      .insert(organizations)
      .values({ name: `Organization ${slug}`, slug })
      .returning({ id: organizations.id, slug: organizations.slug });
    for (const [name, permissions] of Object.entries(input.customRoles ?? {}))
      await db.insert(organizationRoles).values({ orgId: org!.id, name, permissions });
    for (const [userId, roles] of Object.entries(input.members ?? {}))
      await db.insert(organizationMembers).values({ orgId: org!.id, userId, roles });
    return org!;
  });
}

/** Adds a member (as an accepted invitation does, without the version raise a change of membership needs). */
export async function addMember(orgId: string, userId: string, roles: string[] = ["member"]): Promise<void> {
  await inDb((db) => db.insert(organizationMembers).values({ orgId, userId, roles }));
}

/** A user's grants version, as the edge compares it. */
export async function grantsVersionOf(userId: string): Promise<number> {
  return inDb(async (db) => {
    const [row] = await db.select({ v: users.grantsVersion }).from(users).where(eq(users.id, userId));
    return row!.v;
  });
}

/** Removes a member as the organization service does: the membership goes and the user's grants version rises. */
export async function removeMember(orgId: string, userId: string): Promise<number> {
  return inDb((db) =>
    db.transaction(async (tx) => {
      await tx
        .delete(organizationMembers)
        .where(and(eq(organizationMembers.orgId, orgId), eq(organizationMembers.userId, userId)));
      const [row] = await tx
        .update(users)
        .set({ grantsVersion: sql`${users.grantsVersion} + 1` })
        .where(eq(users.id, userId))
        .returning({ v: users.grantsVersion });
      return row!.v;
    }),
  );
}

/** Redefines a custom role as the organization service does: new permissions, the organization's version raised. */
export async function redefineRole(orgId: string, name: string, permissions: string[]): Promise<number> {
  return inDb((db) =>
    db.transaction(async (tx) => {
      await tx
        .update(organizationRoles)
        .set({ permissions, updatedAt: new Date() })
        .where(and(eq(organizationRoles.orgId, orgId), eq(organizationRoles.name, name)));
      const [row] = await tx
        .update(organizations)
        .set({ version: sql`${organizations.version} + 1` })
        .where(eq(organizations.id, orgId))
        .returning({ v: organizations.version });
      return row!.v;
    }),
  );
}

/** Deletes the organization; its trigger logs version + 1, which this returns for the test to publish. */
export async function deleteOrganization(orgId: string): Promise<number> {
  return inDb(async (db) => {
    const [row] = await db
      .delete(organizations)
      .where(eq(organizations.id, orgId))
      .returning({ v: organizations.version });
    return row!.v + 1;
  });
}

/** The session's active organization as stored. */
export async function activeOrgOf(sessionId: string): Promise<string | null> {
  return inDb(async (db) => {
    const [row] = await db.select({ orgId: sessions.activeOrgId }).from(sessions).where(eq(sessions.id, sessionId));
    return row!.orgId;
  });
}
