// The client's switchOrganization: against the real Worker in bearer mode
// (the new access token is stored with the refresh token kept, refreshes
// keep the organization, a non-member's switch changes nothing), and in
// cookie mode against a stub of the service (X-Auth-Mode and credentials on
// the request, no refresh token kept).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AuthApiError, AuthClient, memoryStore } from "../../packages/client/src";
import { BASE, claimsOf, STRONG_PASSWORD, uniqueEmail } from "../support/harness";
import { createOrganization } from "../support/organization-fixtures";

const workerFetch: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));

async function signedInClient() {
  const store = memoryStore();
  const client = new AuthClient({ baseUrl: BASE, fetch: workerFetch, store });
  const { user, tokens } = await client.register({ email: uniqueEmail("client-org"), password: STRONG_PASSWORD });
  if (!tokens) throw new Error("registration opened no session");
  return { client, store, user };
}

describe("AuthClient.switchOrganization against the Worker", () => {
  it("stores the new access token with the org claim, keeps the refresh token; refreshes keep the claim", async () => {
    const { client, store, user } = await signedInClient();
    const org = await createOrganization({ members: { [user.id]: ["admin"] } });
    const before = (await store.get())!;

    const switched = await client.switchOrganization(org.id);
    expect(switched.sessionId).toBe(before.sessionId);
    expect(switched.refreshToken).toBe(before.refreshToken);
    expect(switched.accessToken).not.toBe(before.accessToken);
    expect(await store.get()).toEqual(switched);
    expect(claimsOf(switched.accessToken).org).toMatchObject({ id: org.id, slug: org.slug, roles: ["admin"] });

    const refreshed = (await client.refresh())!;
    expect(claimsOf(refreshed.accessToken).org).toMatchObject({ id: org.id });
    // The token the client attaches is the organization's.
    const res = await client.fetch(`${BASE}/auth/verify?permission=members:invite&org=${org.id}`);
    expect(res.status).toBe(200);

    const none = await client.switchOrganization(null);
    expect(claimsOf(none.accessToken)).not.toHaveProperty("org");
    expect((await client.fetch(`${BASE}/auth/verify?org=${org.id}`)).status).toBe(403);
  });

  it("a non-member's switch rejects with not_found and leaves the tokens as they were", async () => {
    const { client, store } = await signedInClient();
    const before = await store.get();
    const error = await client.switchOrganization(crypto.randomUUID()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthApiError);
    expect((error as AuthApiError).code).toBe("not_found");
    expect(await store.get()).toEqual(before);
  });
});

describe("AuthClient.switchOrganization in cookie mode", () => {
  it("sends X-Auth-Mode: cookie with credentials and keeps the new access token, never a refresh token", async () => {
    const seen: { mode: string | null; credentials: unknown; body: unknown; authorization: string | null }[] = [];
    let issued = 0;
    const tokens = (sessionId: string) => ({
      tokenType: "Bearer",
      accessToken: `at-${++issued}`,
      expiresIn: 600,
      refreshExpiresIn: 604800,
      sessionId,
    });
    const fetcher: typeof fetch = async (input, init = {}) => {
      const url = new URL(String(input));
      const headers = new Headers(init.headers);
      if (url.pathname === "/auth/login")
        return Response.json({ user: { id: "u1" }, tokens: tokens("s1"), deviceToken: "sadt_1" });
      if (url.pathname === "/auth/org") {
        seen.push({
          mode: headers.get("X-Auth-Mode"),
          credentials: (init as { credentials?: unknown }).credentials,
          body: JSON.parse(String(init.body)),
          authorization: headers.get("Authorization"),
        });
        // The service also sets __Host-sa_at; the body may carry a refresh token only by mistake.
        return Response.json({ tokens: { ...tokens("s1"), refreshToken: "sart_never-kept" } });
      }
      return Response.json({ code: "not_found" }, { status: 404 });
    };
    const store = memoryStore();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, mode: "cookie", store, coordination: false });
    await client.login({ email: "a@example.com", password: STRONG_PASSWORD });
    const orgId = crypto.randomUUID();
    const switched = await client.switchOrganization(orgId);
    expect(seen).toEqual([{ mode: "cookie", credentials: "include", body: { orgId }, authorization: "Bearer at-1" }]);
    expect(switched.accessToken).toBe("at-2");
    expect(switched).not.toHaveProperty("refreshToken");
    expect(await store.get()).toEqual(switched);
    client.close();
  });
});
