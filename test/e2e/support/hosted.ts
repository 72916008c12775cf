// Helpers for the hosted pages in Chromium: a page on the Worker's own
// http://localhost origin (WebAuthn needs a domain, cookie mode a secure
// context), that records what the browser refused (CSP violations, script
// errors), axe-core run inside it, and screenshots into
// artifacts/screenshots/.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Secret, TOTP } from "otpauth";
import type { BrowserContext, Page } from "playwright-core";

export const SCREENSHOTS = fileURLToPath(new URL("../../../artifacts/screenshots/", import.meta.url));

/** axe-core's script, read when a test first runs it (a file that never does needs no axe-core installed). */
let axeSource: string | undefined;
const axeScript = () =>
  (axeSource ??= readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8"));

export const totpCode = (secret: string, timestamp = Date.now()) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30, timestamp });

/** A page whose console errors and uncaught exceptions (a CSP refusal is one) land in `errors`. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    // Chromium logs every non-2xx answer as "Failed to load resource": the pages expect some (a 401 refresh, a 404).
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource:"))
      errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return { page, errors };
}

/** Until the page's script has run its first step (it sets data-ready on <html>). */
export async function ready(page: Page): Promise<void> {
  await page.waitForSelector("html[data-ready=true]", { timeout: 15_000 });
}

/**
 * axe-core's WCAG 2.2 A and AA rules on the page as it is, evaluated through the DevTools protocol (the page's CSP
 * rightly refuses an injected script): the violations, each as "rule: target, target".
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(`${axeScript()};0`);
  const results = (await page.evaluate(`axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    resultTypes: ["violations"],
  })`)) as { violations: { id: string; nodes: { target: unknown[] }[] }[] };
  return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}

/** An account with TOTP on (its address verified, as v3 asks before a factor), made through the API. */
export async function userWithTotp(
  serviceUrl: string,
  databaseUrl: string,
  label: string,
): Promise<{ email: string; secret: string; recoveryCodes: string[] }> {
  const { register, markEmailVerified, postJson, bearer } = await import("./api.ts");
  const signedUp = await register(serviceUrl, label);
  await markEmailVerified(databaseUrl, signedUp.email);
  const auth = bearer(signedUp.tokens.accessToken);
  const started = await fetch(`${serviceUrl}/me/mfa/totp`, { method: "POST", headers: auth });
  if (started.status !== 200) throw new Error(`POST /me/mfa/totp answered ${started.status}: ${await started.text()}`);
  const { secret } = (await started.json()) as { secret: string };
  const confirmed = await postJson(`${serviceUrl}/me/mfa/totp/confirm`, { code: totpCode(secret) }, auth);
  if (confirmed.status !== 200)
    throw new Error(`POST /me/mfa/totp/confirm answered ${confirmed.status}: ${await confirmed.text()}`);
  const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
  return { email: signedUp.email, secret, recoveryCodes };
}
