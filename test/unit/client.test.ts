// The client against the real Worker: many concurrent requests that need a
// fresh access token cause exactly one refresh, in one tab and across tabs
// (two AuthClients sharing a fake BroadcastChannel and a fake Web Locks);
// sign-in with a second factor; every operation of the account's lifecycle
// (email proof, reset, email change, profile, sessions, TOTP and recovery
// codes, passkeys, re-authentication, deletion). Cookie mode against a stub
// of the service (the contract: X-Auth-Mode and credentials on every request
// to it).
import { describe, expect, it } from "vitest";
import {
  AuthApiError,
  AuthClient,
  memoryStore,
  webStorageStore,
  type ChannelLike,
  type LockManagerLike,
  type PasskeyCredentialJson,
  type StoredTokens,
  type TokenStore,
} from "../../packages/client/src";
import { exports } from "cloudflare:workers";
import { TEST_SECRETS } from "../setup/secrets";
import { BASE, call, db, STRONG_PASSWORD, uniqueEmail } from "../support/harness";
import { inbox, type ReceivedMail, tokenIn } from "../support/mail";
import { totpCode } from "../support/totp";
import { SoftAuthenticator } from "../support/webauthn";

function countingFetch() {
  const calls: string[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    calls.push(`${request.method} ${new URL(request.url).pathname}`);
    return exports.default.fetch(request);
  };
  return { fetcher, calls, count: (what: string) => calls.filter((c) => c === what).length };
}

/** Registers through the client; the test service opens a session at registration. */
async function registered(client: AuthClient) {
  const { user, tokens } = await client.register({ email: uniqueEmail("client"), password: STRONG_PASSWORD });
  if (!tokens) throw new Error("registration opened no session");
  return { user, tokens };
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
    const { tokens } = await registered(withStore);
    const current = (await store.get())!;
    // A token that looks unexpired locally but that the server refuses (forged signature).
    await store.set({ ...current, accessToken: `${tokens.accessToken.slice(0, -4)}AAAA` });
    const responses = await Promise.all(Array.from({ length: 5 }, () => withStore.fetch(`${BASE}/me`)));
    expect(responses.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(count("POST /auth/refresh")).toBe(1);
  });

  it("ends the local session when the refresh token was reused elsewhere", async () => {
    const ended: string[] = [];
    const { fetcher } = countingFetch();
    const store = memoryStore();
    const client = new AuthClient({
      baseUrl: BASE,
      fetch: fetcher,
      store,
      onSessionEnded: (reason) => ended.push(reason),
    });
    const { tokens } = await registered(client);
    // A thief rotates twice with the stolen token; the client's copy is now a grandparent.
    const stolen = await call("POST", "/auth/refresh", { body: { refreshToken: tokens.refreshToken } });
    const { tokens: next } = (await stolen.json()) as { tokens: { refreshToken: string } };
    await call("POST", "/auth/refresh", { body: { refreshToken: next.refreshToken } });

    expect(await client.refresh()).toBeNull();
    expect(ended).toEqual(["refresh_token_reused"]);
    expect(await store.get()).toBeNull();
  });

  it(
    "retries at once a refresh whose answer was lost (the service rotated, the answer never came): " +
      "within the grace window the service answers the same successor and the session goes on",
    async () => {
      const ended: string[] = [];
      const sent: string[] = [];
      let lost = 0;
      const fetcher: typeof fetch = async (input, init) => {
        const request = new Request(input, init);
        const isRefresh = new URL(request.url).pathname === "/auth/refresh";
        if (isRefresh) sent.push(((await request.clone().json()) as { refreshToken: string }).refreshToken);
        const res = await exports.default.fetch(request);
        // The first refresh reaches the service and commits its rotation; its answer is lost on the way back.
        if (isRefresh && lost++ === 0) throw new TypeError("Network connection lost");
        return res;
      };
      const store = memoryStore();
      const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, store, onSessionEnded: (r) => ended.push(r) });
      const { tokens } = await registered(client);

      const refreshed = await client.refresh();
      expect(sent).toEqual([tokens.refreshToken, tokens.refreshToken]);
      expect(refreshed?.refreshToken).toBeDefined();
      expect(refreshed?.refreshToken).not.toBe(tokens.refreshToken);
      expect(ended).toEqual([]);
      // The successor is the session's live token: it rotates, and the access token it came with works.
      expect((await client.getMe()).user.id).toBeDefined();
      expect((await call("POST", "/auth/refresh", { body: { refreshToken: refreshed!.refreshToken } })).status).toBe(
        200,
      );
    },
  );

  it("does not retry a lost refresh once the grace window has passed: the error reaches the caller", async () => {
    let clock = Date.now();
    let attempts = 0;
    const fetcher: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const res = await exports.default.fetch(request);
      if (new URL(request.url).pathname !== "/auth/refresh") return res;
      attempts++;
      // The answer is lost, and by the client's clock the window closed while it was out.
      clock += 11_000;
      throw new TypeError("Network connection lost");
    };
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, now: () => clock });
    await registered(client);
    await expect(client.refresh()).rejects.toThrow("Network connection lost");
    expect(attempts).toBe(1);
  });

  it("gives up on a refresh that keeps getting no answer after a bounded number of retries", async () => {
    let attempts = 0;
    const fetcher: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname === "/auth/refresh") {
        attempts++;
        throw new TypeError("Network connection lost");
      }
      return exports.default.fetch(request);
    };
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
    await registered(client);
    await expect(client.refresh()).rejects.toThrow("Network connection lost");
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(4);
  });

  it("logs out: the session ends on the server and locally", async () => {
    const { fetcher } = countingFetch();
    const store = memoryStore();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, store });
    const { tokens } = await registered(client);
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
      return request.url.startsWith(BASE) || path.startsWith("/auth/")
        ? exports.default.fetch(new Request(BASE + path, request))
        : new Response("ok");
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
    const sent = Object.fromEntries(
      seen.filter((s) => targets.includes(s.url)).map((s) => [s.url, s.authorization !== null]),
    );
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

/**
 * The tabs of one browser: BroadcastChannels that deliver to every other
 * channel as a task (structured-cloned, never to the sender), and Web Locks
 * that grant one holder at a time per name, in request order.
 */
function fakeBrowser() {
  const endpoints = new Set<{ deliver(data: unknown): void }>();
  const tails = new Map<string, Promise<unknown>>();
  const granted: string[] = [];
  const locks: LockManagerLike = {
    request(name, callback) {
      const run = (tails.get(name) ?? Promise.resolve()).then(() => {
        granted.push(name);
        return callback({ name, mode: "exclusive" });
      });
      tails.set(
        name,
        run.catch(() => undefined),
      );
      return run;
    },
  };
  function channel(): ChannelLike {
    const listeners = new Set<(event: { data: unknown }) => void>();
    const endpoint = {
      deliver: (data: unknown) => {
        for (const listener of listeners) listener({ data: structuredClone(data) });
      },
    };
    endpoints.add(endpoint);
    return {
      postMessage(data) {
        for (const other of endpoints) if (other !== endpoint) setTimeout(() => other.deliver(data), 0);
      },
      addEventListener: (_type, listener) => void listeners.add(listener),
      removeEventListener: (_type, listener) => void listeners.delete(listener),
      close: () => void endpoints.delete(endpoint),
    };
  }
  return { locks, channel, granted };
}

const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Web Storage area: one shared by the tabs is localStorage; one per tab is a tab's sessionStorage. */
function fakeStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

/** Every message any same-origin page listening on the channel hears. */
function eavesdrop(browser: ReturnType<typeof fakeBrowser>): unknown[] {
  const heard: unknown[] = [];
  browser.channel().addEventListener("message", (event) => heard.push(event.data));
  return heard;
}

/** The refresh tokens (sart_...) and access tokens (JWTs) in what was heard. */
function tokensIn(heard: unknown[]): string[] {
  return JSON.stringify(heard).match(/sart_[A-Za-z0-9_-]+|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g) ?? [];
}

async function age(store: TokenStore) {
  const tokens = (await store.get())!;
  await store.set({ ...tokens, accessExpiresAt: Date.now() - 1000 });
}

describe("AuthClient across tabs", () => {
  it(
    "two tabs sharing a store (localStorage), both with an expired access " +
      "token at the same instant: one refresh, one new token, and no token on " +
      "the channel",
    async () => {
      const { fetcher, count } = countingFetch();
      const browser = fakeBrowser();
      const heard = eavesdrop(browser);
      const shared = webStorageStore(fakeStorage());
      const tab = () =>
        new AuthClient({
          baseUrl: BASE,
          fetch: fetcher,
          store: shared,
          coordination: { locks: browser.locks, channel: browser.channel() },
        });
      const [a, b] = [tab(), tab()];
      const { tokens } = await registered(a);
      await age(shared);

      const responses = await Promise.all([
        ...Array.from({ length: 5 }, () => a.fetch(`${BASE}/me`)),
        ...Array.from({ length: 5 }, () => b.fetch(`${BASE}/me`)),
      ]);
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(count("POST /auth/refresh")).toBe(1);
      const [tokenA, tokenB] = [await a.accessToken(), await b.accessToken()];
      expect(tokenA).toBe(tokenB);
      expect(tokenA).not.toBe(tokens.accessToken);
      // The waiting tab took the lock too, and found the work done: in the store, not on the channel.
      expect(browser.granted).toEqual([`secureauth-refresh:${BASE}`, `secureauth-refresh:${BASE}`]);
      await settle();
      expect(heard.length).toBeGreaterThan(0);
      expect(tokensIn(heard)).toEqual([]);
      a.close();
      b.close();
    },
  );

  it(
    "a duplicated tab (its own sessionStorage holding the same pair): no " +
      "token crosses, and the tab whose copy was rotated away forgets it " +
      "instead of replaying it, so neither logs the other out",
    async () => {
      const { fetcher, calls } = countingFetch();
      const browser = fakeBrowser();
      const heard = eavesdrop(browser);
      const [storeA, storeB] = [webStorageStore(fakeStorage()), webStorageStore(fakeStorage())];
      const ended: string[] = [];
      const tab = (name: string, store: TokenStore) =>
        new AuthClient({
          baseUrl: BASE,
          fetch: fetcher,
          store,
          coordination: { locks: browser.locks, channel: browser.channel() },
          onSessionEnded: (r) => ended.push(`${name} ${r}`),
        });
      const [a, b] = [tab("a", storeA), tab("b", storeB)];
      await registered(a);
      await settle();
      await storeB.set((await storeA.get())!);
      await age(storeA);
      await age(storeB);

      const statuses = await Promise.all([a.fetch(`${BASE}/me`), b.fetch(`${BASE}/me`)]).then((rs) =>
        rs.map((r) => r.status),
      );
      await settle();
      // One rotation, and the rotated-away token was never presented again (that would be reuse: every tab logged out).
      expect(calls.filter((c) => c === "POST /auth/refresh")).toHaveLength(1);
      expect(statuses.sort()).toEqual([200, 401]);
      const [pairA, pairB] = [await storeA.get(), await storeB.get()];
      const live = (pairA ?? pairB)!;
      expect([pairA, pairB].filter((pair) => pair === null)).toHaveLength(1);
      expect(ended).toHaveLength(1);
      expect(ended[0]).toMatch(/^[ab] invalid_refresh_token$/);
      // The tab that rotated keeps a live session.
      expect((await call("POST", "/auth/refresh", { body: { refreshToken: live.refreshToken } })).status).toBe(200);
      expect(tokensIn(heard)).toEqual([]);
      a.close();
      b.close();
    },
  );

  it("without Web Locks, the tabs elect one refresher over the BroadcastChannel", async () => {
    const { fetcher, count } = countingFetch();
    const browser = fakeBrowser();
    const shared = webStorageStore(fakeStorage());
    const tab = () =>
      new AuthClient({ baseUrl: BASE, fetch: fetcher, store: shared, coordination: { channel: browser.channel() } });
    const [a, b, c] = [tab(), tab(), tab()];
    await registered(a);
    await age(shared);

    const responses = await Promise.all([a, b, c].map((t) => t.fetch(`${BASE}/me`)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(count("POST /auth/refresh")).toBe(1);
    expect(new Set(await Promise.all([a, b, c].map((t) => t.accessToken()))).size).toBe(1);
    for (const t of [a, b, c]) t.close();
  });

  it("a tab with another session ignores the broadcasts of this one", async () => {
    const { fetcher } = countingFetch();
    const browser = fakeBrowser();
    const [storeA, storeB] = [webStorageStore(fakeStorage()), webStorageStore(fakeStorage())];
    const endedB: string[] = [];
    const a = new AuthClient({
      baseUrl: BASE,
      fetch: fetcher,
      store: storeA,
      coordination: { locks: browser.locks, channel: browser.channel() },
    });
    const b = new AuthClient({
      baseUrl: BASE,
      fetch: fetcher,
      store: storeB,
      coordination: { locks: browser.locks, channel: browser.channel() },
      onSessionEnded: (r) => endedB.push(r),
    });
    await registered(a);
    const { tokens: bobs } = await registered(b);
    await a.refresh();
    await settle();
    expect((await storeB.get())!.accessToken).toBe(bobs.accessToken);
    await a.logout();
    await settle();
    expect(endedB).toEqual([]);
    expect(await storeB.get()).not.toBeNull();
    a.close();
    b.close();
  });

  it("a logout in one tab ends the session in every tab that shares it: onSessionEnded in each", async () => {
    const { fetcher } = countingFetch();
    const browser = fakeBrowser();
    const shared = webStorageStore(fakeStorage());
    const ended: string[] = [];
    const tab = (name: string) =>
      new AuthClient({
        baseUrl: BASE,
        fetch: fetcher,
        store: shared,
        coordination: { locks: browser.locks, channel: browser.channel() },
        onSessionEnded: (r) => ended.push(`${name} ${r}`),
      });
    const [a, b] = [tab("a"), tab("b")];
    await registered(a);
    expect(await b.accessToken()).not.toBeNull();
    await a.logout();
    await settle();
    expect(ended.sort()).toEqual(["a logged_out", "b logged_out"]);
    expect(await b.accessToken()).toBeNull();
    a.close();
    b.close();
  });
});

describe("AuthClient: what crosses tabs", () => {
  it(
    "bearer mode with the memory store (the default): a page listening on " +
      "the channel hears nothing, so no refresh token reaches it",
    async () => {
      const { fetcher } = countingFetch();
      const browser = fakeBrowser();
      const heard = eavesdrop(browser);
      const store = memoryStore();
      const client = new AuthClient({
        baseUrl: BASE,
        fetch: fetcher,
        store,
        coordination: { locks: browser.locks, channel: browser.channel() },
      });
      await registered(client);
      await age(store);
      expect((await client.fetch(`${BASE}/me`)).status).toBe(200);
      await client.reauthenticate({ currentPassword: STRONG_PASSWORD });
      await client.logout();
      await settle();
      expect(heard).toEqual([]);
      client.close();
    },
  );

  it("bearer mode with a shared store: a page listening on the channel hears signals, never a token", async () => {
    const { fetcher } = countingFetch();
    const browser = fakeBrowser();
    const heard = eavesdrop(browser);
    const store = webStorageStore(fakeStorage());
    const client = new AuthClient({
      baseUrl: BASE,
      fetch: fetcher,
      store,
      coordination: { locks: browser.locks, channel: browser.channel() },
    });
    const { tokens } = await registered(client);
    await age(store);
    expect((await client.fetch(`${BASE}/me`)).status).toBe(200);
    await client.logout();
    await settle();
    expect(heard.map((m) => (m as { type: string }).type)).toEqual(["rotated", "ended"]);
    expect(tokensIn(heard)).toEqual([]);
    expect(JSON.stringify(heard)).not.toContain(tokens.refreshToken!);
    client.close();
  });
});

describe("AuthClient sign-in with a second factor", () => {
  it(
    "login answers mfa_required (an AuthApiError with mfaToken and methods); " + "completeMfa finishes the sign-in",
    async () => {
      const { fetcher } = countingFetch();
      const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
      const email = uniqueEmail("client-mfa");
      const { user: account } = await client.register({ email, password: STRONG_PASSWORD });
      // v3: only an account whose address is proven enrols a factor (proven here by the database).
      await db.query("update users set email_verified_at = now() where id = $1", [account.id]);
      const start = await client.fetch(`${BASE}/me/mfa/totp`, { method: "POST" });
      expect(start.status).toBe(200);
      const { secret } = (await start.json()) as { secret: string };
      const confirm = await client.fetch(`${BASE}/me/mfa/totp/confirm`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ code: totpCode(secret) }),
      });
      expect(confirm.status).toBe(200);
      const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
      await client.logout();

      const refused = await client.login({ email, password: STRONG_PASSWORD }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AuthApiError);
      const error = refused as AuthApiError;
      expect(error.code).toBe("mfa_required");
      expect(error.problem.status).toBe(403);
      expect(typeof error.mfaToken).toBe("string");
      expect(error.problem.mfaToken).toBe(error.mfaToken);
      expect(error.methods).toContain("totp");
      expect(await client.accessToken()).toBeNull();

      const { user, tokens, deviceToken } = await client.completeMfa({
        mfaToken: error.mfaToken!,
        recoveryCode: recoveryCodes[0]!,
      });
      expect(user.email).toBe(email);
      expect(typeof deviceToken).toBe("string");
      expect(await client.accessToken()).toBe(tokens.accessToken);
      expect((await client.fetch(`${BASE}/me`)).status).toBe(200);
    },
  );

  it("a wrong code is an AuthApiError and leaves the client signed out", async () => {
    const client = new AuthClient({
      baseUrl: BASE,
      fetch: async () =>
        Response.json({ type: "x", title: "Invalid code", status: 401, code: "invalid_mfa_code" }, { status: 401 }),
    });
    await expect(client.completeMfa({ mfaToken: "samfa_x", code: "000000" })).rejects.toMatchObject({
      code: "invalid_mfa_code",
    });
    expect(await client.accessToken()).toBeNull();
  });
});

describe("AuthClient: the account's lifecycle, one method per operation, against the Worker", () => {
  const NEW_PASSWORD = `${STRONG_PASSWORD} renewed`;
  /** The soft authenticator's credential, whose `type` it types as any string (a test may send another). */
  const credential = (json: { type: string }) => json as PasskeyCredentialJson;
  const mailsTo = async (to: string, subject: string): Promise<ReceivedMail[]> =>
    (await inbox.all({ to })).filter((m) => m.subject === subject);

  it("registers, asks for a new verification link, proves the address with it, and edits the profile", async () => {
    const { fetcher, count } = countingFetch();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
    const email = uniqueEmail("client-life");
    const { user } = await client.register({ email, password: STRONG_PASSWORD, name: "Ada" });
    expect(user).toMatchObject({ email, name: "Ada", emailVerified: false });
    await inbox.waitFor({ to: email, subject: "Verify your email address" });
    expect(await client.sendEmailVerification()).toEqual({});
    const deadline = Date.now() + 10_000;
    while ((await mailsTo(email, "Verify your email address")).length < 2 && Date.now() < deadline) await settle(100);
    const tokens = (await mailsTo(email, "Verify your email address")).map((m) => tokenIn(m, "/verify-email"));
    expect(tokens).toHaveLength(2);
    // The newer link ended the older one: exactly one of the two proves the address.
    const answers = await Promise.allSettled(tokens.map((token) => client.verifyEmail({ token })));
    expect(answers.map((a) => a.status).sort()).toEqual(["fulfilled", "rejected"]);
    const verified = answers.find((a) => a.status === "fulfilled")!;
    expect(verified.value.user).toMatchObject({ id: user.id, emailVerified: true });

    expect((await client.getMe()).user).toMatchObject({ id: user.id, emailVerified: true });
    expect((await client.updateMe({ name: "Ada L." })).user.name).toBe("Ada L.");
    const activity = await client.listMyActivity({ limit: 50 });
    expect(activity.items.length).toBeGreaterThan(0);
    expect(activity.items.every((event) => event.userId === user.id)).toBe(true);
    expect(count("GET /me/activity")).toBe(1);
  });

  it(
    "forgot and reset: the mailed link sets the new password, every session " + "ends, and the link works once",
    async () => {
      const { fetcher } = countingFetch();
      const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
      const { user } = await registered(client);
      expect(await client.forgotPassword({ email: user.email })).toEqual({});
      const mail = await inbox.waitFor({ to: user.email, subject: "Reset your password" });
      const token = tokenIn(mail, "/reset-password");
      await expect(client.resetPassword({ token, newPassword: NEW_PASSWORD })).resolves.toBeUndefined();
      expect(await client.refresh()).toBeNull();

      const again = new AuthClient({ baseUrl: BASE, fetch: fetcher });
      expect((await again.login({ email: user.email, password: NEW_PASSWORD })).user.id).toBe(user.id);
      await expect(again.resetPassword({ token, newPassword: STRONG_PASSWORD })).rejects.toMatchObject({
        code: "invalid_one_time_token",
      });
    },
  );

  it(
    "changes the password (the other sessions end, this one stays) and the " + "email (the link moves the account)",
    async () => {
      const { fetcher } = countingFetch();
      const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
      const { user } = await registered(client);
      await db.markEmailVerified(user.id);
      const elsewhere = new AuthClient({ baseUrl: BASE, fetch: fetcher });
      await elsewhere.login({ email: user.email, password: STRONG_PASSWORD });

      await expect(
        client.changePassword({ currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD }),
      ).resolves.toBeUndefined();
      expect(await elsewhere.refresh()).toBeNull();
      expect((await client.getMe()).user.id).toBe(user.id);

      const newEmail = uniqueEmail("client-moved");
      expect(await client.requestEmailChange({ newEmail, currentPassword: NEW_PASSWORD })).toEqual({});
      const confirmation = await inbox.waitFor({ to: newEmail, subject: "Confirm your new email address" });
      const { user: moved } = await client.confirmEmailChange({ token: tokenIn(confirmation, "/confirm-email") });
      expect(moved).toMatchObject({ id: user.id, email: newEmail, emailVerified: true });
    },
  );

  it("sessions: lists them, ends another, ends the others, and ending its own signs it out here", async () => {
    const { fetcher } = countingFetch();
    const ended: string[] = [];
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, onSessionEnded: (r) => ended.push(r) });
    const { user, tokens } = await registered(client);
    const [second, third] = [
      new AuthClient({ baseUrl: BASE, fetch: fetcher }),
      new AuthClient({ baseUrl: BASE, fetch: fetcher }),
    ];
    const { tokens: secondTokens } = await second.login({ email: user.email, password: STRONG_PASSWORD });
    await third.login({ email: user.email, password: STRONG_PASSWORD });

    const { sessions } = await client.listSessions();
    expect(sessions).toHaveLength(3);
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([tokens.sessionId]);
    await client.revokeSession(secondTokens.sessionId);
    expect(await second.refresh()).toBeNull();
    expect(await third.accessToken()).not.toBeNull();
    await client.revokeOtherSessions();
    expect(await third.refresh()).toBeNull();
    expect((await client.listSessions()).sessions.map((s) => s.id)).toEqual([tokens.sessionId]);
    expect(ended).toEqual([]);

    await client.revokeSession(tokens.sessionId);
    expect(ended).toEqual(["logged_out"]);
    expect(await client.accessToken()).toBeNull();
    await expect(client.getMe()).rejects.toMatchObject({ problem: { status: 401 } });
  });

  it(
    "TOTP: starts, shows the QR code, confirms; a recent action asks for two " +
      "factors, which a recovery code gives; new codes; removal",
    async () => {
      const { fetcher } = countingFetch();
      const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
      const { user } = await registered(client);
      await db.markEmailVerified(user.id);
      const { secret, otpauthUri } = await client.startTotpEnrolment();
      expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);
      expect((await client.pendingTotpQrCode()).svg).toContain("<svg");
      const { recoveryCodes } = await client.confirmTotpEnrolment({ code: totpCode(secret) });
      expect(recoveryCodes).toHaveLength(10);
      expect((await client.getMe()).user.mfa.totp).toBe(true);

      // The session proved a password only: new codes need a two-factor proof now.
      const refused = await client.regenerateRecoveryCodes().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AuthApiError);
      expect((refused as AuthApiError).code).toBe("reauthentication_required");
      expect((refused as AuthApiError).methods).toContain("password+recovery_code");
      await client.reauthenticate({ currentPassword: STRONG_PASSWORD, recoveryCode: recoveryCodes[0]! });
      const { recoveryCodes: renewed } = await client.regenerateRecoveryCodes();
      expect(renewed).toHaveLength(10);
      expect(renewed).not.toContain(recoveryCodes[1]);

      await expect(client.removeTotp()).resolves.toBeUndefined();
      expect((await client.getMe()).user.mfa.totp).toBe(false);
    },
  );

  it("passkeys: registers one, lists it, signs in with it alone, re-authenticates with it, removes it", async () => {
    const { fetcher } = countingFetch();
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher });
    const { user } = await registered(client);
    await db.markEmailVerified(user.id);
    const device = await SoftAuthenticator.create({
      origin: TEST_SECRETS.WEBAUTHN_ORIGINS,
      rpId: TEST_SECRETS.WEBAUTHN_RP_ID,
    });
    const creation = (await client.passkeyRegistrationOptions()) as { challenge: string };
    const { passkey } = await client.registerPasskey({
      response: credential(await device.register(creation)),
      name: "Laptop",
    });
    expect(passkey.name).toBe("Laptop");
    expect((await client.listPasskeys()).passkeys.map((p) => p.id)).toEqual([passkey.id]);

    const elsewhere = new AuthClient({ baseUrl: BASE, fetch: fetcher });
    const request = (await elsewhere.passkeySignInOptions()) as { challenge: string };
    const signedIn = await elsewhere.loginWithPasskey({
      response: credential(await device.assert(request, user.id)),
      deviceName: "Phone",
    });
    expect(signedIn.user.id).toBe(user.id);
    expect(await elsewhere.accessToken()).toBe(signedIn.tokens.accessToken);

    // Removing a passkey is recent and, with a factor enrolled, takes two: the passkey itself is one proof of both.
    const proof = (await client.reauthenticationPasskeyOptions()) as { challenge: string };
    await client.reauthenticate({ response: credential(await device.assert(proof, user.id)) });
    await expect(client.removePasskey(passkey.id)).resolves.toBeUndefined();
    expect((await client.listPasskeys()).passkeys).toEqual([]);
  });

  it("re-authenticates an account without a password by a mailed code: amr email, the same session", async () => {
    const client = new AuthClient({ baseUrl: BASE, fetch: countingFetch().fetcher });
    const email = uniqueEmail("client-passwordless");
    await client.requestEmailCode({ email });
    const waitFor = async (pattern: RegExp): Promise<string> => {
      for (let tries = 0; tries < 100; tries++) {
        const [mail] = (await inbox.all({ to: email })).filter((m) => pattern.test(m.subject));
        if (mail) return /^(\d{6})/.exec(mail.subject)![1]!;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no mail matching ${pattern} to ${email}`);
    };
    const { user } = await client.signInWithEmailCode({ email, code: await waitFor(/ is your sign-in code$/) });
    expect(user.hasPassword).toBe(false);
    await expect(client.requestReauthenticationCode()).resolves.toEqual({});
    const before = await client.accessToken();
    await client.reauthenticate({ emailCode: await waitFor(/ is your confirmation code$/) });
    const after = await client.accessToken();
    expect(after).not.toBe(before);
    const claims = JSON.parse(atob(after!.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { amr: string[] };
    expect(claims.amr).toEqual(["email"]);
  });

  it("deletes the account: the session ends here, and the address may register again", async () => {
    const { fetcher } = countingFetch();
    const ended: string[] = [];
    const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, onSessionEnded: (r) => ended.push(r) });
    const { user } = await registered(client);
    await expect(client.deleteMe({ currentPassword: STRONG_PASSWORD })).resolves.toBeUndefined();
    expect(ended).toEqual(["logged_out"]);
    expect(await client.accessToken()).toBeNull();
    const again = new AuthClient({ baseUrl: BASE, fetch: fetcher });
    const { user: reborn } = await again.register({ email: user.email, password: STRONG_PASSWORD });
    expect(reborn.id).not.toBe(user.id);
  });
});

describe("AuthClient in cookie mode", () => {
  type Seen = {
    method: string;
    url: string;
    mode: string | null;
    credentials: unknown;
    authorization: string | null;
    contentType: string | null;
    body: string | null;
  };

  /**
   * The service as the cookie-mode contract describes it: a session in the
   * cookie jar (one per browser: every tab shares it), tokens in the body
   * without a refresh token, 403 csrf_rejected for an unsafe request without
   * X-Auth-Mode. Workers' Request has no `credentials`, so the init is read as it is.
   */
  function cookieService() {
    const seen: Seen[] = [];
    let issued = 0;
    let session: string | null = null;
    const problem = (status: number, code: string) =>
      Response.json({ type: `https://secureauth.dev/errors/${code}`, title: code, status, code }, { status });
    const tokens = () => ({
      tokenType: "Bearer",
      accessToken: `at-${++issued}`,
      expiresIn: 900,
      refreshExpiresIn: 604800,
      sessionId: session!,
    });
    const fetcher: typeof fetch = async (input, init = {}) => {
      const url = new URL(String(input));
      const headers = new Headers(init.headers);
      const method = init.method ?? "GET";
      seen.push({
        method,
        url: url.href,
        mode: headers.get("X-Auth-Mode"),
        credentials: (init as { credentials?: unknown }).credentials,
        authorization: headers.get("Authorization"),
        contentType: headers.get("Content-Type"),
        body: typeof init.body === "string" ? init.body : init.body == null ? null : "?",
      });
      if (url.origin !== BASE) return new Response("ok");
      if (method !== "GET" && headers.get("X-Auth-Mode") !== "cookie") return problem(403, "csrf_rejected");
      switch (url.pathname) {
        case "/auth/login":
          session = crypto.randomUUID();
          return Response.json({ user: { id: "u1", email: "a@example.com" }, tokens: tokens(), deviceToken: "sadt_1" });
        case "/auth/refresh":
          return session ? Response.json({ tokens: tokens() }) : problem(401, "invalid_refresh_token");
        case "/auth/logout":
          session = null;
          return new Response(null, { status: 204 });
        case "/me":
          return headers.get("Authorization") === `Bearer at-${issued}`
            ? Response.json({ ok: true })
            : problem(401, "invalid_token");
      }
      return problem(404, "not_found");
    };
    return { fetcher, seen, refreshes: () => seen.filter((s) => s.url === `${BASE}/auth/refresh`).length };
  }

  it(
    "sends X-Auth-Mode: cookie and credentials: include on every request to " +
      "the service, the bearer only to trusted origins, and refreshes with no " +
      "body",
    async () => {
      const service = cookieService();
      let now = Date.now();
      const client = new AuthClient({
        baseUrl: BASE,
        mode: "cookie",
        fetch: service.fetcher,
        now: () => now,
        trustedOrigins: ["https://api.example.com"],
        coordination: false,
      });
      const { tokens } = await client.login({ email: "a@example.com", password: STRONG_PASSWORD });
      expect(tokens.refreshToken).toBeUndefined();
      expect((await client.fetch(`${BASE}/me`)).status).toBe(200);
      now += 1000_000;
      expect((await client.fetch(`${BASE}/me`)).status).toBe(200);
      await client.fetch("https://api.example.com/orders");
      await client.fetch("https://elsewhere.example/x");
      await client.logout();

      const toService = service.seen.filter((s) => s.url.startsWith(BASE));
      expect(toService.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([
        "POST /auth/login",
        "GET /me",
        "POST /auth/refresh",
        "GET /me",
        "POST /auth/logout",
      ]);
      for (const s of toService) {
        expect(s.mode, s.url).toBe("cookie");
        expect(s.credentials, s.url).toBe("include");
      }
      const refresh = toService.find((s) => s.url.endsWith("/auth/refresh"))!;
      expect(refresh).toMatchObject({ body: null, contentType: null, authorization: null });
      expect(toService.find((s) => s.url.endsWith("/auth/logout"))).toMatchObject({ authorization: "Bearer at-2" });
      expect(service.seen.find((s) => s.url === "https://api.example.com/orders")).toMatchObject({
        authorization: "Bearer at-2",
        mode: null,
        credentials: undefined,
      });
      expect(service.seen.find((s) => s.url === "https://elsewhere.example/x")).toMatchObject({
        authorization: null,
        mode: null,
        credentials: undefined,
      });
    },
  );

  it("a page just loaded asks the cookie once; with no session it is signed out and nothing 'ended'", async () => {
    const service = cookieService();
    const ended: string[] = [];
    const client = new AuthClient({
      baseUrl: BASE,
      mode: "cookie",
      fetch: service.fetcher,
      coordination: false,
      onSessionEnded: (r) => ended.push(r),
    });
    expect(await client.accessToken()).toBeNull();
    expect(await client.accessToken()).toBeNull();
    expect(service.refreshes()).toBe(1);
    expect(ended).toEqual([]);
  });

  it(
    "two tabs: a sign-in in one reaches the other; both expired at the same " +
      "instant make one refresh and end with the same access token; a logout " +
      "ends both",
    async () => {
      const service = cookieService();
      const browser = fakeBrowser();
      let now = Date.now();
      const ended: string[] = [];
      const tab = (name: string) =>
        new AuthClient({
          baseUrl: BASE,
          mode: "cookie",
          fetch: service.fetcher,
          now: () => now,
          coordination: { locks: browser.locks, channel: browser.channel() },
          onSessionEnded: (r) => ended.push(`${name} ${r}`),
        });
      const [a, b] = [tab("a"), tab("b")];
      await a.login({ email: "a@example.com", password: STRONG_PASSWORD });
      await settle();
      expect(await b.accessToken()).toBe("at-1");
      expect(service.refreshes()).toBe(0);

      now += 1000_000;
      const responses = await Promise.all([
        a.fetch(`${BASE}/me`),
        b.fetch(`${BASE}/me`),
        a.fetch(`${BASE}/me`),
        b.fetch(`${BASE}/me`),
      ]);
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(service.refreshes()).toBe(1);
      expect(await a.accessToken()).toBe("at-2");
      expect(await b.accessToken()).toBe("at-2");

      await b.logout();
      await settle();
      expect(ended.sort()).toEqual(["a logged_out", "b logged_out"]);
      expect(await a.accessToken()).toBeNull();
      a.close();
      b.close();
    },
  );

  it(
    "no refresh token crosses tabs: it never leaves the HttpOnly cookie; " +
      "only the access token and its expiry are broadcast",
    async () => {
      const service = cookieService();
      const browser = fakeBrowser();
      const heard = eavesdrop(browser);
      const client = new AuthClient({
        baseUrl: BASE,
        mode: "cookie",
        fetch: service.fetcher,
        coordination: { locks: browser.locks, channel: browser.channel() },
      });
      await client.login({ email: "a@example.com", password: STRONG_PASSWORD });
      await client.refresh();
      await client.logout();
      await settle();
      const shared = heard
        .filter((m) => (m as { type: string }).type === "tokens")
        .map((m) => Object.keys((m as { tokens: object }).tokens).sort());
      expect(shared).toEqual([
        ["accessExpiresAt", "accessToken", "expiresIn", "refreshExpiresIn", "sessionId", "tokenType"],
        ["accessExpiresAt", "accessToken", "expiresIn", "refreshExpiresIn", "sessionId", "tokenType"],
      ]);
      expect(JSON.stringify(heard)).not.toMatch(/refreshToken|sart_/);
      client.close();
    },
  );
});
