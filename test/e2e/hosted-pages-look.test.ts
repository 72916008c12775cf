// Every hosted page, and the states a user meets on them (an error shown,
// the second step, a spent link, an invitation's outcomes, an
// organization's members), in light and dark themes: axe-core finds
// no WCAG 2.2 A or AA violation, and a screenshot at 1280 and 360 px wide
// goes to artifacts/screenshots/<page>-<theme>-<width>.png for a reviewer.
// At 360 px nothing scrolls sideways.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { bearer, login, markEmailVerified, PASSWORD, postJson, register, uniqueEmail } from "./support/api.ts";
import { launchChromium } from "./support/browser.ts";
import { axeViolations, ready, screenshotPath, userWithTotp, watchedPage } from "./support/hosted.ts";
import { linkIn, mailTo } from "./support/mail.ts";

const service = inject("serviceLocalhostUrl");
const databaseUrl = inject("databaseUrl");
const inbox = inject("mailInboxUrl");

/** Signed out, the account signed up on the pages (its address unconfirmed), or an organization's owner. */
type View = { name: string; path: string; as?: "user" | "owner"; act?: (page: Page) => Promise<void> };

let totpEmail = "";
/** A real invitation's link (to an address neither signed-in account has), and its organization's id. */
let invitationPath = "";
let orgId = "";

const pressAccept = async (page: Page) => {
  await page.click("#accept");
  await page.waitForSelector("#form-error:not(:empty)");
};

const VIEWS: View[] = [
  { name: "sign-in", path: "/sign-in" },
  {
    name: "sign-in-error",
    path: "/sign-in",
    act: async (page) => {
      await page.fill("#email", "nobody@example.com");
      await page.fill("#password", "not-the-password-at-all");
      await page.click("#password-submit");
      await page.waitForSelector("#form-error:not(:empty)");
    },
  },
  {
    name: "sign-in-second-step",
    path: "/sign-in",
    act: async (page) => {
      await page.fill("#email", totpEmail);
      await page.fill("#password", PASSWORD);
      await page.click("#password-submit");
      await page.waitForSelector("#step-mfa", { state: "visible" });
    },
  },
  { name: "sign-up", path: "/sign-up" },
  { name: "forgot-password", path: "/forgot-password" },
  { name: "reset-password", path: "/reset-password?token=look-token" },
  {
    name: "reset-password-expired",
    path: "/reset-password?token=look-token",
    act: async (page) => {
      await page.fill("#password", "violet-kestrel-harbour-31");
      await page.click("#link-form button[type=submit]");
      await page.waitForSelector("#new-link", { state: "visible" });
    },
  },
  { name: "verify-email", path: "/verify-email?token=look-token" },
  { name: "confirm-email", path: "/confirm-email?token=look-token" },
  { name: "magic-link", path: "/magic-link?token=look-token" },
  {
    name: "magic-link-spent",
    path: "/magic-link?token=look-token",
    act: async (page) => {
      await page.click("#link-form button[type=submit]");
      await page.waitForSelector("#form-error:not(:empty)");
    },
  },
  { name: "accept-invitation", path: "/accept-invitation?token=look-token" },
  { name: "accept-invitation-signed-in", path: "/accept-invitation?token=look-token", as: "user" },
  { name: "accept-invitation-expired", path: "/accept-invitation?token=look-token", as: "user", act: pressAccept },
  {
    name: "accept-invitation-unconfirmed",
    get path() {
      return invitationPath;
    },
    as: "user",
    act: pressAccept,
  },
  {
    name: "accept-invitation-wrong-account",
    get path() {
      return invitationPath;
    },
    as: "owner",
    act: pressAccept,
  },
  { name: "account", path: "/account", as: "user" },
  {
    name: "account-organization",
    path: "/account",
    as: "owner",
    act: async (page) => {
      await page.click(`[data-focus="manage:${orgId}"]`);
      await page.waitForSelector("#invitations li", { state: "visible" });
    },
  },
];

describe("the hosted pages' look: axe-core in both themes, screenshots at 1280 and 360 px", () => {
  let browser: Browser;
  let signedOut: BrowserContext;
  let signedIn: BrowserContext;
  let owner: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
    signedOut = await browser.newContext();
    signedIn = await browser.newContext();
    owner = await browser.newContext();
    totpEmail = (await userWithTotp(service, databaseUrl, "look-totp")).email;
    await organizationWithInvitation(owner);
    // One account signed in through the pages themselves (its cookies in this context).
    const { page } = await watchedPage(signedIn);
    await page.goto(`${service}/sign-up`);
    await ready(page);
    await page.fill("#email", uniqueEmail("look"));
    await page.fill("#name", "Ada Lovelace");
    await page.fill("#password", PASSWORD);
    await page.click("#sign-up-submit");
    await page.waitForURL(`${service}/account`, { timeout: 15_000 });
    await page.close();
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const view of VIEWS) {
    for (const theme of ["light", "dark"] as const) {
      it(`${view.name} (${theme}): no axe violation; screenshots at 1280 and 360 px`, async () => {
        const context = view.as === "owner" ? owner : view.as === "user" ? signedIn : signedOut;
        const { page, errors } = await watchedPage(context);
        const refused: string[] = [];
        page.on("response", async (response) => {
          if (response.status() >= 400)
            refused.push(
              `${response.status()} ${new URL(response.url()).pathname} ${await response.text().catch(() => "")}`,
            );
        });
        try {
          await page.emulateMedia({ colorScheme: theme });
          for (const width of [1280, 360]) {
            await page.setViewportSize({ width, height: 900 });
            await page.goto(`${service}${view.path}`);
            await ready(page);
            if (view.path === "/account")
              await page.waitForSelector("#sessions li", { timeout: 15_000 }).catch((error: unknown) => {
                throw new Error(`/account did not load (at ${page.url()}; refused: ${refused.join(", ")}): ${error}`);
              });
            await view.act?.(page);
            // Everything the page draws fits: nothing scrolls sideways at 360 px.
            expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(width);
            if (width === 1280) expect(await axeViolations(page)).toEqual([]);
            await page.screenshot({ path: screenshotPath(`${view.name}-${theme}-${width}`), fullPage: true });
          }
          expect(errors).toEqual([]);
        } finally {
          await page.close();
        }
      });
    }
  }
});

/**
 * An organization with a second member and a pending invitation (its link kept for the invitation views), owned by
 * an account signed in through the pages in `context`.
 */
async function organizationWithInvitation(context: BrowserContext): Promise<void> {
  const verified = async (label: string) => {
    const { email } = await register(service, label);
    await markEmailVerified(databaseUrl, email);
    return email;
  };
  const [ownerEmail, memberEmail, invitedEmail] = [
    await verified("look-owner"),
    await verified("look-member"),
    uniqueEmail("look-invited"),
  ];
  const auth = bearer((await login(service, ownerEmail)).tokens.accessToken);
  const created = await postJson(`${service}/orgs`, { name: "Northwind Traders" }, auth);
  orgId = ((await created.json()) as { org: { id: string } }).org.id;
  const invite = async (email: string, roles: string[]) => {
    const answer = await postJson(`${service}/orgs/${orgId}/invitations`, { email, roles }, auth);
    if (answer.status !== 201) throw new Error(`POST invitations answered ${answer.status}: ${await answer.text()}`);
    return linkIn(service, await mailTo(inbox, email, /invit/i), "/accept-invitation");
  };
  const memberLink = new URL(await invite(memberEmail, ["admin"]));
  const memberAuth = bearer((await login(service, memberEmail)).tokens.accessToken);
  const accepted = await postJson(
    `${service}/invitations/accept`,
    { token: memberLink.searchParams.get("token") },
    memberAuth,
  );
  if (accepted.status !== 200) throw new Error(`POST /invitations/accept answered ${accepted.status}`);
  const link = new URL(await invite(invitedEmail, ["member"]));
  invitationPath = `${link.pathname}${link.search}`;
  const { page } = await watchedPage(context);
  await page.goto(`${service}/sign-in`);
  await ready(page);
  await page.fill("#email", ownerEmail);
  await page.fill("#password", PASSWORD);
  await page.click("#password-submit");
  await page.waitForURL(`${service}/account`, { timeout: 15_000 });
  await page.close();
}
