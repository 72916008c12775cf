// Passkeys in a real Chromium with a virtual authenticator (DevTools
// protocol, WebAuthn domain): test/e2e/pages/passkeys.html runs the
// ceremonies with @simplewebauthn/browser against the Worker, exactly as an
// app's page would. The contract:
//   POST /me/passkeys/options (Bearer, recent sign-in) -> 200 creation options JSON
//   POST /me/passkeys {response, name?}                -> 201 {passkey: {id, name, createdAt, lastUsedAt}}
//   GET  /me/passkeys                                  -> 200 {passkeys: [...]}
//   POST /auth/passkey/options {}                      -> 200 request options JSON (discoverable)
//   POST /auth/passkey {response, deviceName?}         -> 200 {user, tokens, deviceToken}, amr ["hwk","mfa"]
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { bearer, jwtPayload, markEmailVerified, postJson, register, type SignedIn } from "./support/api.ts";
import { addVirtualAuthenticator, launchChromium } from "./support/browser.ts";

const serviceUrl = inject("serviceUrl");
const pageUrl = inject("pageUrl");
const databaseUrl = inject("databaseUrl");

/** What passkeys.html answers for a ceremony: the step it reached, and the Worker's answer there. */
type Step = {
  step: "options" | "ceremony" | "save" | "sign-in";
  status?: number;
  contentType?: string | null;
  body?: unknown;
  error?: string;
  posted?: unknown;
};
/** window.passkeys of passkeys.html (typed here: the Node tsconfig has no DOM types). */
type PasskeysPage = {
  passkeys: {
    supported(): boolean;
    register(accessToken: string, name: string): Promise<Step>;
    signIn(deviceName: string): Promise<Step>;
  };
  passkeysReady?: boolean;
};

type Passkey = { id: string; name: string | null; createdAt: string; lastUsedAt: string | null };

const describeStep = (step: Step) => JSON.stringify(step, null, 2).slice(0, 4000);

describe("passkeys in Chromium with a virtual authenticator", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let user: SignedIn;
  /** The body the page posted to POST /auth/passkey, for the replay test. */
  let postedAssertion: unknown;

  beforeAll(async () => {
    user = await register(serviceUrl, "passkey");
    await markEmailVerified(databaseUrl, user.user.email);
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    const loaded = await page.goto(`${pageUrl}/passkeys.html?service=${encodeURIComponent(serviceUrl)}`);
    if (loaded?.status() !== 200) throw new Error(`passkeys.html answered ${loaded?.status()}`);
    await page.waitForFunction(() => (globalThis as unknown as PasskeysPage).passkeysReady === true, undefined, {
      timeout: 10_000,
    });
    ({ cdp, authenticatorId } = await addVirtualAuthenticator(page));
  });
  afterAll(async () => {
    await cdp?.detach().catch(() => {});
    await context?.close().catch(() => {});
    await browser?.close();
  });

  it("harness: the page loads @simplewebauthn/browser and the virtual authenticator is there", async () => {
    expect(await page.evaluate(() => (globalThis as unknown as PasskeysPage).passkeys.supported())).toBe(true);
    expect(authenticatorId).toEqual(expect.any(String));
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toEqual([]);
  });

  it("registers a passkey, then signs in with it alone (amr hwk+mfa), and lists it as used", async () => {
    const registered = await page.evaluate(
      ({ token }) => (globalThis as unknown as PasskeysPage).passkeys.register(token, "E2E virtual key"),
      { token: user.tokens.accessToken },
    );
    expect(registered, describeStep(registered)).toMatchObject({ step: "save", status: 201 });
    const { passkey } = registered.body as { passkey: Passkey };
    expect(passkey).toMatchObject({
      id: expect.any(String),
      name: "E2E virtual key",
      createdAt: expect.any(String),
      lastUsedAt: null,
    });

    // The authenticator holds one discoverable credential for rp id localhost now.
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: "localhost" });

    // No email, no password: the discoverable credential names the user.
    const signedIn = await page.evaluate(() => (globalThis as unknown as PasskeysPage).passkeys.signIn("E2E Chromium"));
    expect(signedIn, describeStep(signedIn)).toMatchObject({ step: "sign-in", status: 200 });
    postedAssertion = signedIn.posted;
    const body = signedIn.body as SignedIn & { deviceToken: string };
    expect(body.user.id).toBe(user.user.id);
    expect(body.deviceToken).toEqual(expect.any(String));
    const claims = jwtPayload(body.tokens.accessToken);
    expect(claims.sub).toBe(user.user.id);
    expect(claims.amr).toEqual(["hwk", "mfa"]);

    const listed = await fetch(`${serviceUrl}/me/passkeys`, { headers: bearer(body.tokens.accessToken) });
    expect(listed.status).toBe(200);
    const { passkeys } = (await listed.json()) as { passkeys: Passkey[] };
    expect(passkeys).toHaveLength(1);
    expect(passkeys[0]).toMatchObject({ id: passkey.id, name: "E2E virtual key" });
    expect(passkeys[0]!.lastUsedAt).toEqual(expect.any(String));
    expect(Number.isNaN(Date.parse(passkeys[0]!.lastUsedAt!))).toBe(false);
  });

  it("refuses the same assertion replayed (a challenge is single use)", async () => {
    expect(postedAssertion, "no assertion was captured: the sign-in above did not get that far").toBeDefined();
    const replay = await postJson(`${serviceUrl}/auth/passkey`, postedAssertion);
    expect([400, 401]).toContain(replay.status);
    expect(replay.headers.get("Content-Type") ?? "").toMatch(/^application\/problem\+json/);
    const problem = (await replay.json()) as { code?: string };
    expect(problem.code).toEqual(expect.any(String));
  });
});
