// The pages the mailed links open when APP_URL points at the service itself
// (the default, and `npm run dev`): /verify-email, /reset-password,
// /confirm-email and /magic-link. Each is one small HTML page whose script takes the token
// from the address bar (and removes it from there), and posts it back to the
// JSON endpoint on a click: nothing is spent by a mail scanner that only
// fetches the link. An app with its own pages sets APP_URL to itself and
// never serves these. The magic link's page signs the browser in on this
// origin in cookie mode (so the service's origin must be in ALLOWED_ORIGINS),
// and asks for the second factor's code when the account has one.
// The CSP allows exactly this page's one script and one
// style, by hash, and requests to this origin only. The script (one for the
// four pages, reading its settings from data attributes) is typed
// TypeScript in ./links/, bundled by `npm run build:pages` into
// ./generated/links.ts with its hash.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context";
import { SCRIPT, SCRIPT_HASH } from "./generated/links";
import { builtPagePolicy } from "./page-policy";
import { servePage } from "./page-route";

export const linkPageRoutes = new OpenAPIHono<AppEnv>();

type Page = { title: string; button: string; endpoint: string; password: boolean; done: string; factor?: true };

const PAGES: Record<string, Page> = {
  "/verify-email": {
    title: "Verify your email address",
    button: "Verify my email",
    endpoint: "/auth/email/verify",
    password: false,
    done: "Your email address is verified.",
  },
  "/reset-password": {
    title: "Choose a new password",
    button: "Set the new password",
    endpoint: "/auth/password/reset",
    password: true,
    done: "Your password is changed. Sign in with the new one.",
  },
  "/confirm-email": {
    title: "Confirm your new email address",
    button: "Confirm the new address",
    endpoint: "/auth/email/change",
    password: false,
    done: "Your account now uses the new address.",
  },
  "/magic-link": {
    title: "Sign in",
    button: "Sign in",
    endpoint: "/auth/email/code/verify",
    password: false,
    done: "You are signed in.",
    factor: true,
  },
};

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}" +
  "input,button{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0}";

/** The CSP naming the script and the style by their SHA-256. */
const contentSecurityPolicy = builtPagePolicy(SCRIPT_HASH, STYLE);

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The second step of a sign-in whose account has a second factor: hidden until the first step asks for it. */
const FACTOR_FORM =
  `<form id="factor" hidden><label>Code from your authenticator app (or a recovery code)` +
  `<input name="code" autocomplete="one-time-code" required></label><button type="submit">Continue</button></form>`;

function render(page: Page): string {
  const password = page.password
    ? `<label>New password (12 to 128 characters)\
<input type="password" name="newPassword" autocomplete="new-password" minlength="12" maxlength="128" required></label>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(page.title)}</title><style>${STYLE}</style></head>
<body><main data-endpoint="${escapeHtml(page.endpoint)}" data-done="${escapeHtml(page.done)}">\
<h1>${escapeHtml(page.title)}</h1>
<form>${password}<button type="submit">${escapeHtml(page.button)}</button></form>\
${page.factor ? FACTOR_FORM : ""}<p><output></output></p></main>
<script>${SCRIPT}</script></body></html>`;
}

for (const [path, page] of Object.entries(PAGES)) {
  const html = render(page);
  linkPageRoutes.get(path, (c) => servePage(c, contentSecurityPolicy, html));
}
