// The client against the real Worker: many concurrent requests that need a
// fresh access token cause exactly one refresh.
import { describe, expect, it } from "vitest";
import { AuthClient, memoryStore, type StoredTokens } from "../../src/client";
import { exports } from "cloudflare:workers";
import { BASE, call, STRONG_PASSWORD, uniqueEmail } from "../support/harness";

function countingFetch() {
  const calls: string[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    calls.push(`${request.method} ${new URL(request.url).pathname}`);
    return exports.default.fetch(request);
  };
  return { fetcher, calls, count: (what: string) => calls.filter((c) => c === what).length };
}

describe("AuthClient", () => {
  it("refreshes once for 25 concurrent requests that find the access token expired", async () => {
    const { fetcher, count } = countingFetch();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
    await client.register({ email: uniqueEmail("client"), password: STRONG_PASSWORD });
    // Age the access token past its expiry by the client's clock.
    const store = (client as unknown as { store: { get(): StoredTokens; set(t: StoredTokens): void } }).store;
    store.set({ ...store.get(), accessExpiresAt: Date.now() - 1000 });

    const responses = await Promise.all(Array.from({ length: 25 }, () => client.fetch(`${BASE}/me`)));
    expect(responses.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(count("POST /auth/refresh")).toBe(1);
  });

  it("refreshes once and retries when the server answers 401 invalid_token", async () => {
    const { fetcher, count } = countingFetch();
    const store = memoryStore();
    const withStore = new AuthClient({ baseUrl: BASE, fetch: fetcher, store });
    const { tokens } = await withStore.register({ email: uniqueEmail("client"), password: STRONG_PASSWORD });
    const current = (await store.get())!;
    // A token that looks unexpired locally but that the server refuses (forged signature).
    await store.set({ ...current, accessToken: tokens.accessToken.slice(0, -4) + "AAAA" });
    const responses = await Promise.all(Array.from({ length: 5 }, () => withStore.fetch(`${BASE}/me`)));
    expect(responses.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(count("POST /auth/refresh")).toBe(1);
  });

  it("ends the local session when the refresh token was reused elsewhere", async () => {
    const ended: string[] = [];
    const { fetcher } = countingFetch();
    const store = memoryStore();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, store, onSessionEnded: (reason) => ended.push(reason) });
    const { tokens } = await client.register({ email: uniqueEmail("client"), password: STRONG_PASSWORD });
    // A thief rotates twice with the stolen token; the client's copy is now a grandparent.
    const stolen = await call("POST", "/auth/refresh", { body: { refreshToken: tokens.refreshToken } });
    const { tokens: next } = (await stolen.json()) as { tokens: { refreshToken: string } };
    await call("POST", "/auth/refresh", { body: { refreshToken: next.refreshToken } });

    expect(await client.refresh()).toBeNull();
    expect(ended).toEqual(["refresh_token_reused"]);
    expect(await store.get()).toBeNull();
  });

  it("logs out: the session ends on the server and locally", async () => {
    const { fetcher } = countingFetch();
    const store = memoryStore();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, store });
    const { tokens } = await client.register({ email: uniqueEmail("client"), password: STRONG_PASSWORD });
    await client.logout();
    expect(await store.get()).toBeNull();
    expect((await call("POST", "/auth/refresh", { body: { refreshToken: tokens.refreshToken } })).status).toBe(401);
  });
});
