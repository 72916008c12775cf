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

describe("AuthClient sends the access token only where it was told to", () => {
  function recordingFetch() {
    const seen: { url: string; authorization: string | null }[] = [];
    const fetcher: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      seen.push({ url: request.url, authorization: request.headers.get("Authorization") });
      const path = new URL(request.url).pathname;
      // The service itself answers; any other host answers 200 without looking.
      return request.url.startsWith(BASE) || path.startsWith("/auth/") ? exports.default.fetch(new Request(BASE + path, request)) : new Response("ok");
    };
    return { fetcher, seen };
  }

  it("attaches the bearer to the service's origin and the trusted origins, never to another origin", async () => {
    const { fetcher, seen } = recordingFetch();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, trustedOrigins: ["https://api.example.com"] });
    await client.register({ email: uniqueEmail("client"), password: STRONG_PASSWORD });
    const targets = [
      `${BASE}/me`,
      "https://api.example.com/orders",
      "https://evil.example.net/collect",
      "https://api.example.com.evil.net/collect",
      "http://api.example.com/orders",
      "https://api.example.com:8443/orders",
    ];
    for (const url of targets) await client.fetch(url);
    const sent = Object.fromEntries(seen.filter((s) => targets.includes(s.url)).map((s) => [s.url, s.authorization !== null]));
    expect(sent).toEqual({
      [`${BASE}/me`]: true,
      "https://api.example.com/orders": true,
      "https://evil.example.net/collect": false,
      "https://api.example.com.evil.net/collect": false,
      "http://api.example.com/orders": false,
      "https://api.example.com:8443/orders": false,
    });
  });

  it("keeps a caller's own headers for an untrusted origin and does not refresh on its 401", async () => {
    const calls: string[] = [];
    const client = new AuthClient({
      baseUrl: BASE,
      fetch: async (input, init) => {
        const request = new Request(input, init);
        calls.push(`${request.method} ${request.url} ${request.headers.get("X-Custom")}`);
        return new Response(null, { status: 401, headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' } });
      },
    });
    const res = await client.fetch("https://elsewhere.example/x", { headers: { "X-Custom": "1" } });
    expect(res.status).toBe(401);
    expect(calls).toEqual(["GET https://elsewhere.example/x 1"]);
  });

  it("refuses a trusted origin that is not an exact origin when built", () => {
    for (const bad of ["*", "api.example.com", "https://api.example.com/v1", "ftp://files.example.com"]) {
      expect(() => new AuthClient({ baseUrl: BASE, trustedOrigins: [bad] }), bad).toThrow(TypeError);
    }
  });
});
