// The mailed links' pages (/verify-email, /reset-password, /confirm-email)
// in a real Chromium: their one bundled script runs under the page's CSP
// (allowed by its hash), takes the token out of the address bar, and on a
// click spends it through the client package, showing the service's answer.
// A made-up token is refused, and the page says why.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./support/browser.ts";

const serviceUrl = inject("serviceUrl");

describe("the link pages in Chromium", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** What the browser reported that the page did not handle: CSP refusals, script errors. */
  const browserErrors: string[] = [];
  const posted: string[] = [];

  /** The status line once it says something other than the "..." of a call on its way (no eval: the CSP forbids it). */
  async function shown(): Promise<string> {
    const until = Date.now() + 10_000;
    for (;;) {
      const text = ((await page.textContent("output")) ?? "").trim();
      if ((text !== "" && text !== "...") || Date.now() > until) return text;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource:"))
        browserErrors.push(message.text());
    });
    page.on("pageerror", (error) => browserErrors.push(String(error)));
    page.on("request", (request) => {
      if (request.method() === "POST") posted.push(`${new URL(request.url()).pathname} ${request.postData()}`);
    });
  });
  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
  });

  for (const [path, endpoint, password] of [
    ["/verify-email", "/auth/email/verify", false],
    ["/reset-password", "/auth/password/reset", true],
    ["/confirm-email", "/auth/email/change", false],
  ] as const) {
    it(`${path} posts a link's token to ${endpoint} on a click and shows the refusal of a made-up one`, async () => {
      posted.length = 0;
      const loaded = await page.goto(`${serviceUrl}${path}?token=made-up-token`);
      expect(loaded?.status()).toBe(200);
      // The script ran (the CSP allowed it by its hash): the token is gone from the address bar.
      await page.waitForURL((url) => url.search === "", { timeout: 10_000 });
      expect(posted).toEqual([]);
      if (password) await page.fill("input[name=newPassword]", "violet-kestrel-harbour-31");
      await page.click("button");
      const said = await shown();
      const body = password
        ? { token: "made-up-token", newPassword: "violet-kestrel-harbour-31" }
        : { token: "made-up-token" };
      expect(posted).toEqual([`${endpoint} ${JSON.stringify(body)}`]);
      expect(said).not.toBe("");
      expect(said).not.toMatch(/could not be reached|Something went wrong/);
      expect(await page.isVisible("form")).toBe(true);
      expect(await page.isDisabled("button")).toBe(false);
      expect(browserErrors).toEqual([]);
    });
  }

  it("says so when the link has no token, and offers no button", async () => {
    await page.goto(`${serviceUrl}/verify-email`);
    expect(await shown()).toBe("This link has no token. Open the link from the mail again.");
    expect(await page.isVisible("form")).toBe(false);
    expect(browserErrors).toEqual([]);
  });
});
