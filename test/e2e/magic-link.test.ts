// The magic link's page (/magic-link) in a real Chromium: opening the link
// signs nobody in (mail scanners follow links), its button does, in cookie
// mode on the service's own origin, and a spent link says so. An account
// with a second factor is asked for it on the same page. Each test stores a
// code row for a token of its own, as the queue consumer would (only the
// token's hash is stored), so it knows the link without reading the inbox
// (test/e2e/new-user-journey.test.ts reads the mail the service sends).
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { totpCode } from "../support/totp.ts";
import { bearer, markEmailVerified, postJson, register } from "./support/api.ts";
import { launchChromium } from "./support/browser.ts";

// Same-site with the page's own origin, where cookie mode's __Host- cookies live (localhost is a secure context).
const service = inject("serviceLocalhostUrl");
const databaseUrl = inject("databaseUrl");

async function sql<T>(text: string, params: unknown[]): Promise<T[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query(text, params)).rows as T[];
  } finally {
    await db.end();
  }
}

/** A live code row for `email`, as the queue consumer mints it; answers the magic link's token. */
async function mintedLink(email: string): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  const tokenHash = createHash("sha256").update(`email-link:${token}`).digest("hex");
  await sql(
    "insert into email_sign_in_codes (email, code_hash, token_hash, expires_at) " +
      "values ($1, $2, $3, now() + interval '10 minutes')",
    [email, "0".repeat(64), tokenHash],
  );
  return token;
}

const usedAt = async (email: string) =>
  (await sql<{ used_at: Date | null }>("select used_at from email_sign_in_codes where email = $1", [email]))[0]!
    .used_at;

describe("the magic link's page in Chromium", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const browserErrors: string[] = [];
  const posted: string[] = [];

  /**
   * What the page says once it says something: its status line (progress, success) or the alert under a form
   * (an error), which the page empties while a call is on its way.
   */
  async function shown(): Promise<string> {
    const until = Date.now() + 10_000;
    for (;;) {
      const text = (
        await page.$$eval("#status, [role=alert]", (regions) => regions.map((r) => r.textContent ?? "").join(""))
      ).trim();
      if ((text !== "" && text !== "...") || Date.now() > until) return text;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function freshPage(): Promise<void> {
    await context?.close().catch(() => {});
    context = await browser.newContext();
    page = await context.newPage();
    browserErrors.length = 0;
    posted.length = 0;
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource:"))
        browserErrors.push(message.text());
    });
    page.on("pageerror", (error) => browserErrors.push(String(error)));
    page.on("request", (request) => {
      if (request.method() === "POST") posted.push(new URL(request.url()).pathname);
    });
  }

  it(
    "opening the link signs nobody in (a mail scanner); the button signs in in cookie mode, and the link " +
      "works once",
    async () => {
      await freshPage();
      const { email } = await register(service, "magic");
      const token = await mintedLink(email);
      const loaded = await page.goto(`${service}/magic-link?token=${token}`);
      expect(loaded?.status()).toBe(200);
      // The script ran under the CSP and took the token out of the address bar, and spent nothing.
      await page.waitForURL((url) => url.search === "", { timeout: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(posted).toEqual([]);
      expect(await usedAt(email)).toBeNull();
      expect(await context.cookies(service)).toEqual([]);

      await page.click("button");
      expect(await shown()).toBe(`You are signed in. (${email})`);
      expect(posted).toEqual(["/auth/email/code/verify"]);
      expect(await usedAt(email)).not.toBeNull();
      const cookies = new Map((await context.cookies(service)).map((c) => [c.name, c]));
      for (const name of ["__Host-sa_rt", "__Host-sa_at", "__Host-sa_dev"])
        expect(cookies.get(name), name).toMatchObject({ httpOnly: true, secure: true });
      expect(await page.isVisible("form")).toBe(false);

      // The same link again (a second click from the mail): spent.
      await page.goto(`${service}/magic-link?token=${token}`);
      await page.click("button");
      expect(await shown()).toBe("Ask for a new code.");
      expect(await page.isDisabled("button")).toBe(false);
      expect(browserErrors).toEqual([]);
    },
  );

  it(
    "an account with a second factor is asked for it on the page, and a recovery code completes the " + "sign-in",
    async () => {
      await freshPage();
      const { email, tokens } = await register(service, "magic-mfa");
      await markEmailVerified(databaseUrl, email);
      const started = await postJson(`${service}/me/mfa/totp`, {}, bearer(tokens.accessToken));
      expect(started.status).toBe(200);
      const { secret } = (await started.json()) as { secret: string };
      const confirmed = await postJson(
        `${service}/me/mfa/totp/confirm`,
        { code: totpCode(secret) },
        bearer(tokens.accessToken),
      );
      expect(confirmed.status).toBe(200);
      const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };

      const token = await mintedLink(email);
      await page.goto(`${service}/magic-link?token=${token}`);
      await page.click("button");
      expect(await shown()).toBe("This account has a second factor: enter its code.");
      expect(await page.isVisible("form#factor")).toBe(true);
      expect(await context.cookies(service)).toEqual([]);

      await page.fill("form#factor input", recoveryCodes[0]!);
      await page.click("form#factor button");
      expect(await shown()).toBe(`You are signed in. (${email})`);
      expect(posted).toEqual(["/auth/email/code/verify", "/auth/mfa"]);
      expect((await context.cookies(service)).map((c) => c.name)).toContain("__Host-sa_rt");
      expect(browserErrors).toEqual([]);
    },
  );
});
