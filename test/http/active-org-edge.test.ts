// The active organization at the edge (docs/organizations.md, "Acting in an
// organization"): what GET /auth/verify (forward auth) and the AuthService RPC
// make of a token's `org` claim. Organization permissions never satisfy a
// global check: they count only where the check names the organization and it
// is the token's active one. The claim is narrowed strictly, and an `org` entry
// of the revocation feed refuses tokens carrying an older `ov`.
import { describe, expect, it } from "vitest";
import type { ActiveMembership } from "../../src/core/active-organization";
import type { AccessTokenSubject } from "../../src/features/tokens/types";
import {
  authService as auth,
  call,
  claimsOf,
  issueAccessToken,
  mintAccessToken,
  problemOf,
  revocations,
} from "../support/harness";

const APP = "https://app.example.com";

/** A membership as the issuing statement reads it: `developer` grants the application's projects:write. */
function membership(overrides: Partial<ActiveMembership> = {}): ActiveMembership {
  return {
    orgId: crypto.randomUUID(),
    slug: `acme-${crypto.randomUUID().slice(0, 8)}`,
    version: 0,
    roles: ["developer", "member"],
    customRoles: { developer: ["projects:write"] },
    ...overrides,
  };
}

const issue = (subject: Partial<AccessTokenSubject> = {}) =>
  issueAccessToken({ roles: ["user"], permissions: ["profile:read", "sessions:read"], ...subject });

const verify = (token: string, query = "", headers: Record<string, string> = {}) =>
  call("GET", `/auth/verify${query}`, { token, headers });

describe("GET /auth/verify with an active organization", () => {
  it(
    "adds X-Auth-Org-Id, X-Auth-Org-Roles and X-Auth-Org-Permissions (comma-separated, no spaces); " +
      "X-Auth-Permissions stays global only; the body's claims carry org",
    async () => {
      const org = membership();
      const { accessToken } = await issue({ org });
      const res = await verify(accessToken);
      expect(res.status).toBe(200);
      expect(res.headers.get("X-Auth-Org-Id")).toBe(org.orgId);
      expect(res.headers.get("X-Auth-Org-Roles")).toBe("developer,member");
      expect(res.headers.get("X-Auth-Org-Permissions")).toBe("members:read,org:read,projects:write");
      expect(res.headers.get("X-Auth-Permissions")).toBe("profile:read,sessions:read");
      expect(res.headers.get("X-Auth-Roles")).toBe("user");
      const { claims } = (await res.json()) as { claims: Record<string, unknown> };
      expect(claims.org).toEqual({
        id: org.orgId,
        slug: org.slug,
        roles: ["developer", "member"],
        permissions: ["members:read", "org:read", "projects:write"],
      });
      // The private versions are not among the claims the contract defines.
      expect(claims).not.toHaveProperty("ov");
      expect(claims).not.toHaveProperty("gv");
    },
  );

  it("sends no X-Auth-Org-* header for a token without an active organization", async () => {
    const { accessToken } = await issue();
    const res = await verify(accessToken);
    expect(res.status).toBe(200);
    for (const name of ["X-Auth-Org-Id", "X-Auth-Org-Roles", "X-Auth-Org-Permissions"])
      expect(res.headers.get(name)).toBeNull();
    expect(((await res.json()) as { claims: object }).claims).not.toHaveProperty("org");
  });

  it("an organization permission never satisfies a global check: projects:write without ?org= is 403", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    const global = await verify(accessToken, "?permission=projects:write");
    expect(global.status).toBe(403);
    expect((await problemOf(global)).code).toBe("insufficient_permission");
    // Nor does an organization role count as a global one, nor its built-in permissions.
    expect((await verify(accessToken, "?permission=org:read")).status).toBe(403);
    expect((await verify(accessToken, `?permission=projects:write&org=${org.orgId}`)).status).toBe(200);
  });

  it("?org= naming another organization than the token's active one is 403, whatever the permission", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    for (const query of [
      `?permission=projects:write&org=${crypto.randomUUID()}`,
      `?permission=profile:read&org=${crypto.randomUUID()}`,
      `?org=${crypto.randomUUID()}`,
      "?org=not-an-id",
    ]) {
      const res = await verify(accessToken, query);
      expect(res.status, query).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
    }
    // A token with no active organization passes no ?org= check, even for a permission it holds globally.
    const { accessToken: none } = await issue();
    expect((await verify(none, `?permission=profile:read&org=${org.orgId}`)).status).toBe(403);
  });

  it("?org= naming the active organization counts global and organization permissions", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    expect((await verify(accessToken, `?org=${org.orgId}`)).status).toBe(200);
    expect((await verify(accessToken, `?permission=profile:read&org=${org.orgId}`)).status).toBe(200);
    expect((await verify(accessToken, `?permission=org:read&org=${org.orgId.toUpperCase()}`)).status).toBe(200);
    expect((await verify(accessToken, `?permission=org:delete&org=${org.orgId}`)).status).toBe(403);
  });

  it("refuses a repeated or empty org parameter (400)", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    for (const query of [`?org=${org.orgId}&org=${org.orgId}`, "?org="]) {
      const res = await verify(accessToken, query);
      expect(res.status, query).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
  });

  it("forward auth through the access cookie honours ?org= and sets the org headers", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    const cookie = { Cookie: `__Host-sa_at=${accessToken}`, "X-Forwarded-Method": "GET", Origin: APP };
    const res = await call("GET", `/auth/verify?permission=projects:write&org=${org.orgId}`, { headers: cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Auth-Org-Id")).toBe(org.orgId);
    const other = await call("GET", `/auth/verify?permission=projects:write&org=${crypto.randomUUID()}`, {
      headers: cookie,
    });
    expect(other.status).toBe(403);
  });

  it("an org entry of the feed refuses that organization's tokens of an older ov at once, only those", async () => {
    const org = membership({ version: 3 });
    const older = await issue({ org });
    const current = await issue({ org: { ...org, version: 4 } });
    const elsewhere = await issue({ org: membership() });
    await revocations().publish([{ kind: "org", subject: org.orgId, version: 4 }]);
    expect((await verify(older.accessToken)).status).toBe(401);
    expect(await auth.verify(older.accessToken)).toEqual({ ok: false, code: "invalid_token" });
    expect((await verify(current.accessToken)).status).toBe(200);
    expect((await verify(elsewhere.accessToken)).status).toBe(200);
  });
});

describe("a token whose org claim is malformed is invalid", () => {
  const id = "4f9e2a0c-7b1d-4c3e-9f5a-6b7c8d9e0f1a";
  const good = { id, slug: "acme", roles: ["member"], permissions: ["org:read"] };

  it.each([
    ["an org without ov", { org: good }],
    ["ov without org", { ov: 0 }],
    ["ov that is not a whole number", { org: good, ov: "1" }],
    ["a negative ov", { org: good, ov: -1 }],
    ["org as a string", { org: id, ov: 0 }],
    ["org as an array", { org: [good], ov: 0 }],
    ["org as null", { org: null, ov: 0 }],
    ["an org id that is no UUID", { org: { ...good, id: "acme" }, ov: 0 }],
    ["an empty slug", { org: { ...good, slug: "" }, ov: 0 }],
    ["roles that are not strings", { org: { ...good, roles: [1] }, ov: 0 }],
    ["permissions missing", { org: { id, slug: "acme", roles: [] }, ov: 0 }],
    ["a member of its own", { org: { ...good, admin: true }, ov: 0 }],
  ])("refuses %s (401 at /auth/verify, invalid_token over RPC)", async (_label, claims) => {
    const token = await mintAccessToken(claims);
    const res = await verify(token);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_token");
    expect(await auth.authorize(token, "profile:read")).toEqual({ ok: false, code: "invalid_token" });
  });

  it("accepts the well-formed claim (the control)", async () => {
    const token = await mintAccessToken({ org: good, ov: 0 });
    const res = await verify(token, `?permission=org:read&org=${id}`);
    expect(res.status).toBe(200);
    expect(claimsOf(token).org).toEqual(good);
  });
});

describe("AuthService.authorize with { org }", () => {
  it("an organization permission never satisfies a global check over RPC either", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    expect(await auth.authorize(accessToken, "projects:write")).toEqual({ ok: false, code: "insufficient_permission" });
    expect(await auth.authorize(accessToken, "projects:write", {})).toEqual({
      ok: false,
      code: "insufficient_permission",
    });
  });

  it("counts the permission held in the token's active organization, or globally; verify returns org", async () => {
    const org = membership();
    const { accessToken, claims } = await issue({ org });
    expect(await auth.authorize(accessToken, "projects:write", { org: org.orgId })).toEqual({ ok: true, claims });
    expect(await auth.authorize(accessToken, "profile:read", { org: org.orgId })).toEqual({ ok: true, claims });
    expect(await auth.authorize(accessToken, "org:delete", { org: org.orgId })).toEqual({
      ok: false,
      code: "insufficient_permission",
    });
    const verified = await auth.verify(accessToken);
    expect(verified).toEqual({ ok: true, claims });
    expect(verified.ok && verified.claims.org?.id).toBe(org.orgId);
  });

  it("answers insufficient_permission when { org } is not the token's active organization", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    for (const other of [crypto.randomUUID(), "", "acme"]) {
      expect(await auth.authorize(accessToken, "profile:read", { org: other })).toEqual({
        ok: false,
        code: "insufficient_permission",
      });
    }
    const { accessToken: none } = await issue();
    expect(await auth.authorize(none, "profile:read", { org: org.orgId })).toEqual({
      ok: false,
      code: "insufficient_permission",
    });
  });

  it("never throws for odd options: each fails closed with insufficient_permission", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    for (const options of [
      { org: 42 },
      { org: null },
      { org: [org.orgId] },
      { org: { id: org.orgId } },
      org.orgId,
      42,
      true,
      [org.orgId],
    ]) {
      const result = await auth.authorize(accessToken, "projects:write", options as never);
      expect(result, JSON.stringify(options)).toEqual({ ok: false, code: "insufficient_permission" });
    }
    // Nor for an odd permission alongside a good org.
    for (const permission of [undefined, null, 7, ["projects:write"]]) {
      expect(await auth.authorize(accessToken, permission as never, { org: org.orgId })).toEqual({
        ok: false,
        code: "insufficient_permission",
      });
    }
    // An invalid token is still invalid_token first, whatever the options.
    expect(await auth.authorize("junk", "projects:write", { org: 42 } as never)).toEqual({
      ok: false,
      code: "invalid_token",
    });
  });

  it("never throws for options whose org getter throws (in-process callers)", async () => {
    const org = membership();
    const { accessToken } = await issue({ org });
    const hostile = {
      get org(): string {
        throw new Error("boom");
      },
    };
    const { testService } = await import("../support/harness");
    expect(await testService().rpc().authorize(accessToken, "projects:write", hostile)).toEqual({
      ok: false,
      code: "insufficient_permission",
    });
  });

  it("{ org: undefined } and no options check global permissions only", async () => {
    const org = membership();
    const { accessToken, claims } = await issue({ org });
    expect(await auth.authorize(accessToken, "profile:read", { org: undefined })).toEqual({ ok: true, claims });
    expect(await auth.authorize(accessToken, "profile:read")).toEqual({ ok: true, claims });
  });
});
