// A new user's first hour on the hosted pages, in a real Chromium, with the
// mail the service really sends (the stack's local inbox, maildev, reached
// over SMTP by the queue consumer): sign up, confirm the address from the
// mailed link, sign out, forget the password and set a new one from the
// mailed link, sign in with it, then sign in again with the six-digit code
// the service mails. Nothing is taken from the database or set by hand.
//
// The stack's APP_URL is the test app's origin (other tests need it), so a
// mailed link is opened at the same path and token on the service's own
// hosted pages, which is what a deployment whose APP_URL is the service sees.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PASSWORD, uniqueEmail } from "./support/api.ts";
import { launchChromium } from "./support/browser.ts";
import { ready, watchedPage } from "./support/hosted.ts";

const service = inject("serviceLocalhostUrl");
const inbox = inject("mailInboxUrl");

type Mail = { subject: string; text?: string; html?: string; to: { address: string }[] };

/** The newest mail to `address` whose subject matches, waiting up to 15 s for the queue to deliver it. */
async function mailTo(address: string, subject: RegExp, after = 0): Promise<Mail> {
  const until = Date.now() + 15_000;
  for (;;) {
    const mails = (await (await fetch(`${inbox}/api/email`)).json()) as Mail[];
    const mine = mails.filter((m) => m.to.some((to) => to.address === address) && subject.test(m.subject));
    if (mine.length > after) return mine.at(-1)!;
    if (Date.now() > until) throw new Error(`no mail "${subject}" to ${address}; the inbox has ${mails.length}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The mailed link of the plain-text part whose path is `path`, opened on the service's own pages. */
function linkIn(mail: Mail, path: string): string {
  const link = (mail.text ?? "").match(/https?:\/\/\S+/g)?.find((url) => new URL(url).pathname === path);
  if (!link) throw new Error(`no ${path} link in the mail "${mail.subject}"`);
  const { pathname, search } = new URL(link);
  return `${service}${pathname}${search}`;
}

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? "").trim();

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe("a new user, from sign-up to a forgotten password, with the mail the service sends", () => {
  const email = uniqueEmail("journey");
  const newPassword = "amber-lantern-orchard-58";

  it("signs up, confirms the address from the mail, resets a forgotten password from the mail, signs in by code", async () => {
    const context = await browser.newContext();
    const { page, errors } = await watchedPage(context);

    // Sign up: straight to the account page, which says the address is not confirmed yet.
    await page.goto(`${service}/sign-up`);
    await ready(page);
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.click("#sign-up-submit");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    await page.waitForSelector("#sessions li", { timeout: 15_000 });
    const unconfirmed = await text(page, "#email-state");

    // The confirmation mail: a button and the same link in the plain-text part.
    const welcome = await mailTo(email, /confirm|verify/i);
    expect(welcome.html).toContain("<a ");
    await page.goto(linkIn(welcome, "/verify-email"));
    await ready(page);
    expect(new URL(page.url()).search).toBe("");
    await page.click("#link-form button[type=submit]");
    await page.waitForSelector("#status:not(:empty)");
    await page.goto(`${service}/account`);
    await page.waitForSelector("#sessions li", { timeout: 15_000 });
    expect(await text(page, "#email-state")).not.toBe(unconfirmed);

    // Sign out, and forget the password.
    await page.click("#sign-out");
    await page.waitForURL(`${service}/sign-in`);
    await ready(page);
    await page.click("#forgot-link");
    await page.waitForURL(`${service}/forgot-password`);
    await ready(page);
    await page.fill("#email", email);
    await page.click("#forgot-form button[type=submit]");
    await page.waitForSelector("#status:not(:empty)");

    const reset = await mailTo(email, /password/i);
    await page.goto(linkIn(reset, "/reset-password"));
    await ready(page);
    expect(new URL(page.url()).search).toBe("");
    await page.fill("#password", newPassword);
    await page.click("#link-form button[type=submit]");
    await page.waitForSelector("#status:not(:empty)");

    // The old password no longer works; the new one does.
    await page.goto(`${service}/sign-in`);
    await ready(page);
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.click("#password-submit");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(await text(page, "#form-error")).toBe("The email address or the password is wrong.");
    await page.fill("#password", newPassword);
    await page.click("#password-submit");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    await page.waitForSelector("#sessions li", { timeout: 15_000 });
    await page.click("#sign-out");
    await page.waitForURL(`${service}/sign-in`);
    await ready(page);

    // Sign in with the code the service mails.
    await page.fill("#email", email);
    await page.click("#email-code");
    await page.waitForSelector("#step-email-code", { state: "visible" });
    const codeMail = await mailTo(email, /code|sign/i);
    const code = (codeMail.text ?? "").match(/\b\d{6}\b/)?.[0];
    expect(code).toMatch(/^\d{6}$/);
    await page.fill("#email-code-input", code!);
    await page.click("#email-code-form button[type=submit]");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    await page.waitForSelector("#sessions li", { timeout: 15_000 });
    expect(await text(page, "#email")).toBe(email);

    expect(errors).toEqual([]);
    await context.close();
  });
});
