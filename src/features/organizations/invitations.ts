// Invitations by email (docs/organizations.md): a link to
// APP_URL/accept-invitation?token=..., 7 days, single use, revocable. The
// token is 256 bits from the CSPRNG; only its SHA-256 is stored, and neither
// appears in an audit row or a log line. An invitation grants only roles the
// inviter could assign; an organization has at most MAX_PENDING_INVITATIONS
// pending. It is accepted only by a signed-in user whose verified email is
// the invited one; a refused acceptance spends nothing (it rolls back).
import type { Clock } from "../../core/clock";
import { base64url, sha256Hex } from "../../core/encoding";
import {
  EmailNotVerified,
  InsufficientPermission,
  InvalidOneTimeToken,
  InvalidToken,
  LimitReached,
  NotFound,
} from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { Config } from "../../core/config";
import type { Stores, UnitOfWork } from "../../stores";
import type { MailOutbox } from "../mail/store";
import { INVITATION_TTL_SECONDS, invitationLink } from "./invitation-link";
import { knownRoles, requireMayGrant, requireOrgPermission } from "./rules";
import { record, type OrgActor, type OrganizationService } from "./service";
import type { InvitationRecord, OrganizationRecord } from "./store";

export type InvitationDeps = {
  organizations: Pick<OrganizationService, "acting" | "read">;
  stores: Pick<Stores, "organizations">;
  unitOfWork: UnitOfWork;
  clock: Clock;
  settings: Pick<Config, "organizations"> & { mail: { appUrl: string } };
  outbox: MailOutbox;
};

export class InvitationService {
  constructor(private readonly deps: InvitationDeps) {}

  /**
   * Invites `email` with `roles` (members:invite; only roles the caller could assign), replacing a pending
   * invitation to the same address, and queues the mail with the link once committed.
   */
  async invite(
    actor: OrgActor,
    orgId: string,
    input: { email: string; roles: readonly string[] },
  ): Promise<InvitationRecord> {
    const { maxPendingInvitations, permissions: catalog } = this.deps.settings.organizations;
    const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const { invitation, org } = await this.deps.organizations.acting(
      actor,
      orgId,
      async ({ tx, access, caller, at }) => {
        requireOrgPermission(caller, "members:invite");
        const roles = knownRoles(input.roles, access);
        requireMayGrant(caller, roles, access, catalog);
        if ((await tx.organizations.countPendingInvitations(access.org.id, at)) >= maxPendingInvitations)
          throw new LimitReached("MAX_PENDING_INVITATIONS", maxPendingInvitations);
        const expiresAt = new Date(at.getTime() + INVITATION_TTL_SECONDS * 1000);
        const { id, replaced } = await tx.organizations.invite({
          orgId: access.org.id,
          email: input.email,
          roles,
          tokenHash: sha256Hex(token),
          invitedBy: actor.userId,
          expiresAt,
          at,
        });
        await record(tx, "org.invitation_sent", access.org.id, actor, at, { invitationId: id, roles, replaced });
        return { invitation: { id, orgId: access.org.id, email: input.email, roles, expiresAt }, org: access.org };
      },
    );
    await this.deps.outbox.enqueue({
      kind: "mail",
      template: "organization_invitation",
      to: invitation.email,
      orgName: org.name,
      link: invitationLink(this.deps.settings.mail.appUrl, token),
    });
    return invitation;
  }

  /** The organization's pending invitations (members:invite), oldest first. */
  async pending(userId: string, orgId: string): Promise<InvitationRecord[]> {
    const { access, caller } = await this.deps.organizations.read(userId, orgId);
    requireOrgPermission(caller, "members:invite");
    return this.deps.stores.organizations.pendingInvitations(access.org.id, this.deps.clock());
  }

  /** Revokes a pending invitation (members:invite): its link stops working. 404 when none is pending. */
  async revoke(actor: OrgActor, orgId: string, invitationId: string): Promise<void> {
    await this.deps.organizations.acting(actor, orgId, async ({ tx, access, caller, at }) => {
      requireOrgPermission(caller, "members:invite");
      if (!isUuid(invitationId)) throw new NotFound();
      if (!(await tx.organizations.revokeInvitation(access.org.id, invitationId.toLowerCase(), at)))
        throw new NotFound();
      await record(tx, "org.invitation_revoked", access.org.id, actor, at, {
        invitationId: invitationId.toLowerCase(),
      });
    });
  }

  /**
   * Accepts an invitation for the signed-in caller: a used, expired, revoked or unknown link is
   * invalid_one_time_token; an unverified caller email_not_verified; a caller whose email is not the invited one
   * insufficient_permission; a caller at MAX_ORGS_PER_USER limit_reached. Each refusal rolls back: the link stays
   * usable. A caller who is already a member keeps their roles; the link is spent.
   */
  async accept(actor: OrgActor, token: string): Promise<{ org: OrganizationRecord; roles: string[] }> {
    const { maxPerUser } = this.deps.settings.organizations;
    return this.deps.unitOfWork.run(async (tx) => {
      const at = this.deps.clock();
      const invitation = await tx.organizations.findPendingInvitation(sha256Hex(token), at);
      if (!invitation) throw new InvalidOneTimeToken(new Error("no pending invitation with this token"));
      const user = await tx.users.findById(actor.userId);
      if (user?.status !== "active") throw new InvalidToken({ cause: new Error("user gone or disabled") });
      if (!user.emailVerified) throw new EmailNotVerified("Verify your email address to join an organization.");
      if (user.email !== invitation.email)
        throw new InsufficientPermission({ detail: "This invitation was sent to another email address" });
      const orgId = invitation.org.id;
      const existing = await tx.organizations.member(orgId, actor.userId);
      let roles = existing?.roles;
      if (!roles) {
        if ((await tx.organizations.lockMembershipCount(actor.userId)) >= maxPerUser)
          throw new LimitReached("MAX_ORGS_PER_USER", maxPerUser);
        await tx.organizations.addMember(orgId, actor.userId, invitation.roles, at);
        roles = invitation.roles;
      }
      await tx.organizations.markInvitationAccepted(invitation.id, actor.userId, at);
      await record(tx, "org.invitation_accepted", orgId, actor, at, { invitationId: invitation.id });
      if (!existing)
        await record(tx, "org.member_added", orgId, actor, at, {
          roles,
          via: "invitation",
          invitationId: invitation.id,
        });
      return { org: invitation.org, roles };
    });
  }
}
