// The example app (examples/hosted-sign-in) in Chromium, served on
// http://127.0.0.1, another site than the service's http://localhost: its
// "Sign in" button lands on the service's hosted /sign-in page (the client's
// redirectToSignIn), a password signs in there, and the browser comes back to
// the app's /callback, whose one-time code the app exchanges (handleRedirect,
// POST /auth/exchange) for a session of its own: the user shown from GET /me,
// then signed out. The code is good once: neither the app's own return page
// opened again nor anyone holding the code and its verifier gets a session.
import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PASSWORD, postJson, register } from "./support/api.ts";
import { launchChromium } from "./support/browser.ts";
import { ready, watchedPage } from "./support/hosted.ts";

const service = inject("serviceLocalhostUrl");
const app = inject("exampleAppUrl");

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? "").trim();

type Exchanged = { user: { id: string }; tokens: { accessToken: string; refreshToken: string } };

/**
 * From the app's "Sign in" to the app showing the user: what the browser went through, the app's POST
 * /auth/exchange (its body: the code and the verifier) and the service's answer to it.
 */
async function signInThroughApp(page: Page, email: string) {
  await page.goto(app);
  await page.waitForSelector("#sign-in", { state: "visible" });
  await page.click("#sign-in");
  await page.waitForURL((url) => url.origin === service && url.pathname === "/sign-in");
  const asked = new URL(page.url()).searchParams;
  await ready(page);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  const returned = page.waitForRequest((r) => r.isNavigationRequest() && r.url().startsWith(`${app}/callback?`));
  const exchange = page.waitForRequest((r) => r.method() === "POST" && r.url() === `${service}/auth/exchange`);
  const answer = page.waitForResponse((r) => r.request().method() === "POST" && r.url() === `${service}/auth/exchange`);
  await page.click("#password-submit");
  const callback = new URL((await returned).url());
  await page.waitForSelector("#signed-in", { state: "visible", timeout: 15_000 });
  const exchangeBody = JSON.parse((await exchange).postData() ?? "{}") as { code: string; codeVerifier: string };
  const exchanged = (await (await answer).json()) as Exchanged;
  return { asked, callback, exchangeBody, exchanged };
}

describe("the example app signs in through the hosted page", () => {
  it("Sign in lands on the hosted page; a password there brings the user back to the app, shown; Sign out ends it", async () => {
    const context = await browser.newContext();
    const { page, errors } = await watchedPage(context);
    const { email, user } = await register(service, "example-app");
    const me: string[] = [];
    page.on("request", (r) => {
      if (r.url() === `${service}/me`) me.push(r.method());
    });

    const { asked, callback, exchangeBody, exchanged } = await signInThroughApp(page, email);
    // The hosted page was asked as the handoff has it: the app's exact return URL, a S256 challenge, a state.
    expect(asked.get("redirect_to")).toBe(`${app}/callback`);
    expect(asked.get("code_challenge_method")).toBe("S256");
    expect(asked.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(callback.searchParams.get("state")).toBe(asked.get("state"));
    expect(exchangeBody.code).toBe(callback.searchParams.get("code"));
    expect(exchanged.user.id).toBe(user.id);
    // The user, as GET /me answers it; the code gone from the address bar.
    expect(me).toEqual(["GET"]);
    expect(await text(page, "#user-email")).toBe(email);
    expect(await text(page, "#user-id")).toBe(user.id);
    expect(await text(page, "#user-name")).toBe("E2E example-app");
    expect(page.url()).toBe(`${app}/`);
    // Nothing of the app's session in its storage: the tokens live in the page's memory.
    expect(await page.evaluate("JSON.stringify({ ...sessionStorage, ...localStorage })")).toBe("{}");

    const loggedOut = page.waitForResponse((r) => r.url() === `${service}/auth/logout`);
    await page.click("#sign-out");
    expect((await loggedOut).status()).toBe(204);
    await page.waitForSelector("#signed-out", { state: "visible" });
    const refreshed = await postJson(`${service}/auth/refresh`, { refreshToken: exchanged.tokens.refreshToken });
    expect(refreshed.status).toBe(401);

    // The hosted page's own session stays: signing in again is one press, "Continue as", after which the app
    // holds a new session of its own.
    await page.click("#sign-in");
    await page.waitForSelector("#step-continue", { state: "visible" });
    expect(await text(page, "#continue")).toBe(`Continue as ${email}`);
    await page.click("#continue");
    await page.waitForSelector("#signed-in", { state: "visible", timeout: 15_000 });
    expect(await text(page, "#user-email")).toBe(email);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("exchanges a code once: the app's return opened again exchanges nothing, and a replay is refused", async () => {
    const context = await browser.newContext();
    const { page } = await watchedPage(context);
    const { email } = await register(service, "example-replay");
    const { callback, exchangeBody, exchanged } = await signInThroughApp(page, email);

    // The same return address opened again: the tab's flow for that state is spent, so the app posts nothing.
    const exchanges: Request[] = [];
    page.on("request", (r) => {
      if (r.url() === `${service}/auth/exchange`) exchanges.push(r);
    });
    await page.goto(callback.href);
    await page.waitForSelector("#signed-out", { state: "visible" });
    expect(page.url()).toBe(`${app}/`);
    expect(exchanges).toEqual([]);

    // Whoever holds the code and its verifier (the very request the app sent) gets no session: 400, and the session
    // the first exchange opened ends with it.
    const again = await postJson(`${service}/auth/exchange`, exchangeBody);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { code: string }).code).toBe("invalid_one_time_token");
    const refreshed = await postJson(`${service}/auth/refresh`, { refreshToken: exchanged.tokens.refreshToken });
    expect(refreshed.status).toBe(401);
    await context.close();
  });
});
