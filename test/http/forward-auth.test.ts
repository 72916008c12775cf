// GET /auth/verify as a reverse proxy's forward-auth endpoint: the identity
// headers a proxy copies to the upstream, ?permission= as a gate, and what
// a refused token gets (no identity headers at all).
import { describe, expect, it } from "vitest";
import { call, problemOf, signIn } from "../support/harness";

const IDENTITY_HEADERS = ["x-auth-user-id", "x-auth-session-id", "x-auth-roles", "x-auth-permissions"];

describe("GET /auth/verify identity headers", () => {
  it("names the user, the session, the roles and the permissions, comma-separated without spaces", async () => {
    const { user, tokens } = await signIn();
    const res = await call("GET", "/auth/verify", { token: tokens.accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-auth-user-id")).toBe(user.id);
    expect(res.headers.get("x-auth-session-id")).toBe(tokens.sessionId);
    expect(res.headers.get("x-auth-roles")).toBe("user");
    expect(res.headers.get("x-auth-permissions")).toBe("profile:read,profile:write,sessions:read,sessions:revoke:own");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("lists several roles in one header", async () => {
    const { tokens } = await signIn({ roles: ["admin"] });
    const res = await call("GET", "/auth/verify", { token: tokens.accessToken });
    expect(res.headers.get("x-auth-roles")).toBe("admin,user");
    expect(res.headers.get("x-auth-permissions")!.split(",")).toContain("users:read");
    expect(res.headers.get("x-auth-permissions")).not.toContain(" ");
  });

  it("stops a proxy from forwarding an identity for a refused token: 401 without identity headers", async () => {
    const { tokens } = await signIn();
    await call("POST", "/auth/logout", { token: tokens.accessToken });
    for (const token of [tokens.accessToken, "not-a-token"]) {
      const res = await call("GET", "/auth/verify", { token });
      expect(res.status).toBe(401);
      for (const name of IDENTITY_HEADERS) expect(res.headers.get(name), name).toBeNull();
    }
  });
});

describe("GET /auth/verify?permission=", () => {
  it("passes a token that holds the permission", async () => {
    const { tokens } = await signIn({ roles: ["admin"] });
    const res = await call("GET", "/auth/verify?permission=users:read", { token: tokens.accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-auth-user-id")).not.toBeNull();
  });

  it(
    "stops a token without the permission at the proxy: 403 " + "insufficient_permission, no identity headers",
    async () => {
      const { tokens } = await signIn();
      const res = await call("GET", "/auth/verify?permission=users:read", { token: tokens.accessToken });
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe("insufficient_permission");
      for (const name of IDENTITY_HEADERS) expect(res.headers.get(name), name).toBeNull();
    },
  );

  it("answers 401 before 403: a missing token is invalid_request whatever permission is asked", async () => {
    const res = await call("GET", "/auth/verify?permission=users:read");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_request"');
  });

  it("refuses an empty permission name as a validation error", async () => {
    const { tokens } = await signIn();
    const res = await call("GET", "/auth/verify?permission=", { token: tokens.accessToken });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });

  it(
    "refuses a permission over 128 characters and a repeated permission as validation errors naming it, so a " +
      "proxy never gates on a name the check did not read",
    async () => {
      const { tokens } = await signIn({ roles: ["admin"] });
      for (const query of [`permission=${"p".repeat(129)}`, "permission=users:read&permission=users:write"]) {
        const res = await call("GET", `/auth/verify?${query}`, { token: tokens.accessToken });
        expect(res.status, query).toBe(400);
        const problem = (await problemOf(res)) as { code: string; errors?: { path: string }[] };
        expect(problem.code).toBe("validation_failed");
        expect(problem.errors?.map((e) => e.path)).toEqual(["permission"]);
        for (const name of IDENTITY_HEADERS) expect(res.headers.get(name), name).toBeNull();
      }
    },
  );

  it("ignores a query parameter it does not know", async () => {
    const { tokens } = await signIn();
    const res = await call("GET", "/auth/verify?unrelated=1", { token: tokens.accessToken });
    expect(res.status).toBe(200);
  });
});
