// Organizations for HTTP tests: verified users (organizations need a verified
// email), an organization made through the API, and an invitation's token
// read from the mail that carries it, as the invited person would.
import { expect } from "vitest";
import type { components } from "../../packages/client/src/api";
import { db, type SignedInUser, type TestService } from "./harness";
import { inbox, type ReceivedMail, tokenIn } from "./mail";

export type ApiOrg = components["schemas"]["Organization"];

type Service = Pick<TestService, "call" | "signIn">;

/** A new account with its address verified, signed in. */
export async function verifiedUser(service: Service, name?: string): Promise<SignedInUser> {
  const user = await service.signIn(name === undefined ? {} : { name });
  await db.markEmailVerified(user.user.id);
  return user;
}

/** POST /orgs as `owner`, which must answer 201: the organization. */
export async function createOrg(service: Service, owner: SignedInUser, body: { name?: string; slug?: string } = {}) {
  const res = await service.call("POST", "/orgs", {
    token: owner.tokens.accessToken,
    body: { name: body.name ?? "Acme", ...(body.slug === undefined ? {} : { slug: body.slug }) },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { org: ApiOrg }).org;
}

/** Invites `email` with `roles` as `inviter` (must answer 201) and answers the token the mail carries. */
export async function inviteToken(
  service: Service,
  inviter: SignedInUser,
  orgId: string,
  email: string,
  roles: string[],
): Promise<{ id: string; token: string }> {
  const before = (await invitationMails(email)).length;
  const res = await service.call("POST", `/orgs/${orgId}/invitations`, {
    token: inviter.tokens.accessToken,
    body: { email, roles },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const { invitation } = (await res.json()) as { invitation: { id: string } };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const mails = await invitationMails(email);
    if (mails.length > before) return { id: invitation.id, token: tokenIn(mails.at(-1)!, "/accept-invitation") };
    if (Date.now() > deadline) throw new Error(`no invitation mail to ${email} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The invitation mails `email` received, oldest first. */
export async function invitationMails(email: string): Promise<ReceivedMail[]> {
  return (await inbox.all({ to: email })).filter((mail) => mail.subject.startsWith("You are invited to join "));
}

/** A member added by invitation and acceptance with `roles`: a verified user signed in. */
export async function addMember(
  service: Service,
  inviter: SignedInUser,
  orgId: string,
  roles: string[],
): Promise<SignedInUser> {
  const member = await verifiedUser(service);
  const { token } = await inviteToken(service, inviter, orgId, member.email, roles);
  const res = await service.call("POST", "/invitations/accept", { token: member.tokens.accessToken, body: { token } });
  expect(res.status, await res.clone().text()).toBe(200);
  return member;
}

/** The member's roles as the database has them, or null when not a member. */
export async function rolesIn(orgId: string, userId: string): Promise<string[] | null> {
  const [row] = await db.query<{ roles: string[] }>(
    "select roles from organization_members where org_id = $1 and user_id = $2",
    [orgId, userId],
  );
  return row ? row.roles : null;
}

/** users.grants_version now. */
export async function grantsVersion(userId: string): Promise<number> {
  const [row] = await db.query<{ grants_version: number }>("select grants_version from users where id = $1", [userId]);
  return Number(row!.grants_version);
}
