// The app's half of the hosted sign-in page (docs/hosted-pages.md): redirectToSignIn sends the browser to /sign-in
// with an S256 challenge of a verifier it keeps (in the client's flowStorage) under a fresh state; handleRedirect
// spends the returned code with that verifier at POST /auth/exchange, once, and never exchanges a code whose state
// it did not start (a code planted by someone else). Against a stub of the service.
import { describe, expect, it } from "vitest";
import { AuthClient, type FlowStorage } from "../../packages/client/src";

const SERVICE = "https://auth.example.com";
const CALLBACK = "https://app.example.com/callback";

function memoryStorage(): FlowStorage & { map: Map<string, string> } {
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

function stub(storage: FlowStorage = memoryStorage()) {
  const posted: { path: string; body: unknown }[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    posted.push({ path: new URL(request.url).pathname, body: await request.json() });
    return Response.json(SIGNED_IN);
  };
  const client = new AuthClient({ baseUrl: SERVICE, fetch: fetcher, coordination: false, flowStorage: storage });
  return { posted, client };
}

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function started(client: AuthClient): Promise<URL> {
  return new URL(await client.redirectToSignIn({ redirectTo: CALLBACK }));
}

/** The verifier kept for `state`. */
const keptVerifier = (storage: FlowStorage, state: string) =>
  (JSON.parse(storage.getItem(`secureauth:flow:${state}`)!) as { verifier: string }).verifier;

describe("redirectToSignIn / handleRedirect", () => {
  it("sends the browser to /sign-in with redirect_to, an S256 challenge of the kept verifier, and a fresh state", async () => {
    const storage = memoryStorage();
    const { client } = stub(storage);
    const url = await started(client);
    expect(url.origin + url.pathname).toBe(`${SERVICE}/sign-in`);
    expect(url.searchParams.get("redirect_to")).toBe(CALLBACK);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    const state = url.searchParams.get("state")!;
    expect(state).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const verifier = keptVerifier(storage, state);
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("code_challenge")).toBe(await s256(verifier));
  });

  it("exchanges the returned code with that verifier, once, and answers the session", async () => {
    const storage = memoryStorage();
    const { client, posted } = stub(storage);
    const state = (await started(client)).searchParams.get("state")!;
    const verifier = keptVerifier(storage, state);
    const back = `${CALLBACK}?code=one-time&state=${state}`;
    const result = await client.handleRedirect(back);
    expect(result?.kind).toBe("signed_in");
    expect(result?.kind === "signed_in" && result.result.user.email).toBe("alice@example.com");
    expect(posted).toEqual([{ path: "/auth/exchange", body: { code: "one-time", codeVerifier: verifier } }]);
    expect(await client.accessToken()).toBe("a.b.c");
    // The verifier is spent: the same address again exchanges nothing.
    expect(await client.handleRedirect(back)).toBeNull();
    expect(posted).toHaveLength(1);
  });

  it("never exchanges a code whose state it did not start (a code planted by another site)", async () => {
    const { client, posted } = stub();
    await started(client);
    expect(await client.handleRedirect(`${CALLBACK}?code=planted&state=unknown`)).toBeNull();
    expect(posted).toEqual([]);
  });

  it("turns the service's ?error= into an AuthApiError with its code, and answers null without a code", async () => {
    const storage = memoryStorage();
    const { client, posted } = stub(storage);
    const state = (await started(client)).searchParams.get("state")!;
    await expect(
      client.handleRedirect(`${CALLBACK}?error=account_link_required&error_description=Linked&state=${state}`),
    ).rejects.toMatchObject({ code: "account_link_required" });
    expect(await client.handleRedirect(CALLBACK)).toBeNull();
    expect(posted).toEqual([]);
  });
});
