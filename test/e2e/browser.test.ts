// The harness itself: Chromium loads a page from the page server, and the
// page's script calls the Worker cross-origin, which CORS allows for the
// configured origin (http://localhost:<pagePort>) and for no other.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./support/browser.ts";

const serviceUrl = inject("serviceUrl");
const pageUrl = inject("pageUrl");

type Smoke = { ok: true; status: number; contentType: string | null; body: unknown } | { ok: false; error: string };

describe("Chromium against the Worker", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("loads a page whose script gets CORS-allowed JSON from the Worker", async () => {
    const page = await browser.newPage();
    const health = page.waitForResponse((response) => response.url() === `${serviceUrl}/health`);
    const loaded = await page.goto(`${pageUrl}/index.html?service=${encodeURIComponent(serviceUrl)}`);
    expect(loaded?.status()).toBe(200);
    const result = (await page.evaluate("window.smoke")) as Smoke;
    expect(result).toMatchObject({ ok: true, status: 200, body: { status: "ok" } });
    expect(result.ok && result.contentType).toMatch(/^application\/json/);
    const headers = (await health).headers();
    expect(headers["access-control-allow-origin"]).toBe(pageUrl);
    expect(headers["access-control-allow-credentials"]).toBe("true");
    await page.close();
  });

  it("is refused by the browser from an origin not in ALLOWED_ORIGINS", async () => {
    const page = await browser.newPage();
    // The same page server under another origin (127.0.0.1 is not localhost to CORS).
    const otherOrigin = pageUrl.replace("//localhost:", "//127.0.0.1:");
    await page.goto(`${otherOrigin}/index.html?service=${encodeURIComponent(serviceUrl)}`);
    const result = (await page.evaluate("window.smoke")) as Smoke;
    expect(result.ok).toBe(false);
    await page.close();
  });
});
