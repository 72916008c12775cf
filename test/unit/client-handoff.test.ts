// The app's half of the hosted sign-in page (docs/hosted-pages.md): redirectToSignIn sends the browser to /sign-in
// with an S256 challenge of a verifier it keeps under a fresh state; handleRedirect spends the returned code with
// that verifier at POST /auth/exchange, once, and refuses a state it did not start (a code planted by someone else
// is never exchanged). Against a stub of the service: the exchange route belongs to federated sign-in.
import { describe, expect, it } from "vitest";
import { AuthApiError, AuthClient, type KeyValueStorage } from "../../packages/client/src";

const SERVICE = "https://auth.example.com";
const CALLBACK = "https://app.example.com/callback";

function memoryStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

const SIGNED_IN = {
  user: { id: "0b9f5a40-7c1e-4f51-9d55-0d5b3c1f2a10", email: "alice@example.com" },
  tokens: {
    tokenType: "Bearer",
    accessToken: "a.b.c",
    expiresIn: 600,
    refreshToken: "sart_x",
    refreshExpiresIn: 3600,
    sessionId: "5d0c3b7e-3f7a-4c55-9a0e-2b8c1d9e0f11",
  },
  deviceToken: "dev",
  isNewUser: false,
};

function stub() {
  const posted: { path: string; body: unknown }[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    posted.push({ path: new URL(request.url).pathname, body: await request.json() });
    return Response.json(SIGNED_IN);
  };
  return { posted, client: new AuthClient({ baseUrl: SERVICE, fetch: fetcher, coordination: false }) };
}

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function started(client: AuthClient, storage: KeyValueStorage): Promise<URL> {
  let target = "";
  await client.redirectToSignIn({
    redirectTo: CALLBACK,
    returnTo: "/orders",
    storage,
    navigate: (url) => (target = url),
  });
  return new URL(target);
}

describe("redirectToSignIn / handleRedirect", () => {
  it("sends the browser to /sign-in with redirect_to, an S256 challenge of the kept verifier, and a fresh state", async () => {
    const { client } = stub();
    const storage = memoryStorage();
    const url = await started(client, storage);
    expect(url.origin + url.pathname).toBe(`${SERVICE}/sign-in`);
    expect(url.searchParams.get("redirect_to")).toBe(CALLBACK);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    const state = url.searchParams.get("state")!;
    expect(state).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const kept = JSON.parse(storage.getItem(`secureauth:pkce:${state}`)!) as { verifier: string; returnTo: string };
    expect(kept.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("code_challenge")).toBe(await s256(kept.verifier));
    expect(kept.returnTo).toBe("/orders");
  });

  it("exchanges the returned code with that verifier, once, and answers the session and returnTo", async () => {
    const { client, posted } = stub();
    const storage = memoryStorage();
    const state = (await started(client, storage)).searchParams.get("state")!;
    const { verifier } = JSON.parse(storage.getItem(`secureauth:pkce:${state}`)!) as { verifier: string };
    const back = `${CALLBACK}?code=one-time&state=${state}`;
    const signedIn = await client.handleRedirect({ url: back, storage });
    expect(signedIn?.returnTo).toBe("/orders");
    expect(signedIn?.user.email).toBe("alice@example.com");
    expect(posted).toEqual([{ path: "/auth/exchange", body: { code: "one-time", codeVerifier: verifier } }]);
    expect(await client.accessToken()).toBe("a.b.c");
    // The verifier is spent: the same address again exchanges nothing.
    await expect(client.handleRedirect({ url: back, storage })).rejects.toMatchObject({
      code: "invalid_one_time_token",
    });
    expect(posted).toHaveLength(1);
  });

  it("never exchanges a code whose state it did not start (a code planted by another site)", async () => {
    const { client, posted } = stub();
    const error = await client
      .handleRedirect({ url: `${CALLBACK}?code=planted&state=unknown`, storage: memoryStorage() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthApiError);
    expect((error as AuthApiError).code).toBe("invalid_one_time_token");
    expect(posted).toEqual([]);
  });

  it("turns the service's ?error= into an AuthApiError with its code, and answers null without a code", async () => {
    const { client, posted } = stub();
    const storage = memoryStorage();
    await expect(
      client.handleRedirect({
        url: `${CALLBACK}?error=account_link_required&error_description=Linked&state=s`,
        storage,
      }),
    ).rejects.toMatchObject({ code: "account_link_required" });
    expect(await client.handleRedirect({ url: CALLBACK, storage })).toBeNull();
    expect(posted).toEqual([]);
  });
});
