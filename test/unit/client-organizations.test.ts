// The client's organization methods against the real Worker: create, invite,
// accept (with the token the mail carries), members and roles, the audit log,
// revoking, leaving and deleting; a refusal rejects with the problem's code.
import { describe, expect, it } from "vitest";
import { AuthApiError, AuthClient } from "../../packages/client/src";
import { exports } from "cloudflare:workers";
import { BASE, db, STRONG_PASSWORD, uniqueEmail } from "../support/harness";
import { inbox, tokenIn } from "../support/mail";

const fetcher: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));

async function verifiedClient(): Promise<{ client: AuthClient; id: string; email: string }> {
  const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
  const email = uniqueEmail("client-org");
  const { user } = await client.register({ email, password: STRONG_PASSWORD });
  await db.markEmailVerified(user.id);
  return { client, id: user.id, email };
}

describe("AuthClient organizations", () => {
  it("creates, invites, accepts, manages members and roles, reads the audit log, leaves and deletes", async () => {
    const owner = await verifiedClient();
    const { org } = await owner.client.createOrganization({ name: "Client Co" });
    expect((await owner.client.listOrganizations()).orgs).toEqual([{ org, roles: ["owner"] }]);
    expect((await owner.client.getOrganization(org.id)).org).toEqual(org);
    expect((await owner.client.updateOrganization(org.id, { name: "Client Co 2" })).org.name).toBe("Client Co 2");
    expect(await owner.client.defineOrganizationRole(org.id, "writer", { permissions: ["projects:write"] })).toEqual({
      role: { name: "writer", permissions: ["projects:write"] },
    });

    const member = await verifiedClient();
    const { invitation } = await owner.client.createInvitation(org.id, { email: member.email, roles: ["member"] });
    expect((await owner.client.listInvitations(org.id)).invitations).toEqual([invitation]);
    const mail = await inbox.waitFor({ to: member.email, subject: "You are invited to join Client Co 2" });
    const accepted = await member.client.acceptInvitation({ token: tokenIn(mail, "/accept-invitation") });
    expect(accepted.roles).toEqual(["member"]);

    const page = await owner.client.listOrganizationMembers(org.id, { limit: 1 });
    expect(page.items.map((m) => m.user.id)).toEqual([owner.id]);
    const next = await owner.client.listOrganizationMembers(org.id, { cursor: page.nextCursor!, limit: 1 });
    expect(next.items.map((m) => m.user.id)).toEqual([member.id]);
    const { member: changed } = await owner.client.setOrganizationMemberRoles(org.id, member.id, {
      roles: ["member", "writer"],
    });
    expect(changed.roles).toEqual(["member", "writer"]);

    const events = await owner.client.listOrganizationAuditLogs(org.id, { event: "org.member_roles_changed" });
    expect(events.items.map((e) => e.event)).toEqual(["org.member_roles_changed"]);

    const again = await owner.client.createInvitation(org.id, { email: "later@example.com", roles: ["member"] });
    await owner.client.revokeInvitation(org.id, again.invitation.id);
    expect((await owner.client.listInvitations(org.id)).invitations).toEqual([]);

    // The member's token stopped at the role change: the client refreshes and goes on, and leaves.
    await member.client.removeOrganizationMember(org.id, member.id);
    expect((await member.client.listOrganizations()).orgs).toEqual([]);
    const refused = await member.client.getOrganization(org.id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AuthApiError);
    expect((refused as AuthApiError).code).toBe("not_found");

    await owner.client.deleteOrganizationRole(org.id, "writer");
    await owner.client.deleteOrganization(org.id);
    expect((await owner.client.listOrganizations()).orgs).toEqual([]);
  });
});
