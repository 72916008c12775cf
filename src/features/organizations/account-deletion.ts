// What deleting an account does to its organizations (docs/organizations.md,
// "Limits and the last owner"): the last owner of an organization that has
// other members cannot go (409 last_owner: make another member an owner, or
// delete the organization, first); an organization whose only member goes
// goes with it. Run first inside the deletion's transaction, so the
// organizations' rows are locked before anything else is written, as every
// change to an organization locks it first.
import type { RequestOrigin } from "../../core/domain";
import { LastOwner } from "../../core/errors";
import type { Stores } from "../../stores";

/**
 * Inside the account deletion's transaction, before the user row goes: refuses (LastOwner) when the user is the last
 * owner of an organization with other members; deletes the organizations the user is the only member of
 * (org.deleted); records org.member_removed for the others (the membership goes with the user row). Answers the
 * deleted organizations with the version that stops their tokens at the edge.
 */
export async function releaseOrganizationsOf(
  tx: Pick<Stores, "organizations" | "audit">,
  userId: string,
  by: { actorId: string | null; sessionId?: string; origin: RequestOrigin; at: Date },
): Promise<{ orgId: string; version: number }[]> {
  const memberships = await tx.organizations.lockMembershipsOf(userId);
  const stranded = memberships.find((m) => m.owner && m.otherMembers > 0 && m.otherOwners === 0);
  if (stranded)
    throw new LastOwner(
      `The account is the last owner of "${stranded.slug}", which has other members: make another member an owner ` +
        "or delete the organization first.",
    );
  const deleted: { orgId: string; version: number }[] = [];
  for (const membership of memberships) {
    const alone = membership.otherMembers === 0;
    if (alone) {
      await tx.organizations.delete(membership.orgId);
      deleted.push({ orgId: membership.orgId, version: membership.version + 1 });
    }
    await tx.audit.record({
      event: alone ? "org.deleted" : "org.member_removed",
      userId,
      actorId: by.actorId,
      sessionId: by.sessionId ?? null,
      orgId: membership.orgId,
      origin: by.origin,
      metadata: { orgId: membership.orgId, reason: "account_deleted" },
      at: by.at,
    });
  }
  return deleted;
}
