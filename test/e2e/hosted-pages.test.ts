// The hosted pages in Chromium, as a user goes through them, on the Worker's
// own http://localhost origin (the pages' session in cookie mode; WebAuthn
// needs a domain): sign-up and sign-in with the keyboard alone, the errors a
// user meets said in words (a wrong password, a too common one, a wrong
// second-step code, a spent link) where a screen reader announces them and
// without moving the page, the second step with a TOTP code and with a
// recovery code, a passkey added on /account and then signing in with it
// (virtual authenticator), TOTP enrolment with its QR code, the sessions
// list, the app handoff ("Continue as", POST /auth/handoff, the code the
// app then exchanges at POST /auth/exchange), and the provider and
// email-code options drawn from GET /auth/providers. The service answers
// every call itself, but where a test needs an answer the real service never
// gives (a redirect elsewhere, a service without the providers route): that
// answer is set by page.route, and the test says so.
import { createHash, randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { jwtPayload, login, markEmailVerified, PASSWORD, postJson, register, uniqueEmail } from "./support/api.ts";
import { addVirtualAuthenticator, launchChromium } from "./support/browser.ts";
import { axeViolations, ready, screenshotPath, totpCode, userWithTotp, watchedPage } from "./support/hosted.ts";

const service = inject("serviceLocalhostUrl");
const databaseUrl = inject("databaseUrl");
const pageUrl = inject("pageUrl");
const idp = inject("identityProvidersUrl");

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** A fresh browser profile (no cookies) and a watched page in it. */
async function fresh(options: Parameters<Browser["newContext"]>[0] = {}) {
  const context = await browser.newContext(options);
  const { page, errors } = await watchedPage(context);
  return { context, page, errors };
}

const activeId = (page: Page) => page.evaluate("document.activeElement && document.activeElement.id");

/** Presses Tab until the element with `id` has focus (at most 12 times): the order the keyboard meets them. */
async function tabTo(page: Page, id: string): Promise<void> {
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    if ((await activeId(page)) === id) return;
  }
  throw new Error(`Tab never reached #${id}`);
}

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? "").trim();

async function signUpThroughPage(page: Page, email: string): Promise<void> {
  await page.goto(`${service}/sign-up`);
  await ready(page);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.click("#sign-up-submit");
  await page.waitForURL(`${service}/account`, { timeout: 15_000 });
  await page.waitForSelector("#sessions li", { timeout: 15_000 });
}

describe("sign-up and sign-in with the keyboard alone", () => {
  const email = uniqueEmail("keyboard");

  it("signs up: Tab reaches email, name, password and the button in that order; Enter submits; /account follows", async () => {
    const { context, page, errors } = await fresh();
    await page.goto(`${service}/sign-up`);
    await ready(page);
    await tabTo(page, "email");
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    expect(await activeId(page)).toBe("name");
    await page.keyboard.type("Grace Hopper");
    await page.keyboard.press("Tab");
    expect(await activeId(page)).toBe("password");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Tab");
    expect(await activeId(page)).toBe("sign-up-submit");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    await page.waitForSelector("#sessions li", { timeout: 15_000 });
    expect(await text(page, "#email")).toBe(email);
    expect(await page.inputValue("#name")).toBe("Grace Hopper");
    expect(await text(page, "#sessions li .badge")).toBe("This device");
    // The pages' session is the service's cookies, HttpOnly: nothing in the page's storage.
    const cookies = await context.cookies(service);
    expect(cookies.map((c) => c.name).sort()).toEqual(expect.arrayContaining(["__Host-sa_at", "__Host-sa_rt"]));
    expect(cookies.every((c) => c.httpOnly && c.secure)).toBe(true);
    await page.click("#sign-out");
    await page.waitForURL(`${service}/sign-in`);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("signs in: a wrong password is said in words, announced, without moving the page; then the right one", async () => {
    const { context, page, errors } = await fresh();
    await page.goto(`${service}/sign-in`);
    await ready(page);
    await tabTo(page, "email");
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    // The "Forgot your password?" link sits between the label and the field: the keyboard meets it first.
    expect(await activeId(page)).toBe("forgot-link");
    await page.keyboard.press("Tab");
    expect(await activeId(page)).toBe("password");
    await page.keyboard.type("not-my-password-at-all");
    const before = await page.locator("#passkey").boundingBox();
    await page.keyboard.press("Enter");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(await text(page, "#form-error")).toBe("The email address or the password is wrong.");
    expect(await page.getAttribute("#form-error", "role")).toBe("alert");
    expect(await page.locator("#passkey").boundingBox()).toEqual(before);
    expect(await page.inputValue("#password")).toBe("");
    await page.focus("#password");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("the errors a user meets", () => {
  it("a too common password at sign-up: said in words on the field, which gets the focus", async () => {
    const { context, page } = await fresh();
    await page.goto(`${service}/sign-up`);
    await ready(page);
    await page.fill("#email", uniqueEmail("common"));
    await page.fill("#password", "012345678910");
    await page.click("#sign-up-submit");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(await text(page, "#form-error")).toBe("This password is too common. Choose one that is harder to guess.");
    expect(await page.getAttribute("#password", "aria-invalid")).toBe("true");
    expect(await activeId(page)).toBe("password");
    expect(page.url()).toBe(`${service}/sign-up`);
    await context.close();
  });

  it("an expired or spent reset link: the token leaves the address bar at once; pressing says so, with a new link", async () => {
    const { context, page, errors } = await fresh();
    const posted: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST") posted.push(new URL(request.url()).pathname);
    });
    await page.goto(`${service}/reset-password?token=made-up-token`);
    await ready(page);
    expect(new URL(page.url()).search).toBe("");
    expect(posted).toEqual([]);
    await page.fill("#password", "violet-kestrel-harbour-31");
    await page.click("#link-form button[type=submit]");
    await page.waitForSelector("#new-link", { state: "visible" });
    expect(await text(page, "#form-error")).toBe("This link has expired or was already used. Ask for a new one.");
    expect(posted).toEqual(["/auth/password/reset"]);
    expect(await page.getAttribute("#new-link a", "href")).toBe("/forgot-password");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("an address not confirmed yet (REQUIRE_VERIFIED_EMAIL): the page says what to do, in words", async () => {
    const { context, page } = await fresh();
    // The e2e stack does not require a verified address: the service's answer is set as the contract has it.
    await page.route(`${service}/auth/login`, (route) =>
      route.fulfill({
        status: 403,
        contentType: "application/problem+json",
        body: JSON.stringify({
          type: "https://secureauth.dev/errors/email_not_verified",
          title: "Email not verified",
          status: 403,
          code: "email_not_verified",
        }),
      }),
    );
    await page.goto(`${service}/sign-in`);
    await ready(page);
    await page.fill("#email", "unconfirmed@example.com");
    await page.fill("#password", PASSWORD);
    await page.click("#password-submit");
    await page.waitForSelector("#step-unverified", { state: "visible" });
    expect(await activeId(page)).toBe("unverified-heading");
    expect(await text(page, "#step-unverified p")).toMatch(/^Before you can sign in, confirm your email address/);
    expect(await page.innerText("main")).not.toContain("email_not_verified");
    await context.close();
  });

  it("a link without its token says so and offers no button", async () => {
    const { context, page } = await fresh();
    await page.goto(`${service}/verify-email`);
    await ready(page);
    expect(await text(page, "#form-error")).toBe("This link is incomplete. Open the link from the email again.");
    expect(await page.isVisible("#link-form")).toBe(false);
    await context.close();
  });

  it("forgot password: the same words whatever the address", async () => {
    const { context, page } = await fresh();
    await page.goto(`${service}/forgot-password`);
    await ready(page);
    await page.fill("#email", "nobody-here@example.com");
    await page.click("#forgot-form button[type=submit]");
    await page.waitForSelector("#status:not(:empty)");
    expect(await text(page, "#status")).toBe(
      "If an account uses nobody-here@example.com, a link is on its way. It works for 30 minutes.",
    );
    await context.close();
  });
});

describe("the second step", () => {
  let account: Awaited<ReturnType<typeof userWithTotp>>;
  beforeAll(async () => {
    account = await userWithTotp(service, databaseUrl, "second-step");
  });

  async function toSecondStep(page: Page): Promise<void> {
    await page.goto(`${service}/sign-in`);
    await ready(page);
    await page.fill("#email", account.email);
    await page.fill("#password", PASSWORD);
    await page.click("#password-submit");
    await page.waitForSelector("#step-mfa", { state: "visible" });
    expect(await activeId(page)).toBe("mfa-heading");
  }

  it("with a TOTP code, after a wrong one said in words", async () => {
    const { context, page, errors } = await fresh();
    await toSecondStep(page);
    expect(await page.getAttribute("#mfa-code", "autocomplete")).toBe("one-time-code");
    await page.fill("#mfa-code", "000000");
    await page.click("#mfa-submit");
    await page.waitForSelector("#mfa-error:not(:empty)");
    expect(await text(page, "#mfa-error")).toBe(
      "That code is not right. Codes change every 30 seconds: try the newest one.",
    );
    // The next time step's code: the current one was spent confirming the enrolment (a code is accepted once).
    await page.fill("#mfa-code", totpCode(account.secret, Date.now() + 30_000));
    await page.click("#mfa-submit");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    await page.waitForSelector("#sessions li");
    expect(await text(page, "#totp-state")).toBe("Authenticator app: on");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("with a recovery code", async () => {
    const { context, page, errors } = await fresh();
    await toSecondStep(page);
    await page.click("#mfa-toggle");
    expect(await activeId(page)).toBe("mfa-recovery");
    await page.fill("#mfa-recovery", account.recoveryCodes[0]!);
    await page.click("#mfa-submit");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("the account page and passkeys, with a virtual authenticator", () => {
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let authenticator: Awaited<ReturnType<typeof addVirtualAuthenticator>>;
  const email = uniqueEmail("passkey");
  /** Whether the virtual authenticator answers a request by itself, as a user touching it would. */
  const presence = (enabled: boolean) =>
    authenticator.cdp.send("WebAuthn.setAutomaticPresenceSimulation", {
      authenticatorId: authenticator.authenticatorId,
      enabled,
    });

  beforeAll(async () => {
    ({ context, page, errors } = await fresh());
    authenticator = await addVirtualAuthenticator(page);
    await signUpThroughPage(page, email);
    // v3: a factor or a passkey only for a verified address (the e2e stack sends no mail).
    await markEmailVerified(databaseUrl, email);
    await page.reload();
    await page.waitForSelector("#sessions li");
  });
  afterAll(async () => {
    await context?.close();
  });

  it("lists where the account is signed in, marks this device, and signs out the others", async () => {
    await login(service, email); // another device
    await page.reload();
    await page.waitForSelector("#sessions li:nth-child(2)");
    expect(await page.locator("#sessions li").count()).toBe(2);
    await page.click("#end-others");
    await page.waitForSelector("#status:not(:empty)");
    expect(await text(page, "#status")).toBe("All your other devices are signed out.");
    expect(await page.locator("#sessions li").count()).toBe(1);
    expect(await text(page, "#sessions li .badge")).toBe("This device");
  });

  it("turns on TOTP from its QR code, and shows the recovery codes once", async () => {
    await page.click("#totp-enrol");
    await page.waitForSelector("#totp-pending", { state: "visible" });
    // A string: the page's CSP refuses eval, and Playwright's function form evaluates through it.
    await page.waitForSelector("#totp-qr[src^='data:image/svg+xml']");
    expect(await page.evaluate("document.getElementById('totp-qr').complete")).toBe(true);
    expect(await page.evaluate("document.getElementById('totp-qr').naturalWidth")).toBeGreaterThan(0);
    const secret = (await text(page, "#totp-secret")).replace(/\s/g, "");
    await page.fill("#totp-code", totpCode(secret));
    await page.click("#totp-form button[type=submit]");
    await page.waitForSelector("#recovery", { state: "visible" });
    expect(await page.locator("#recovery-list li").count()).toBe(10);
    expect(await text(page, "#totp-state")).toBe("Authenticator app: on");
    await page.click("#recovery-done");
    expect(await page.locator("#recovery-list li").count()).toBe(0);
  });

  it("adds a passkey (confirming it is the user first: two steps are on now), then signs in with it alone", async () => {
    await page.fill("#passkey-name", "Laptop");
    await page.click("#passkey-form button[type=submit]");
    // TOTP is on: the password-only sign-in is not strong enough for a new passkey, so the page asks, offering the
    // password with a code from the app or a recovery code (the methods the service's answer lists).
    await page.waitForSelector("#reauth[open]", { timeout: 15_000 });
    expect(await page.isVisible("#reauth-code-field")).toBe(true);
    expect(await page.isVisible("#reauth-recovery-field")).toBe(true);
    expect(await activeId(page)).toBe("reauth-password");
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: screenshotPath("account-reauth-light-1280") });
    await page.fill("#reauth-password", PASSWORD);
    const secret = String(await page.evaluate("document.getElementById('totp-secret').textContent"));
    // The next step's code: this step's was spent turning TOTP on.
    await page.fill("#reauth-code", totpCode(secret.replace(/\s/g, ""), Date.now() + 30_000));
    await page.click("#reauth-submit");
    await page.waitForSelector("#passkeys li strong", { timeout: 15_000 });
    expect(await text(page, "#passkeys li strong")).toBe("Laptop");
    // The user does not touch the authenticator for the email field's autofill request (conditional mediation), which
    // stays pending; otherwise the virtual one answers it at once and signs in before the button is reached.
    await presence(false);
    await page.click("#sign-out");
    await page.waitForURL(`${service}/sign-in`);
    await ready(page);
    // By the keyboard: the button aborts the pending autofill request before asking for a passkey itself, which the
    // user then confirms.
    await page.focus("#passkey");
    await page.keyboard.press("Enter");
    await presence(true);
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    await page.waitForSelector("#sessions li");
    expect(errors).toEqual([]);
  });
});

describe("the app handoff", () => {
  const redirectTo = `${pageUrl}/callback`;

  /** What the app's redirectToSignIn makes: a verifier it keeps, and the /sign-in query with its S256 challenge. */
  async function appRequest(state = "app-state-1") {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const query = new URLSearchParams({
      redirect_to: redirectTo,
      code_challenge: challenge,
      code_challenge_method: "S256",
      state,
    });
    return { verifier, challenge, query };
  }

  /** The app's half: the code it came back with, exchanged with its verifier. */
  async function exchanged(url: string, verifier: string) {
    const code = new URL(url).searchParams.get("code") ?? "";
    const res = await postJson(`${service}/auth/exchange`, { code, codeVerifier: verifier });
    return { res, code };
  }

  it("signs in with a password and goes straight back to the app with a code POST /auth/exchange accepts", async () => {
    const { context, page, errors } = await fresh();
    const { email, user } = await register(service, "handoff-fresh");
    const app = await appRequest("fresh-state");
    await page.goto(`${service}/sign-in?${app.query}`);
    await ready(page);
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.click("#password-submit");
    await page.waitForURL((url) => url.pathname === "/callback", { timeout: 15_000 });
    const back = new URL(page.url());
    expect(back.origin + back.pathname).toBe(redirectTo);
    expect(back.searchParams.get("state")).toBe("fresh-state");

    const { res, code } = await exchanged(page.url(), app.verifier);
    expect(res.status).toBe(200);
    const signedIn = (await res.json()) as { user: { id: string }; tokens: { accessToken: string } };
    expect(signedIn.user.id).toBe(user.id);
    // The app's session is its own, proved as the page's was: a password, just now.
    const claims = jwtPayload(signedIn.tokens.accessToken);
    expect(claims.amr).toEqual(["pwd"]);
    expect(Math.abs((claims.auth_time as number) - Date.now() / 1000)).toBeLessThan(120);
    // A code is good once.
    const again = await postJson(`${service}/auth/exchange`, { code, codeVerifier: app.verifier });
    expect(again.status).toBe(400);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a provider's button: its login, back to /sign-in, then on to the app with a code", async () => {
    const { context, page, errors } = await fresh();
    const sub = `e2e-hosted-acme-${Date.now()}`;
    const created = await fetch(`${idp}/control/accounts`, {
      method: "POST",
      body: JSON.stringify({ sub, claims: { email: `${sub}@acme.example`, email_verified: true } }),
    });
    expect(created.status).toBe(204);
    const app = await appRequest("provider-state");
    await page.goto(`${service}/sign-in?${app.query}`);
    await ready(page);
    await page.click("#providers a:has-text('Acme SSO')");
    // The provider's own login page, on its own site.
    await page.waitForURL((url) => url.href.startsWith(idp) && url.pathname.includes("/interaction/"));
    await page.fill("input[name=login]", sub);
    await page.click("button[type=submit]");
    await page.waitForURL((url) => url.pathname === "/callback", { timeout: 20_000 });
    expect(new URL(page.url()).searchParams.get("state")).toBe("provider-state");
    const { res } = await exchanged(page.url(), app.verifier);
    expect(res.status).toBe(200);
    const signedIn = (await res.json()) as { user: { email: string }; tokens: { accessToken: string } };
    expect(signedIn.user.email).toBe(`${sub}@acme.example`);
    expect(jwtPayload(signedIn.tokens.accessToken).amr).toEqual(["fed"]);
    // The page's own session stays on the service's origin: /account opens signed in.
    expect((await context.cookies(service)).map((c) => c.name)).toContain("__Host-sa_rt");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("signed in already: asks first (Continue as), then posts the handoff and follows its redirect", async () => {
    const { context, page, errors } = await fresh();
    const email = uniqueEmail("handoff");
    await signUpThroughPage(page, email);
    const handoffs: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/auth/handoff") handoffs.push(request.postData() ?? "");
    });
    const app = await appRequest();
    await page.goto(`${service}/sign-in?${app.query}`);
    await ready(page);
    await page.waitForSelector("#step-continue", { state: "visible" });
    expect(await text(page, "#continue")).toBe(`Continue as ${email}`);
    expect(handoffs).toEqual([]); // nothing until the user says so
    await page.click("#continue");
    await page.waitForURL((url) => url.pathname === "/callback", { timeout: 15_000 });
    expect(new URL(page.url()).searchParams.get("state")).toBe("app-state-1");
    expect(handoffs.map((body) => JSON.parse(body))).toEqual([
      { redirectTo, codeChallenge: app.challenge, state: "app-state-1" },
    ]);
    const { res } = await exchanged(page.url(), app.verifier);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { email: string } }).user.email).toBe(email);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("an address the service does not know: the service refuses the handoff, the page says so in words", async () => {
    const { context, page } = await fresh();
    await signUpThroughPage(page, uniqueEmail("handoff-unknown"));
    const app = await appRequest();
    app.query.set("redirect_to", `${pageUrl}/not-registered`);
    await page.goto(`${service}/sign-in?${app.query}`);
    await page.waitForSelector("#step-continue", { state: "visible" });
    const answered = page.waitForResponse((res) => new URL(res.url()).pathname === "/auth/handoff");
    await page.click("#continue");
    expect((await answered).status()).toBe(400);
    await page.waitForSelector("#form-error:not(:empty)");
    expect(new URL(page.url()).origin).toBe(service);
    expect(await text(page, "#form-error")).toBe(
      "The app sent you here with an address we do not know. Open the app again.",
    );
    await context.close();
  });

  it("follows no redirect but the one the app asked for, and says so when the service cannot hand off", async () => {
    const { context, page } = await fresh();
    await signUpThroughPage(page, uniqueEmail("handoff-elsewhere"));
    // An answer the real service never gives (it sends back only to the redirectTo it checked): the page's own check.
    await page.route(`${service}/auth/handoff`, (route) =>
      route.fulfill({
        status: 200,
        contentType: "application/json",
        body: JSON.stringify({ redirect: "https://evil.example/callback?code=x" }),
      }),
    );
    const app = await appRequest();
    await page.goto(`${service}/sign-in?${app.query}`);
    await page.waitForSelector("#step-continue", { state: "visible" });
    await page.click("#continue");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(new URL(page.url()).origin).toBe(service);
    expect(await text(page, "#form-error")).toBe(
      "We could not send you back to the app. Open the app again and sign in from there.",
    );
    await context.close();
  });
});

describe("the app handoff's challenge method", () => {
  it("refuses a code_challenge_method other than S256, in words, and posts no handoff", async () => {
    const { context, page } = await fresh();
    const handoffs: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/auth/handoff") handoffs.push(request.url());
    });
    const query = new URLSearchParams({
      redirect_to: `${pageUrl}/callback`,
      code_challenge: "plain-challenge",
      code_challenge_method: "plain",
    });
    await page.goto(`${service}/sign-in?${query}`);
    await ready(page);
    expect(await text(page, "#form-error")).toBe(
      "The app sent you here with an address we do not know. Open the app again.",
    );
    expect(handoffs).toEqual([]);
    await context.close();
  });
});

describe("the methods GET /auth/providers turns on", () => {
  it("a service without the route (404): no provider button and no email-code option, the rest works", async () => {
    const { context, page, errors } = await fresh();
    // This service has the route; an older one answers 404, which the page must survive.
    await page.route(`${service}/auth/providers`, (route) =>
      route.fulfill({ status: 404, contentType: "application/problem+json", body: JSON.stringify({ status: 404 }) }),
    );
    await page.goto(`${service}/sign-in`);
    await ready(page);
    expect(await page.isVisible("#providers")).toBe(false);
    expect(await page.isVisible("#email-code")).toBe(false);
    expect(await page.isVisible("#passkey")).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("with providers and email sign-in: a button per provider starting the flow with PKCE, and the email code", async () => {
    const { context, page, errors } = await fresh();
    const codes: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/auth/email/code") codes.push(request.postData() ?? "");
    });
    const answered = page.waitForResponse((res) => new URL(res.url()).pathname === "/auth/email/code");
    await page.goto(`${service}/sign-in`);
    await ready(page);
    await page.waitForSelector("#providers a");
    // The stack's providers (test/e2e/setup/stack.ts): the built-in Apple first, then the OpenID provider.
    expect(await page.locator("#providers a").allTextContents()).toEqual([
      "Continue with Apple",
      "Continue with Acme SSO",
    ]);
    const href = new URL((await page.getAttribute("#providers a", "href"))!, service);
    expect(href.pathname).toBe("/auth/oauth/apple");
    expect(href.searchParams.get("redirect_to")).toBe(`${service}/sign-in`);
    expect(href.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(href.searchParams.get("code_challenge_method")).toBe("S256");
    expect(href.searchParams.get("state")).toBeTruthy();

    await page.fill("#email", "someone@example.com");
    await page.click("#email-code");
    await page.waitForSelector("#step-email-code", { state: "visible" });
    expect((await answered).status()).toBe(202);
    expect(codes.map((body) => JSON.parse(body))).toEqual([{ email: "someone@example.com" }]);
    expect(await page.getAttribute("#email-code-input", "autocomplete")).toBe("one-time-code");
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("the language", () => {
  it("a browser set to French gets the pages in French", async () => {
    const { context, page } = await fresh({ locale: "fr-FR" });
    await page.goto(`${service}/sign-in`);
    await ready(page);
    expect(await page.getAttribute("html", "lang")).toBe("fr");
    expect(await text(page, "h1")).toBe("Se connecter à SecureAuth");
    await page.fill("#email", "personne@example.com");
    await page.fill("#password", "pas-le-bon-mot-de-passe");
    await page.click("#password-submit");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(await text(page, "#form-error")).toBe("L’adresse e-mail ou le mot de passe est incorrect.");
    await context.close();
  });
});
