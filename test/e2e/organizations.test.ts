// Organizations on the hosted pages, in a real Chromium, with the invitation
// mail the service really sends (the stack's inbox): an owner creates an
// organization on /account and invites by email; the invited user opens the
// mailed link signed out (its token leaves the address bar at once, and
// waits in the tab), signs in, comes back, accepts with a press, sees the
// organization on /account and switches to it (the session's access token
// then carries the `org` claim). Then what goes wrong, in words: another
// account signed in (sign out, sign in with the invited address, accept), an
// unconfirmed address, a spent link, the last owner leaving; deleting an
// organization with a sign-in too old (the "Confirm it is you" dialog); and
// the order the keyboard meets the accept page's controls.
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { bearer, jwtPayload, login, markEmailVerified, PASSWORD, postJson, register } from "./support/api.ts";
import { launchChromium } from "./support/browser.ts";
import { ready, watchedPage } from "./support/hosted.ts";
import { linkIn, type Mail, mailTo } from "./support/mail.ts";

const service = inject("serviceLocalhostUrl");
const databaseUrl = inject("databaseUrl");
const inbox = inject("mailInboxUrl");

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? "").trim();
const activeId = (page: Page) => page.evaluate("document.activeElement && document.activeElement.id");

/** A fresh browser profile (no cookies) and a watched page in it. */
async function fresh() {
  const context = await browser.newContext();
  const { page, errors } = await watchedPage(context);
  return { context, page, errors };
}

/** An account made through the API with its address confirmed (v3: creating or joining an organization needs it). */
async function verifiedAccount(label: string): Promise<string> {
  const { email } = await register(service, label);
  await markEmailVerified(databaseUrl, email);
  return email;
}

/** Signs in on /sign-in with the password; the page goes on to `then`. */
async function signIn(page: Page, email: string, then = "/account"): Promise<void> {
  await page.goto(`${service}/sign-in`);
  await ready(page);
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.click("#password-submit");
  await page.waitForURL(`${service}${then}`, { timeout: 15_000 });
  await ready(page);
}

/** /account with its organizations drawn. */
async function accountPage(page: Page): Promise<void> {
  if (!page.url().endsWith("/account")) await page.goto(`${service}/account`);
  await ready(page);
  await page.waitForSelector("#org-acting:not(:empty)", { timeout: 15_000 });
}

/** An organization made through the API by `owner`, with an invitation to `invited`: its id and the mailed link. */
async function invitation(owner: string, invited: string, name: string): Promise<{ orgId: string; link: string }> {
  const auth = bearer((await login(service, owner)).tokens.accessToken);
  const created = await postJson(`${service}/orgs`, { name }, auth);
  expect(created.status).toBe(201);
  const { org } = (await created.json()) as { org: { id: string } };
  const before = await mailsTo(invited);
  const invited_ = await postJson(`${service}/orgs/${org.id}/invitations`, { email: invited, roles: ["member"] }, auth);
  expect(invited_.status).toBe(201);
  return { orgId: org.id, link: linkIn(service, await mailTo(inbox, invited, /invit/i, before), "/accept-invitation") };
}

/** How many invitation mails `address` has had. */
async function mailsTo(address: string): Promise<number> {
  const mails = (await (await fetch(`${inbox}/api/email`)).json()) as Mail[];
  return mails.filter((m) => m.to.some((to) => to.address === address) && /invit/i.test(m.subject)).length;
}

/** The pages' access token (the __Host-sa_at cookie) of a browser profile, decoded. */
async function pageToken(context: BrowserContext): Promise<Record<string, unknown>> {
  const cookie = (await context.cookies(service)).find((c) => c.name === "__Host-sa_at");
  if (!cookie) throw new Error("no access cookie");
  return jwtPayload(cookie.value);
}

describe("an owner invites by email; the invited user accepts from the mail and acts in the organization", () => {
  it("creates, invites, accepts after signing in, switches to it: the session's token carries the org claim", async () => {
    const owner = await verifiedAccount("org-owner");
    const invited = await verifiedAccount("org-invited");
    const orgName = `Acme ${Date.now().toString(36)}`;

    // The owner, on /account: creates the organization, opens its members, invites by email as an administrator.
    const ownerSide = await fresh();
    await signIn(ownerSide.page, owner);
    await accountPage(ownerSide.page);
    expect(await text(ownerSide.page, "#orgs")).toBe("You do not belong to any organization yet.");
    await ownerSide.page.fill("#org-name", orgName);
    await ownerSide.page.click("#org-form button[type=submit]");
    await ownerSide.page.waitForSelector(`#orgs li[data-org] >> text=${orgName}`);
    expect(await text(ownerSide.page, "#status")).toBe(`${orgName} is created. You are its owner.`);
    const orgId = (await ownerSide.page.getAttribute("#orgs li[data-org]", "data-org"))!;
    expect(await text(ownerSide.page, "#orgs li .meta")).toBe("Your role: owner");
    await ownerSide.page.click(`[data-focus="manage:${orgId}"]`);
    await ownerSide.page.waitForSelector("#org-panel", { state: "visible" });
    expect(await activeId(ownerSide.page)).toBe("org-panel-heading");
    expect(await text(ownerSide.page, "#members")).toContain(`(you)`);
    // An owner may grant every built-in role.
    expect(await ownerSide.page.$$eval("#invite-role option", (o) => o.map((x) => x.getAttribute("value")))).toEqual([
      "member",
      "admin",
      "owner",
    ]);
    const mailsBefore = await mailsTo(invited);
    await ownerSide.page.fill("#invite-email", invited);
    await ownerSide.page.selectOption("#invite-role", "admin");
    await ownerSide.page.click("#invite-form button[type=submit]");
    await ownerSide.page.waitForSelector(`#invitations li >> text=${invited}`);
    expect(await text(ownerSide.page, "#status")).toBe(
      `An invitation is on its way to ${invited}. Its link works for 7 days.`,
    );

    // The invited user opens the mailed link, signed out: the token leaves the address bar; sign in is offered.
    const link = linkIn(service, await mailTo(inbox, invited, /invit/i, mailsBefore), "/accept-invitation");
    const invitedSide = await fresh();
    const { page } = invitedSide;
    await page.goto(link);
    await ready(page);
    expect(new URL(page.url()).search).toBe("");
    await page.waitForSelector("#step-signed-out", { state: "visible" });
    expect(await page.getAttribute("#invite-sign-in", "href")).toBe("/sign-in");
    await page.click("#invite-sign-in");
    await page.waitForURL(`${service}/sign-in`);
    await ready(page);
    expect(await text(page, "#status")).toBe("Sign in with the invited email address to accept your invitation.");
    await page.fill("#email", invited);
    await page.fill("#password", PASSWORD);
    await page.click("#password-submit");
    // Back on the invitation's page (the tab kept the token), which spends nothing until "Accept" is pressed.
    await page.waitForURL(`${service}/accept-invitation`, { timeout: 15_000 });
    await ready(page);
    expect(await text(page, "#signed-in-as")).toBe(`You are signed in as ${invited}.`);
    const ownerApi = bearer((await login(service, owner)).tokens.accessToken);
    const members = async () =>
      ((await (await fetch(`${service}/orgs/${orgId}/members`, { headers: ownerApi })).json()) as { items: unknown[] })
        .items.length;
    expect(await members()).toBe(1);
    await page.click("#accept");
    await page.waitForSelector("#status:not(:empty)");
    expect(await text(page, "#status")).toBe(`You joined ${orgName} as administrator.`);
    expect(await activeId(page)).toBe("to-account");
    expect(await members()).toBe(2);

    // On /account: the organization with the user's role; switching to it puts it in the session's token.
    await page.click("#to-account");
    await page.waitForURL(`${service}/account`);
    await accountPage(page);
    expect(await text(page, "#org-acting")).toBe("You do not act in any organization right now.");
    expect(await text(page, `#orgs li[data-org="${orgId}"] .meta`)).toBe("Your role: administrator");
    expect((await pageToken(invitedSide.context)).org).toBeUndefined();
    await page.click(`[data-focus="switch:${orgId}"]`);
    await page.waitForSelector(`#status >> text=You now act in ${orgName}.`);
    expect(await text(page, "#org-acting")).toBe(`You act in ${orgName}.`);
    expect(await text(page, `#orgs li[data-org="${orgId}"] .badge`)).toBe("Active");
    // The list was drawn again: the focus is back on the same organization's button.
    expect(await page.evaluate("document.activeElement.dataset.focus")).toBe(`switch:${orgId}`);
    const claim = (await pageToken(invitedSide.context)).org as { id: string; roles: string[]; permissions: string[] };
    expect(claim.id).toBe(orgId);
    expect(claim.roles).toEqual(["admin"]);
    expect(claim.permissions).toContain("members:invite");

    // An administrator manages members, but cannot act on the owner (only what one holds).
    await page.click(`[data-focus="manage:${orgId}"]`);
    await page.waitForSelector("#org-panel", { state: "visible" });
    const ownerRow = page.locator("#members li", { hasText: owner });
    expect(await ownerRow.locator("select, button").count()).toBe(0);
    expect(await page.$$eval("#invite-role option", (o) => o.map((x) => x.getAttribute("value")))).toEqual([
      "member",
      "admin",
    ]);
    expect(await page.locator("#org-delete").isVisible()).toBe(false);

    // The owner cannot leave while another member remains: said in words, after the question.
    await ownerSide.page.click(`[data-focus="leave:${orgId}"]`);
    await ownerSide.page.waitForSelector("#ask[open]");
    expect(await text(ownerSide.page, "#ask-text")).toBe(`Leave ${orgName}? To join again, you need a new invitation.`);
    expect(await activeId(ownerSide.page)).toBe("ask-no");
    await ownerSide.page.click("#ask-yes");
    await ownerSide.page.waitForSelector("#page-error:not(:empty)");
    expect(await text(ownerSide.page, "#page-error")).toBe(
      "An organization needs an owner: make another member an owner first, or delete the organization.",
    );
    expect(await ownerSide.page.getAttribute("#page-error", "role")).toBe("alert");

    // The link is spent: opened again, pressing says so in words.
    await page.goto(link);
    await ready(page);
    await page.click("#accept");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(await text(page, "#form-error")).toBe(
      "This invitation has expired, was already used, or was withdrawn. Ask the person who invited you for a new one.",
    );
    expect(await page.locator("#accept-form").isVisible()).toBe(false);
    expect(await page.locator("#to-account").isVisible()).toBe(true);

    expect(ownerSide.errors).toEqual([]);
    expect(invitedSide.errors).toEqual([]);
    await ownerSide.context.close();
    await invitedSide.context.close();
  });
});

describe("deleting an organization", () => {
  /** Makes the account's sessions' last proof of a credential an hour old, as if signed in an hour ago. */
  async function signedInAnHourAgo(email: string): Promise<void> {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await db.query(
        "update sessions set auth_time = now() - interval '1 hour' where user_id = (select id from users where email = $1)",
        [email],
      );
    } finally {
      await db.end();
    }
  }

  it("asks first, then for the password when the sign-in is not recent, and deletes it", async () => {
    const owner = await verifiedAccount("org-deleter");
    const { context, page, errors } = await fresh();
    await signIn(page, owner);
    await accountPage(page);
    await page.fill("#org-name", "Short Lived Co");
    await page.click("#org-form button[type=submit]");
    await page.waitForSelector("#orgs li[data-org]");
    const orgId = (await page.getAttribute("#orgs li[data-org]", "data-org"))!;
    // The page's next token (on reload, a refresh) carries the session's old sign-in time.
    await signedInAnHourAgo(owner);
    await page.reload();
    await accountPage(page);
    await page.click(`[data-focus="manage:${orgId}"]`);
    await page.waitForSelector("#org-delete", { state: "visible" });
    await page.click("#org-delete");
    await page.waitForSelector("#ask[open]");
    expect(await text(page, "#ask-text")).toBe("Delete Short Lived Co for all its members? This cannot be undone.");
    await page.click("#ask-yes");
    await page.waitForSelector("#reauth[open]");
    expect(await page.locator("#reauth-password").isVisible()).toBe(true);
    await page.fill("#reauth-password", PASSWORD);
    await page.click("#reauth-submit");
    await page.waitForSelector("#status >> text=Short Lived Co is deleted.");
    expect(await text(page, "#orgs")).toBe("You do not belong to any organization yet.");
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("what goes wrong on the invitation's page, in words", () => {
  it("another account signed in: says so, signs out, and after signing in with the invited address, accepts", async () => {
    const owner = await verifiedAccount("org-owner2");
    const invited = await verifiedAccount("org-invited2");
    const other = await verifiedAccount("org-other");
    const { orgId, link } = await invitation(owner, invited, "Wrong Account Co");
    const { context, page, errors } = await fresh();
    await signIn(page, other);
    await page.goto(link);
    await ready(page);
    await page.click("#accept");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(await text(page, "#form-error")).toBe(
      "This invitation was sent to another email address. Sign out, then sign in with the address it was sent to.",
    );
    expect(await page.getAttribute("#form-error", "role")).toBe("alert");
    await page.click("#switch-account");
    await page.waitForURL(`${service}/sign-in`);
    await ready(page);
    await page.fill("#email", invited);
    await page.fill("#password", PASSWORD);
    await page.click("#password-submit");
    await page.waitForURL(`${service}/accept-invitation`, { timeout: 15_000 });
    await ready(page);
    await page.click("#accept");
    await page.waitForSelector("#status:not(:empty)");
    expect(await text(page, "#status")).toBe("You joined Wrong Account Co as member.");
    await page.click("#to-account");
    await accountPage(page);
    expect(await page.locator(`#orgs li[data-org="${orgId}"]`).count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("an address not confirmed yet: says to confirm it first, offers the link again, and spends nothing", async () => {
    const owner = await verifiedAccount("org-owner3");
    const { email: unconfirmed } = await register(service, "org-unconfirmed");
    const { link } = await invitation(owner, unconfirmed, "Unconfirmed Co");
    const { context, page, errors } = await fresh();
    await signIn(page, unconfirmed);
    await page.goto(link);
    await ready(page);
    await page.click("#accept");
    await page.waitForSelector("#form-error:not(:empty)");
    expect(await text(page, "#form-error")).toBe(
      `Confirm your email address ${unconfirmed} first: open the link we sent you, then accept here.`,
    );
    await page.click("#resend");
    await page.waitForSelector("#status:not(:empty)");
    // Confirmed now (as its link would): the same page, the same token, accepted.
    await markEmailVerified(databaseUrl, unconfirmed);
    await page.click("#accept");
    await page.waitForSelector("#status >> text=You joined Unconfirmed Co as member.");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a link without its token says so and offers no button", async () => {
    const { context, page, errors } = await fresh();
    await page.goto(`${service}/accept-invitation`);
    await ready(page);
    expect(await text(page, "#form-error")).toBe("This link is incomplete. Open the link from the email again.");
    expect(await page.locator("button:visible").count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("the accept page with the keyboard alone", () => {
  /** The ids (or tag names) Tab reaches from the top of the page, `count` presses. */
  async function tabOrder(page: Page, count: number): Promise<string[]> {
    const order: string[] = [];
    for (let i = 0; i < count; i++) {
      await page.keyboard.press("Tab");
      order.push(
        (await page.evaluate("document.activeElement.id || document.activeElement.tagName.toLowerCase()")) as string,
      );
    }
    return order;
  }

  it("signed out: the brand, sign in, create an account; signed in: the brand, then Accept, which Enter presses", async () => {
    const owner = await verifiedAccount("org-owner4");
    const invited = await verifiedAccount("org-invited4");
    const { link } = await invitation(owner, invited, "Keyboard Co");
    const { context, page, errors } = await fresh();
    await page.goto(link);
    await ready(page);
    expect(await tabOrder(page, 3)).toEqual(["a", "invite-sign-in", "invite-sign-up"]);
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${service}/sign-in`);
    await ready(page);
    await page.fill("#email", invited);
    await page.fill("#password", PASSWORD);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${service}/accept-invitation`, { timeout: 15_000 });
    await ready(page);
    expect(await tabOrder(page, 2)).toEqual(["a", "accept"]);
    await page.keyboard.press("Enter");
    await page.waitForSelector("#status >> text=You joined Keyboard Co as member.");
    // Focus moves to what comes next: the way to the account.
    expect(await activeId(page)).toBe("to-account");
    expect(errors).toEqual([]);
    await context.close();
  });
});
