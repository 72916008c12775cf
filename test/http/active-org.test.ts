// The active organization on the real stack (docs/organizations.md, "Acting in
// an organization"): POST /auth/org switches a session into one of its user's
// organizations and answers an access token with the `org` claim; refreshes and
// re-authentication keep it while the user is a member; a removal, a role
// redefinition or the organization's deletion stops older tokens at the edge
// at once and the next refresh carries the new claim (or none). Organizations
// are arranged directly in the database (test/support/organization-fixtures.ts).
import { describe, expect, it } from "vitest";
import {
  call,
  claimsOf,
  db,
  login,
  problemOf,
  refreshOk,
  register,
  revocations,
  type SignedInUser,
} from "../support/harness";
import {
  activeOrgOf,
  addMember,
  createOrganization,
  deleteOrganization,
  redefineRole,
  removeMember,
} from "../support/organization-fixtures";

const APP = "https://app.example.com";
const EVIL = "https://evil.example.net";

type Switched = { tokens: { accessToken: string; expiresIn: number; refreshExpiresIn: number; sessionId: string } };

const switchOrg = (token: string, orgId: string | null, headers: Record<string, string> = {}) =>
  call("POST", "/auth/org", { token, body: { orgId }, headers });

async function switched(account: SignedInUser, orgId: string | null): Promise<Switched["tokens"]> {
  const res = await switchOrg(account.tokens.accessToken, orgId);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as Switched).tokens;
}

/** A user and an organization in which they hold `roles`, with a custom role `developer` (projects:write). */
async function memberOf(roles: string[] = ["developer"]) {
  const account = await register();
  const org = await createOrganization({
    members: { [account.user.id]: roles },
    customRoles: { developer: ["projects:read", "projects:write"] },
  });
  return { account, org };
}

const verify = (token: string, query = "") => call("GET", `/auth/verify${query}`, { token });

describe("POST /auth/org", () => {
  it(
    "answers 200 {tokens} for the same session whose access token carries org {id, slug, roles, permissions} " +
      "and the private ov; the refresh token is not in the answer",
    async () => {
      const { account, org } = await memberOf(["developer", "member"]);
      const tokens = await switched(account, org.id);
      expect(tokens.sessionId).toBe(account.tokens.sessionId);
      expect(tokens).not.toHaveProperty("refreshToken");
      expect(tokens.expiresIn).toBe(account.tokens.expiresIn);
      const claims = claimsOf(tokens.accessToken);
      expect(claims.org).toEqual({
        id: org.id,
        slug: org.slug,
        roles: ["developer", "member"],
        permissions: ["members:read", "org:read", "projects:read", "projects:write"],
      });
      expect(claims.ov).toBe(0);
      expect(claims.sid).toBe(account.tokens.sessionId);
      // Global grants unchanged: an organization adds nothing to them.
      expect(claims.permissions).toEqual(claimsOf(account.tokens.accessToken).permissions);
      expect(await activeOrgOf(account.tokens.sessionId)).toBe(org.id);
      expect((await verify(tokens.accessToken)).status).toBe(200);
    },
  );

  it("accepts the organization's id in any case, as every id", async () => {
    const { account, org } = await memberOf();
    const tokens = await switched(account, org.id.toUpperCase());
    expect(claimsOf(tokens.accessToken).org).toMatchObject({ id: org.id });
  });

  it("writes auth.org_switched with orgId in its metadata and in audit_logs.org_id", async () => {
    const { account, org } = await memberOf();
    await switched(account, org.id);
    const rows = await db.query<{ org_id: string | null; metadata: Record<string, unknown>; session_id: string }>(
      "select org_id, metadata, session_id from audit_logs where user_id = $1 and event = 'auth.org_switched'",
      [account.user.id],
    );
    expect(rows).toEqual([{ org_id: org.id, metadata: { orgId: org.id }, session_id: account.tokens.sessionId }]);
  });

  it(
    "a stranger probing an organization they do not belong to gets the same 404 as for no organization, " +
      "and nothing is written",
    async () => {
      const { org } = await memberOf(["owner"]);
      const stranger = await register();
      const answers = [];
      for (const orgId of [org.id, crypto.randomUUID(), "not-a-uuid"]) {
        const res = await switchOrg(stranger.tokens.accessToken, orgId);
        expect(res.status).toBe(404);
        const { type, title, status, code, detail } = await problemOf(res);
        answers.push({ type, title, status, code, detail });
      }
      expect(answers[0]!.code).toBe("not_found");
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
      expect(await activeOrgOf(stranger.tokens.sessionId)).toBeNull();
      expect(await db.auditRows({ userId: stranger.user.id, event: "auth.org_switched" })).toEqual([]);
    },
  );

  it("{orgId: null} clears the organization: no org claim, now and after a refresh", async () => {
    const { account, org } = await memberOf();
    await switched(account, org.id);
    const cleared = await switched(account, null);
    expect(claimsOf(cleared.accessToken)).not.toHaveProperty("org");
    expect(claimsOf(cleared.accessToken)).not.toHaveProperty("ov");
    expect(await activeOrgOf(account.tokens.sessionId)).toBeNull();
    const refreshed = await refreshOk(account.tokens.refreshToken);
    expect(claimsOf(refreshed.accessToken)).not.toHaveProperty("org");
  });

  it("refuses a body without orgId, or with one that is not a string or null (400)", async () => {
    const account = await register();
    for (const body of [{}, { orgId: 42 }, { orgId: ["x"] }]) {
      const res = await call("POST", "/auth/org", { token: account.tokens.accessToken, body });
      expect(res.status).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
  });

  it("needs an access token (401) holding profile:read (403)", async () => {
    const { org } = await memberOf();
    const res = await call("POST", "/auth/org", { body: { orgId: org.id } });
    expect(res.status).toBe(401);
    const noProfile = await register();
    await db.query("delete from user_roles where user_id = $1", [noProfile.user.id]);
    const { tokens } = await login(noProfile.email, noProfile.password);
    const denied = await switchOrg(tokens.accessToken, org.id);
    expect(denied.status).toBe(403);
    expect((await problemOf(denied)).code).toBe("insufficient_permission");
  });

  it("a session that ended after its token was issued cannot switch (401)", async () => {
    const { account, org } = await memberOf();
    await db.query("update sessions set revoked_at = now() where id = $1", [account.tokens.sessionId]);
    const res = await switchOrg(account.tokens.accessToken, org.id);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_token");
  });

  it("needs membership only, not a verified email", async () => {
    const { account, org } = await memberOf();
    expect(account.user.emailVerified).toBe(false);
    await switched(account, org.id);
  });
});

describe("the org claim over the session's life", () => {
  it("is kept across refreshes and re-authentication, with the same roles and permissions", async () => {
    const { account, org } = await memberOf(["developer"]);
    const first = claimsOf((await switched(account, org.id)).accessToken).org;
    const refreshed = await refreshOk(account.tokens.refreshToken);
    expect(claimsOf(refreshed.accessToken).org).toEqual(first);
    expect(claimsOf(refreshed.accessToken).ov).toBe(0);
    const again = await refreshOk(refreshed.refreshToken);
    expect(claimsOf(again.accessToken).org).toEqual(first);

    const reauth = await call("POST", "/auth/reauthenticate", {
      token: again.accessToken,
      body: { currentPassword: account.password },
    });
    expect(reauth.status).toBe(200);
    const { tokens } = (await reauth.json()) as Switched;
    expect(claimsOf(tokens.accessToken).org).toEqual(first);
  });

  it("the grace answer of a lost refresh carries the claim too", async () => {
    const { account, org } = await memberOf();
    await switched(account, org.id);
    const first = await refreshOk(account.tokens.refreshToken);
    const retried = await refreshOk(account.tokens.refreshToken);
    expect(retried.refreshToken).toBe(first.refreshToken);
    expect(claimsOf(retried.accessToken).org).toEqual(claimsOf(first.accessToken).org);
  });

  it("a new sign-in opens a session without an active organization", async () => {
    const { account, org } = await memberOf();
    await switched(account, org.id);
    const { tokens } = await login(account.email, account.password);
    expect(claimsOf(tokens.accessToken)).not.toHaveProperty("org");
    expect(await activeOrgOf(tokens.sessionId)).toBeNull();
  });

  it(
    "two organizations, one user in different roles: each switch answers that organization's claim, " +
      "and projects:write counts only in the organization that grants it",
    async () => {
      const account = await register();
      const a = await createOrganization({
        members: { [account.user.id]: ["developer"] },
        customRoles: { developer: ["projects:write"] },
      });
      const b = await createOrganization({
        members: { [account.user.id]: ["member"] },
        customRoles: { developer: ["projects:write"] },
      });
      const inA = await switched(account, a.id);
      expect(claimsOf(inA.accessToken).org).toEqual({
        id: a.id,
        slug: a.slug,
        roles: ["developer"],
        permissions: ["projects:write"],
      });
      const inB = await switched(account, b.id);
      expect(claimsOf(inB.accessToken).org).toEqual({
        id: b.id,
        slug: b.slug,
        roles: ["member"],
        permissions: ["members:read", "org:read"],
      });
      expect((await verify(inA.accessToken, `?permission=projects:write&org=${a.id}`)).status).toBe(200);
      expect((await verify(inB.accessToken, `?permission=projects:write&org=${b.id}`)).status).toBe(403);
      // A's token cannot be pointed at B, nor B's at A.
      expect((await verify(inA.accessToken, `?permission=projects:write&org=${b.id}`)).status).toBe(403);
      expect((await verify(inB.accessToken, `?permission=projects:write&org=${a.id}`)).status).toBe(403);
    },
  );
});

describe("changes stop older tokens at the edge at once", () => {
  it(
    "a removed member's token is refused at /auth/verify at once, and the next refresh carries no org " +
      "(and forgets the session's organization)",
    async () => {
      const { account, org } = await memberOf();
      const inOrg = await switched(account, org.id);
      expect((await verify(inOrg.accessToken, `?permission=projects:write&org=${org.id}`)).status).toBe(200);

      const version = await removeMember(org.id, account.user.id);
      await revocations().publish([{ kind: "user", subject: account.user.id, version }]);

      const stale = await verify(inOrg.accessToken, `?permission=projects:write&org=${org.id}`);
      expect(stale.status).toBe(401);
      expect((await verify(inOrg.accessToken)).status).toBe(401);

      const refreshed = await refreshOk(account.tokens.refreshToken);
      expect(claimsOf(refreshed.accessToken)).not.toHaveProperty("org");
      expect(await activeOrgOf(account.tokens.sessionId)).toBeNull();
      expect((await verify(refreshed.accessToken, `?permission=projects:write&org=${org.id}`)).status).toBe(403);
      // Added back later, the session does not silently act in it again.
      await addMember(org.id, account.user.id);
      const later = await refreshOk(refreshed.refreshToken);
      expect(claimsOf(later.accessToken)).not.toHaveProperty("org");
    },
  );

  it(
    "a role redefinition (the organization's version raised) refuses every older token naming it at once; " +
      "the next refresh carries the new permissions and ov",
    async () => {
      const { account, org } = await memberOf(["developer"]);
      const other = await register();
      await addMember(org.id, other.user.id, ["developer"]);
      const mine = await switched(account, org.id);
      const theirs = await switched(other, org.id);

      const version = await redefineRole(org.id, "developer", ["projects:read"]);
      await revocations().publish([{ kind: "org", subject: org.id, version }]);

      expect((await verify(mine.accessToken)).status).toBe(401);
      expect((await verify(theirs.accessToken)).status).toBe(401);
      // The user's other tokens, naming no organization, still pass.
      expect((await verify(account.tokens.accessToken)).status).toBe(200);

      const refreshed = await refreshOk(account.tokens.refreshToken);
      expect(claimsOf(refreshed.accessToken).org).toMatchObject({
        roles: ["developer"],
        permissions: ["projects:read"],
      });
      expect(claimsOf(refreshed.accessToken).ov).toBe(version);
      expect((await verify(refreshed.accessToken, `?permission=projects:write&org=${org.id}`)).status).toBe(403);
      expect((await verify(refreshed.accessToken, `?permission=projects:read&org=${org.id}`)).status).toBe(200);
    },
  );

  it("the organization's deletion refuses tokens naming it at once; the next refresh has no org claim", async () => {
    const { account, org } = await memberOf(["owner"]);
    const inOrg = await switched(account, org.id);
    const version = await deleteOrganization(org.id);
    // The trigger logged the entry the organization service publishes after its commit.
    const [logged] = await db.query<{ version: number }>(
      "select version from revocation_log where kind = 'org' and subject = $1 order by seq desc limit 1",
      [org.id],
    );
    expect(Number(logged!.version)).toBe(version);
    await revocations().publish([{ kind: "org", subject: org.id, version }]);

    expect((await verify(inOrg.accessToken)).status).toBe(401);
    const refreshed = await refreshOk(account.tokens.refreshToken);
    expect(claimsOf(refreshed.accessToken)).not.toHaveProperty("org");
    expect(await activeOrgOf(account.tokens.sessionId)).toBeNull();
  });
});

describe("cookie mode", () => {
  const cookieModeHeaders = { "X-Auth-Mode": "cookie", Origin: APP };

  it("the switch resets __Host-sa_at to the new access token and never sets the refresh cookie", async () => {
    const { account, org } = await memberOf();
    const res = await call("POST", "/auth/org", {
      body: { orgId: org.id },
      headers: { ...cookieModeHeaders, Cookie: `__Host-sa_at=${account.tokens.accessToken}` },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { tokens } = (await res.json()) as Switched;
    const cookies = res.headers.getSetCookie();
    const access = cookies.find((line) => line.startsWith("__Host-sa_at="));
    expect(access).toBeDefined();
    expect(access).toContain(`__Host-sa_at=${tokens.accessToken};`);
    expect(access).toMatch(/HttpOnly/);
    expect(access).toMatch(/SameSite=Lax/);
    expect(cookies.some((line) => line.startsWith("__Host-sa_rt="))).toBe(false);
    expect(claimsOf(tokens.accessToken).org).toMatchObject({ id: org.id });
  });

  it("a cross-site form posting the victim's access cookie to switch their organization is refused (403)", async () => {
    const { account, org } = await memberOf();
    for (const headers of <Record<string, string>[]>[
      { Cookie: `__Host-sa_at=${account.tokens.accessToken}` },
      { Cookie: `__Host-sa_at=${account.tokens.accessToken}`, "X-Auth-Mode": "cookie", Origin: EVIL },
    ]) {
      const res = await call("POST", "/auth/org", { body: { orgId: org.id }, headers });
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe("csrf_rejected");
    }
    expect(await activeOrgOf(account.tokens.sessionId)).toBeNull();
  });
});

describe("the refresh with an active organization", () => {
  it("is still one SQL statement (pg_stat_statements)", async () => {
    const { account, org } = await memberOf(["developer"]);
    await switched(account, org.id);
    await db.resetStatementStats();
    const refreshed = await refreshOk(account.tokens.refreshToken);
    expect(claimsOf(refreshed.accessToken).org).toMatchObject({ id: org.id });
    const statements = await db.query<{ query: string; calls: string }>(
      `select query, calls::text as calls from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database()) and toplevel
          and query not ilike '%pg_stat_statements%'
          and (query ilike '%refresh_tokens%' or query ilike '%sessions%' or query ilike '%organization%')`,
    );
    expect(statements.map((s) => s.calls)).toEqual(["1"]);
    expect(statements[0]!.query).toMatch(/organization_members/);
    expect(statements[0]!.query).toMatch(/organization_roles/);
  });
});
