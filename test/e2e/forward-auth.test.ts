// nginx (auth_request against GET /auth/verify, test/e2e/setup/nginx.ts) in
// front of an echo upstream that answers the headers it received: what a
// protected application behind nginx sees, for valid, missing, forged,
// revoked and under-privileged credentials, and for a cross-site POST that
// carries the victim's access cookie.
import { readFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { EchoAnswer } from "./setup/servers.ts";
import { forwardAuthServer } from "./setup/nginx.ts";
import { bearer, jwtPayload, login, register, type SignedIn } from "./support/api.ts";

const serviceUrl = inject("serviceUrl");
const nginxUrl = inject("nginxUrl");
const pageUrl = inject("pageUrl");
const databaseUrl = inject("databaseUrl");

const USER_PERMISSIONS = ["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"];

async function throughNginx(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; echo: EchoAnswer | undefined; text: string }> {
  const response = await fetch(`${nginxUrl}${path}`, { headers });
  const text = await response.text();
  const isJson = (response.headers.get("Content-Type") ?? "").startsWith("application/json");
  return {
    status: response.status,
    echo: response.status === 200 && isJson ? (JSON.parse(text) as EchoAnswer) : undefined,
    text,
  };
}

describe("nginx auth_request against /auth/verify", () => {
  let alice: SignedIn & { email: string };
  const db = new pg.Client({ connectionString: databaseUrl });

  beforeAll(async () => {
    await db.connect();
    alice = await register(serviceUrl, "nginx");
  });
  afterAll(async () => {
    await db.end();
  });

  it("passes a valid bearer token through, with the identity headers set from the token exactly", async () => {
    const { accessToken } = alice.tokens;
    const claims = jwtPayload(accessToken);
    const { status, echo } = await throughNginx("/protected/orders?page=2", bearer(accessToken));
    expect(status).toBe(200);
    expect(echo?.url).toBe("/protected/orders?page=2");
    expect(echo?.headers["x-auth-user-id"]).toBe(alice.user.id);
    expect(echo?.headers["x-auth-user-id"]).toBe(claims.sub);
    expect(echo?.headers["x-auth-session-id"]).toBe(claims.sid);
    expect(echo?.headers["x-auth-session-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(echo?.headers["x-auth-roles"]).toBe("user");
    expect(echo?.headers["x-auth-permissions"]).toBe((claims.permissions as string[]).join(","));
    expect(String(echo?.headers["x-auth-permissions"]).split(",").sort()).toEqual(USER_PERMISSIONS);
  });

  it("overwrites identity headers a client sends itself", async () => {
    const forged = {
      "X-Auth-User-Id": "00000000-0000-4000-8000-000000000000",
      "X-Auth-Session-Id": "00000000-0000-4000-8000-000000000001",
      "X-Auth-Roles": "admin",
      "X-Auth-Permissions": "users:read,users:write",
    };
    const { status, echo } = await throughNginx("/protected/", { ...bearer(alice.tokens.accessToken), ...forged });
    expect(status).toBe(200);
    expect(echo?.headers["x-auth-user-id"]).toBe(alice.user.id);
    expect(echo?.headers["x-auth-session-id"]).toBe(jwtPayload(alice.tokens.accessToken).sid);
    expect(echo?.headers["x-auth-roles"]).toBe("user");
    expect(String(echo?.headers["x-auth-permissions"]).split(",").sort()).toEqual(USER_PERMISSIONS);
  });

  it(
    "refuses a request without a token (401), forged identity headers or " + "not, and never reaches the upstream",
    async () => {
      expect((await throughNginx("/protected/")).status).toBe(401);
      const forgedOnly = await throughNginx("/protected/", {
        "X-Auth-User-Id": alice.user.id,
        "X-Auth-Roles": "admin",
      });
      expect(forgedOnly.status).toBe(401);
      expect(forgedOnly.echo).toBeUndefined();
      expect((await throughNginx("/protected/", { Authorization: "Bearer not-a-token" })).status).toBe(401);
    },
  );

  it("a client-sent X-Auth-User-Id never reaches the upstream", async () => {
    const forgedId = "00000000-0000-4000-8000-00000000dead";
    const forged = {
      "X-Auth-User-Id": forgedId,
      "X-Auth-Org-Id": forgedId,
      "X-Auth-Org-Roles": "owner",
      "X-Auth-Org-Permissions": "org:delete",
    };
    // Let through: the answer's values replace the client's, and a header the answer lacks (no active organization) is
    // deleted.
    const { status, echo } = await throughNginx("/protected/", { ...bearer(alice.tokens.accessToken), ...forged });
    expect(status).toBe(200);
    expect(echo?.headers["x-auth-user-id"]).toBe(alice.user.id);
    for (const name of ["x-auth-org-id", "x-auth-org-roles", "x-auth-org-permissions"])
      expect(echo?.headers[name], name).toBeUndefined();
    expect(JSON.stringify(echo?.headers)).not.toContain(forgedId);
    // Refused: nothing reaches the upstream at all.
    const refused = await throughNginx("/protected/", forged);
    expect(refused.status).toBe(401);
    expect(refused.echo).toBeUndefined();
  });

  it("a cross-site POST through the proxy with the access cookie is refused", async () => {
    const cookie = `__Host-sa_at=${alice.tokens.accessToken}`;
    const post = async (headers: Record<string, string>) => {
      const response = await fetch(`${nginxUrl}/protected/transfer`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
        body: "amount=1000",
      });
      const text = await response.text();
      return { status: response.status, echo: response.status === 200 ? (JSON.parse(text) as EchoAnswer) : undefined };
    };
    // A form on another site: the browser sends the cookie and its own Origin.
    const crossSite = await post({ Cookie: cookie, Origin: "https://evil.example.net" });
    expect(crossSite.status).toBe(403);
    expect(crossSite.echo).toBeUndefined();
    // No Origin at all is refused too: the rule fails closed.
    expect((await post({ Cookie: cookie })).status).toBe(403);
    // A GET page load from a link on another site: refused when its Origin is foreign, let through without one.
    expect((await throughNginx("/protected/", { Cookie: cookie, Origin: "https://evil.example.net" })).status).toBe(
      403,
    );
    expect((await throughNginx("/protected/", { Cookie: cookie })).status).toBe(200);
    // The application's own page (an allowed origin) posts.
    const sameSite = await post({ Cookie: cookie, Origin: pageUrl });
    expect(sameSite.status).toBe(200);
    expect(sameSite.echo?.method).toBe("POST");
    expect(sameSite.echo?.headers["x-auth-user-id"]).toBe(alice.user.id);
    // A Bearer token is no ambient credential: not subject to the rule.
    expect((await post({ ...bearer(alice.tokens.accessToken), Origin: "https://evil.example.net" })).status).toBe(200);
  });

  it("keeps the auth subrequest locations internal", async () => {
    expect((await throughNginx("/_auth", bearer(alice.tokens.accessToken))).status).toBe(404);
    expect((await throughNginx("/_auth_admin", bearer(alice.tokens.accessToken))).status).toBe(404);
  });

  it("answers 403 on /admin-only/ for a user without users:read", async () => {
    const { status, echo } = await throughNginx("/admin-only/reports", bearer(alice.tokens.accessToken));
    expect(status).toBe(403);
    expect(echo).toBeUndefined();
  });

  it("lets an administrator (role granted in SQL, then signed in again) through /admin-only/", async () => {
    const bob = await register(serviceUrl, "nginx-admin");
    await db.query("insert into user_roles (user_id, role_name) values ($1, 'admin')", [bob.user.id]);
    const admin = await login(serviceUrl, bob.email);
    const { status, echo } = await throughNginx("/admin-only/reports", bearer(admin.tokens.accessToken));
    expect(status).toBe(200);
    expect(echo?.url).toBe("/admin-only/reports");
    expect(echo?.headers["x-auth-user-id"]).toBe(bob.user.id);
    expect(String(echo?.headers["x-auth-roles"]).split(",").sort()).toEqual(["admin", "user"]);
    expect(String(echo?.headers["x-auth-permissions"]).split(",")).toContain("users:read");
  });

  it("refuses a logged-out session's access token at once (401)", async () => {
    const carol = await register(serviceUrl, "nginx-logout");
    const token = carol.tokens.accessToken;
    expect((await throughNginx("/protected/", bearer(token))).status).toBe(200);
    const logout = await fetch(`${serviceUrl}/auth/logout`, { method: "POST", headers: bearer(token) });
    expect(logout.status).toBe(204);
    const after = await throughNginx("/protected/", bearer(token));
    expect(after.status).toBe(401);
    expect(after.echo).toBeUndefined();
  });

  it("is the configuration docs/forward-auth.md quotes", () => {
    const page = readFileSync(new URL("../../docs/forward-auth.md", import.meta.url), "utf8");
    const quoted = forwardAuthServer({
      listen: "80",
      serverName: "app.example.com",
      authOrigin: "https://auth.example.com",
      upstream: "http://app.internal:3000",
    });
    expect(page).toContain(quoted);
  });
});
