// The hosted account page (GET /account) in a real Chromium with a virtual
// authenticator, the whole flow a new user tries on `npm run dev`: register,
// enrol TOTP (the code computed here, as an authenticator app would), see the
// recovery codes, add a passkey, sign out; sign in with the password and a
// TOTP code (amr pwd,otp,mfa); sign out; sign in with the passkey alone (amr
// hwk,mfa: user verification makes it two factors). The page is loaded from the Worker itself at
// http://localhost:<port> (WebAuthn needs a domain: 127.0.0.1 would not do), which the harness adds to
// WEBAUTHN_ORIGINS. Everything is done by clicking and typing in the page; a step that does not get there fails with
// what the page's status line says.
import { Secret, TOTP } from "otpauth";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { markEmailVerified, PASSWORD, uniqueEmail } from "./support/api.ts";
import { addVirtualAuthenticator, launchChromium } from "./support/browser.ts";

const serviceUrl = inject("serviceUrl");
const databaseUrl = inject("databaseUrl");
const serviceLocalhost = (() => {
  const url = new URL(serviceUrl);
  url.hostname = "localhost";
  return url.origin;
})();
const STEP_TIMEOUT_MS = 15_000;

const totpCode = (secret: string, timestamp = Date.now()) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30, timestamp });

describe("the account page in Chromium, with a virtual authenticator", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  const email = uniqueEmail("account-page");
  let secret = "";
  let recoveryCodes: string[] = [];
  /** What the browser reported that the page did not handle: CSP refusals, script errors. */
  const browserErrors: string[] = [];
  /**
   * The page's API calls that did not answer 2xx, for a failing step's message (a 403 mfa_required is one on purpose).
   */
  const refused: string[] = [];

  const text = async (selector: string) => ((await page.textContent(selector)) ?? "").trim();
  const status = () => text("#status");

  /**
   * Waits for the selector's state; on a timeout, fails with the page's status line (the API's problem, as the page
   * showed it).
   */
  async function waitFor(selector: string, state: "visible" | "hidden" = "visible"): Promise<void> {
    try {
      await page.waitForSelector(selector, { state, timeout: STEP_TIMEOUT_MS });
    } catch {
      const calls = refused.length ? `; answers not 2xx so far: ${refused.join(", ")}` : "";
      const errors = browserErrors.length ? `; browser errors: ${browserErrors.join(" | ")}` : "";
      throw new Error(
        `${selector} did not become ${state}; the page says: ${JSON.stringify(await status())}${calls}${errors}`,
      );
    }
  }

  async function signOut(): Promise<void> {
    await page.click("#sign-out");
    await waitFor("#signed-out");
    await waitFor("#signed-in", "hidden");
    expect(await status()).toBe("Signed out.");
  }

  beforeAll(async () => {
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    page.on("console", (message) => {
      // Chromium logs every non-2xx answer as a console error too; those are in `refused`.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource:"))
        browserErrors.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 300)
        refused.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`);
    });
    page.on("pageerror", (error) => browserErrors.push(String(error)));
    const loaded = await page.goto(`${serviceLocalhost}/account`);
    if (loaded?.status() !== 200) throw new Error(`GET /account answered ${loaded?.status()}`);
    // Set by the last line of the page's script: it ran, so the CSP allowed it by its hash.
    await page.waitForSelector("html[data-ready=true]", { state: "attached", timeout: 10_000 });
    ({ cdp, authenticatorId } = await addVirtualAuthenticator(page));
  });
  afterAll(async () => {
    await cdp?.detach().catch(() => {});
    await context?.close().catch(() => {});
    await browser?.close();
  });

  it("loads from the Worker's own localhost origin under its CSP, with the style applied and no errors", async () => {
    // Strings, not functions: the Node tsconfig has no DOM types.
    expect(await page.evaluate("window.isSecureContext")).toBe(true);
    expect(await page.evaluate("typeof PublicKeyCredential")).toBe("function");
    // The inline style is allowed too: [hidden] elements are not displayed, the status line has its padding.
    expect(await page.evaluate('getComputedStyle(document.getElementById("status")).paddingTop')).toBe("8px");
    expect(await page.isVisible("#signed-out")).toBe(true);
    expect(await page.isVisible("#signed-in")).toBe(false);
    expect(browserErrors).toEqual([]);
  });

  it("registers an account and shows it signed in (amr pwd)", async () => {
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.fill("#name", "E2E Account Page");
    await page.click("#register");
    await waitFor("#signed-in");
    expect(await text("#user-email")).toBe(email);
    expect(await text("#user-verified")).toBe("no");
    expect(await text("#user-totp")).toBe("off");
    expect(await text("#user-passkeys")).toBe("0");
    expect(await text("#claim-amr")).toBe("pwd");
    expect(Date.parse(await text("#claim-auth-time"))).toBeGreaterThan(Date.now() - 5 * 60_000);
  });

  it("enrols TOTP with the secret it shows, and shows 10 recovery codes once", async () => {
    // v3: a factor is added only to a verified address; the e2e stack sends no mail, so the link's effect is written
    // directly.
    await markEmailVerified(databaseUrl, email);
    await page.click("#totp-enrol");
    await waitFor("#totp-pending");
    const shown = await text("#totp-secret");
    // Grouped in fours for typing.
    expect(shown).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
    secret = shown.replace(/\s/g, "");
    const uri = await text("#totp-uri");
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(new URL(uri).searchParams.get("secret")).toBe(secret);
    // The QR code of that URI is drawn, under the page's CSP (img-src data:): a loaded image, not a broken one.
    await page.waitForFunction(
      "document.getElementById('totp-qr').complete && document.getElementById('totp-qr').naturalWidth > 0",
    );
    expect(await page.evaluate("document.getElementById('totp-qr').src.startsWith('data:image/svg+xml')")).toBe(true);

    await page.fill("#totp-code", totpCode(secret));
    await page.click("#totp-confirm-submit");
    await waitFor("#recovery");
    const codes = await page.$$eval("#recovery-list li", (items) => items.map((item) => item.textContent));
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    recoveryCodes = codes.map((code) => code ?? "");
    await waitFor("#totp-pending", "hidden");
    expect(await text("#user-totp")).toBe("on");
    expect(await page.isVisible("#totp-enrol")).toBe(false);
    expect(await page.isVisible("#totp-remove")).toBe(true);

    await page.click("#recovery-done");
    await waitFor("#recovery", "hidden");
    expect(await page.$$("#recovery-list li")).toHaveLength(0);
  });

  it("adds a passkey to the virtual authenticator and lists it", async () => {
    await page.fill("#passkey-name", "E2E account page key");
    await page.click("#passkey-add-submit");
    // TOTP is on, so the password session is not enough (v3): the page asks for the password and a
    // second factor. A recovery code here, so that no TOTP step is spent before the sign-in below.
    await waitFor("#reauth");
    await page.fill("#reauth-password", PASSWORD);
    await page.fill("#reauth-code", recoveryCodes[0]!);
    await page.click("#reauth button[type=submit]");
    await waitFor("#passkey-list li");
    expect(await status()).toBe("Passkey added: E2E account page key.");
    expect(await text("#passkey-list li span")).toMatch(/^E2E account page key \(added .+, last used never\)$/);
    expect(await text("#user-passkeys")).toBe("1");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: "localhost" });
  });

  it("signs out, then in with the password and a TOTP code (amr pwd,otp,mfa)", async () => {
    await signOut();
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.click("#login-submit");
    await waitFor("#mfa");
    expect(await text("#mfa-methods")).toContain("totp");
    // The next step's code: the one confirming the enrolment may be this step's, and a step is accepted once.
    await page.fill("#mfa-code", totpCode(secret, Date.now() + 30_000));
    await page.click("#mfa-submit");
    await waitFor("#signed-in");
    expect(await text("#user-email")).toBe(email);
    expect(await text("#claim-amr")).toBe("pwd,otp,mfa");
    expect(await text("#user-totp")).toBe("on");
  });

  it("signs out, then in with the passkey alone (amr hwk,mfa)", async () => {
    await signOut();
    await page.click("#passkey-sign-in");
    await waitFor("#signed-in");
    expect(await text("#user-email")).toBe(email);
    expect(await text("#claim-amr")).toBe("hwk,mfa");
    await waitFor("#passkey-list li");
    expect(await text("#passkey-list li span")).not.toContain("last used never");
    expect(browserErrors).toEqual([]);
  });
});
