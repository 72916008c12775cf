// Invitations under attack (docs/organizations.md, "Invitations"): a link is
// accepted once, by the signed-in user whose verified email is the invited
// one, within 7 days, unless revoked; a refused acceptance spends nothing;
// caps on pending invitations and memberships hold. Only the token's hash is
// stored, and no audit row holds either.
import { describe, expect, it } from "vitest";
import { call, db, fakeClock, problemOf, refreshTokenHash, signIn, testService } from "../support/harness";
import { inbox, linkIn } from "../support/mail";
import { addMember, createOrg, invitationMails, inviteToken, rolesIn, verifiedUser } from "../support/organizations";
import { TEST_SECRETS } from "../setup/secrets";

const service = testService();

const accept = (accessToken: string, token: string) =>
  call("POST", "/invitations/accept", { token: accessToken, body: { token } });

describe("an invitation", () => {
  it("mails APP_URL/accept-invitation?token=... and stores only the token's SHA-256, never in an audit row", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner, { name: "Hooli" });
    const invited = await verifiedUser(service);
    const { id, token } = await inviteToken(service, owner, org.id, invited.email, ["member"]);
    const [mail] = await invitationMails(invited.email);
    expect(mail!.subject).toBe("You are invited to join Hooli");
    expect(linkIn(mail!, "/accept-invitation")).toBe(`${TEST_SECRETS.APP_URL}/accept-invitation?token=${token}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const [row] = await db.query<{ token_hash: string; expires_at: Date; created_at: Date }>(
      "select token_hash, expires_at, created_at from organization_invitations where id = $1",
      [id],
    );
    expect(row!.token_hash).toBe(await refreshTokenHash(token));
    expect(new Date(row!.expires_at).getTime() - new Date(row!.created_at).getTime()).toBe(7 * 24 * 3600 * 1000);

    const res = await accept(invited.tokens.accessToken, token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ org, roles: ["member"] });
    const audit = await db.query<{ event: string; metadata: unknown }>(
      "select event, metadata from audit_logs where org_id = $1 order by created_at, id",
      [org.id],
    );
    // Rows of one transaction share their instant: compared as a set.
    expect(audit.map((a) => a.event).sort()).toEqual([
      "org.created",
      "org.invitation_accepted",
      "org.invitation_sent",
      "org.member_added",
      "org.member_added",
    ]);
    const text = JSON.stringify(audit);
    expect(text).not.toContain(token);
    expect(text).not.toContain(row!.token_hash);
  });

  it("accepted by another account's email is refused (403) and not spent: the invited user can still accept", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const invited = await verifiedUser(service);
    const other = await verifiedUser(service);
    const { token } = await inviteToken(service, owner, org.id, invited.email, ["admin"]);

    const stolen = await accept(other.tokens.accessToken, token);
    expect(stolen.status).toBe(403);
    expect((await problemOf(stolen)).code).toBe("insufficient_permission");
    expect(await rolesIn(org.id, other.user.id)).toBeNull();

    const res = await accept(invited.tokens.accessToken, token);
    expect(res.status).toBe(200);
    expect(await rolesIn(org.id, invited.user.id)).toEqual(["admin"]);
  });

  it("accepted by the invited address before it is verified is refused (403 email_not_verified) and not spent", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const invited = await signIn();
    const { token } = await inviteToken(service, owner, org.id, invited.email, ["member"]);
    const res = await accept(invited.tokens.accessToken, token);
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("email_not_verified");
    await db.markEmailVerified(invited.user.id);
    expect((await accept(invited.tokens.accessToken, token)).status).toBe(200);
  });

  it("accepted twice is refused the second time (400 invalid_one_time_token)", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const invited = await verifiedUser(service);
    const { token } = await inviteToken(service, owner, org.id, invited.email, ["member"]);
    expect((await accept(invited.tokens.accessToken, token)).status).toBe(200);
    // Leaving and coming back with the same link does not work either.
    await call("DELETE", `/orgs/${org.id}/members/${invited.user.id}`, { token: owner.tokens.accessToken });
    // The removal stopped the invited user's older tokens: a new sign-in.
    const fresh = await service.login(invited.email, invited.password);
    const again = await accept(fresh.tokens.accessToken, token);
    expect(again.status).toBe(400);
    expect((await problemOf(again)).code).toBe("invalid_one_time_token");
    expect(await rolesIn(org.id, invited.user.id)).toBeNull();
  });

  it("revoked is refused (400 invalid_one_time_token) and leaves the pending list", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const invited = await verifiedUser(service);
    const { id, token } = await inviteToken(service, owner, org.id, invited.email, ["member"]);
    const listed = await call("GET", `/orgs/${org.id}/invitations`, { token: owner.tokens.accessToken });
    expect(((await listed.json()) as { invitations: { id: string }[] }).invitations.map((i) => i.id)).toEqual([id]);

    const revoke = await call("DELETE", `/orgs/${org.id}/invitations/${id}`, { token: owner.tokens.accessToken });
    expect(revoke.status).toBe(204);
    const res = await accept(invited.tokens.accessToken, token);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("invalid_one_time_token");
    const after = await call("GET", `/orgs/${org.id}/invitations`, { token: owner.tokens.accessToken });
    expect(await after.json()).toEqual({ invitations: [] });
    expect(
      (await call("DELETE", `/orgs/${org.id}/invitations/${id}`, { token: owner.tokens.accessToken })).status,
    ).toBe(404);
  });

  it("expired (after 7 days) is refused (400 invalid_one_time_token)", async () => {
    const time = fakeClock();
    const timed = testService({ clock: time.clock });
    const owner = await verifiedUser(timed);
    const org = await createOrg(timed, owner);
    const invited = await verifiedUser(timed);
    const { token } = await inviteToken(timed, owner, org.id, invited.email, ["member"]);
    time.advance(7 * 24 * 3600 + 1);
    const fresh = await timed.login(invited.email, invited.password);
    const res = await timed.call("POST", "/invitations/accept", {
      token: fresh.tokens.accessToken,
      body: { token },
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("invalid_one_time_token");
    expect(await rolesIn(org.id, invited.user.id)).toBeNull();
  });

  it("with a made-up token is refused (400 invalid_one_time_token)", async () => {
    const user = await verifiedUser(service);
    const res = await accept(user.tokens.accessToken, "x".repeat(43));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("invalid_one_time_token");
  });

  it("to the same address again replaces the pending one: the older link stops", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const invited = await verifiedUser(service);
    const first = await inviteToken(service, owner, org.id, invited.email, ["member"]);
    const second = await inviteToken(service, owner, org.id, invited.email, ["admin"]);
    expect((await accept(invited.tokens.accessToken, first.token)).status).toBe(400);
    expect((await accept(invited.tokens.accessToken, second.token)).status).toBe(200);
    expect(await rolesIn(org.id, invited.user.id)).toEqual(["admin"]);
  });

  it("of a deleted organization ends with it", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const invited = await verifiedUser(service);
    const { token } = await inviteToken(service, owner, org.id, invited.email, ["member"]);
    expect((await call("DELETE", `/orgs/${org.id}`, { token: owner.tokens.accessToken })).status).toBe(204);
    expect(await db.query("select id from organization_invitations where org_id = $1", [org.id])).toEqual([]);
    expect((await accept(invited.tokens.accessToken, token)).status).toBe(400);
  });
});

describe("caps", () => {
  it("refuses an invitation past MAX_PENDING_INVITATIONS (409 limit_reached naming it)", async () => {
    const capped = testService({ env: { MAX_PENDING_INVITATIONS: "2" } });
    const owner = await verifiedUser(capped);
    const org = await createOrg(capped, owner);
    const invite = (email: string) =>
      capped.call("POST", `/orgs/${org.id}/invitations`, {
        token: owner.tokens.accessToken,
        body: { email, roles: ["member"] },
      });
    expect((await invite("one@example.com")).status).toBe(201);
    expect((await invite("two@example.com")).status).toBe(201);
    const third = await invite("three@example.com");
    expect(third.status).toBe(409);
    const problem = await problemOf(third);
    expect(problem.code).toBe("limit_reached");
    expect(problem.detail).toContain("MAX_PENDING_INVITATIONS");
    await inbox.none({ to: "three@example.com" }, { forMs: 300 });
  });

  it("refuses a membership past MAX_ORGS_PER_USER, on creation and on acceptance, without spending the link", async () => {
    const capped = testService({ env: { MAX_ORGS_PER_USER: "1" } });
    const user = await verifiedUser(capped);
    await createOrg(capped, user, { name: "Mine" });
    const second = await capped.call("POST", "/orgs", { token: user.tokens.accessToken, body: { name: "Second" } });
    expect(second.status).toBe(409);
    expect((await problemOf(second)).detail).toContain("MAX_ORGS_PER_USER");

    const owner = await verifiedUser(capped);
    const org = await createOrg(capped, owner, { name: "Theirs" });
    const { token } = await inviteToken(capped, owner, org.id, user.email, ["member"]);
    const refused = await capped.call("POST", "/invitations/accept", {
      token: user.tokens.accessToken,
      body: { token },
    });
    expect(refused.status).toBe(409);
    expect((await problemOf(refused)).code).toBe("limit_reached");
    expect(await rolesIn(org.id, user.user.id)).toBeNull();
    const [row] = await db.query<{ accepted_at: Date | null }>(
      "select accepted_at from organization_invitations where org_id = $1",
      [org.id],
    );
    expect(row!.accepted_at).toBeNull();
  });

  it("needs a verified email to create an organization (403 email_not_verified)", async () => {
    const user = await signIn();
    const res = await call("POST", "/orgs", { token: user.tokens.accessToken, body: { name: "Nope" } });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("email_not_verified");
    expect(await db.query("select org_id from organization_members where user_id = $1", [user.user.id])).toEqual([]);
  });
});

describe("members listing", () => {
  it("pages members oldest first with an opaque cursor", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner);
    const a = await addMember(service, owner, org.id, ["member"]);
    const b = await addMember(service, owner, org.id, ["admin"]);
    const page = async (cursor?: string) => {
      const res = await call("GET", `/orgs/${org.id}/members?limit=2${cursor ? `&cursor=${cursor}` : ""}`, {
        token: a.tokens.accessToken,
      });
      expect(res.status).toBe(200);
      return (await res.json()) as {
        items: { user: { id: string; email: string }; roles: string[] }[];
        nextCursor: string | null;
      };
    };
    const first = await page();
    expect(first.items.map((m) => [m.user.id, m.roles])).toEqual([
      [owner.user.id, ["owner"]],
      [a.user.id, ["member"]],
    ]);
    expect(first.items[0]!.user.email).toBe(owner.email);
    const second = await page(first.nextCursor!);
    expect(second.items.map((m) => m.user.id)).toEqual([b.user.id]);
    expect(second.nextCursor).toBeNull();
    const forged = await call("GET", `/orgs/${org.id}/members?cursor=nonsense`, { token: a.tokens.accessToken });
    expect(forged.status).toBe(400);
  });
});
