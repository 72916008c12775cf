// Federated sign-in end to end in Chromium, with the built client: an app
// page draws its buttons from GET /auth/providers, the browser goes to the
// provider (oidc-provider on 127.0.0.1, another site than the service's
// localhost), signs in there, comes back through the service's callback
// (Apple's by a cross-site form_post, which only a SameSite=None binding
// cookie survives), and the page exchanges the code.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./support/browser.ts";

const service = inject("serviceLocalhostUrl");
const pageUrl = inject("pageUrl");
const idp = inject("identityProvidersUrl");

async function providerAccount(sub: string, claims: Record<string, unknown>) {
  const res = await fetch(`${idp}/control/accounts`, { method: "POST", body: JSON.stringify({ sub, claims }) });
  expect(res.status).toBe(204);
}

async function signIn(page: Page, provider: string, login: string) {
  await page.goto(`${pageUrl}/federation.html?service=${encodeURIComponent(service)}`);
  await page.waitForFunction("window.result !== undefined");
  await page.click(`#sign-in-${provider}`);
  // The provider's own login page, on its own site.
  await page.waitForURL((url) => url.href.startsWith(idp) && url.pathname.includes("/interaction/"));
  await page.fill("input[name=login]", login);
  await page.click("button[type=submit]");
  await page.waitForURL((url) => url.href.startsWith(`${pageUrl}/federation.html?`));
  await page.waitForFunction("window.result !== undefined && !('providers' in window.result)");
  return (await page.evaluate("window.result")) as Record<string, unknown>;
}

describe("federated sign-in in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("signs in through a generic OpenID provider: app page, provider login, back, exchange", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const sub = `e2e-acme-${Date.now()}`;
    await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
    expect(await signIn(page, "acme", sub)).toEqual({
      kind: "signed_in",
      isNewUser: true,
      email: `${sub}@acme.example`,
    });
    // The flow's binding cookie was spent with it.
    const cookies = await context.cookies(service);
    expect(cookies.filter((c) => c.name.startsWith("__Host-sa_oauth_"))).toEqual([]);
    await context.close();
  });

  it(
    "signs in through Apple's form_post: a cross-site POST that carries " + "the SameSite=None binding cookie",
    async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const sub = `e2e-apple-${Date.now()}`;
      await providerAccount(sub, { email: `${sub}@privaterelay.example`, email_verified: "true" });
      const posts: string[] = [];
      page.on("request", (request) => {
        if (request.method() === "POST" && request.url().includes("/auth/oauth/apple/callback"))
          posts.push(request.url());
      });
      expect(await signIn(page, "apple", sub)).toMatchObject({ kind: "signed_in", isNewUser: true });
      expect(posts).toHaveLength(1);
      await context.close();
    },
  );
});
