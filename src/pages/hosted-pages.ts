// The hosted pages an app shows its users (docs/hosted-pages.md): /sign-in,
// /sign-up, /forgot-password, /reset-password, /verify-email,
// /confirm-email, /magic-link, /accept-invitation and /account, plus GET
// /brand.css. Each page is answered in the request's language
// (Accept-Language, from the catalog in ./messages/), with the brand's name
// and logo, under a CSP that names the one script and the one inline
// stylesheet by the hashes computed at build time (./generated/hosted.ts):
// the brand's colours come from /brand.css (style-src 'self'), so no
// run-time value ever changes a hash. Images: the TOTP QR code (data:) and
// BRAND_LOGO_URL's origin, nothing else.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { THEME_BACKGROUND, themeColours } from "../core/brand";
import type { Brand } from "../core/config";
import type { AppEnv } from "../http/context";
import { SCRIPT, SCRIPT_HASH, STYLE, STYLE_HASH } from "./generated/hosted";
import { renderPage, type PageName } from "./markup";
import { LANGUAGES, pickLanguage } from "./messages";
import { documentedPage } from "./page-route";

export const hostedPageRoutes = new OpenAPIHono<AppEnv>();

/** The pages' Content-Security-Policy for a brand (its logo's origin is the only other image source). */
export function hostedPagePolicy(brand: Brand): string {
  const logo = brand.logoUrl ? ` ${new URL(brand.logoUrl).origin}` : "";
  return [
    "default-src 'none'",
    `script-src '${SCRIPT_HASH}'`,
    `style-src 'self' '${STYLE_HASH}'`,
    `img-src data:${logo}`,
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function answer(c: Context<AppEnv>, page: PageName) {
  const config = c.get("config");
  const lang = pickLanguage(c.req.header("Accept-Language"));
  const html = renderPage(page, {
    lang,
    messages: LANGUAGES[lang]!,
    brand: config.brand,
    script: SCRIPT,
    style: STYLE,
  });
  c.header("Content-Security-Policy", hostedPagePolicy(config.brand));
  c.header("Cache-Control", "no-store");
  c.header("Content-Language", lang);
  c.header("Vary", "Accept-Language");
  return c.html(html, 200);
}

const PAGES: Record<Exclude<PageName, "account">, string> = {
  "sign-in": "Sign in: password, passkey, providers, email code, then the second step; hands off to an app.",
  "sign-up": "Create an account.",
  "forgot-password": "Ask for a password reset link.",
  "reset-password": "The reset link's page: choose a new password.",
  "verify-email": "The verification link's page: confirm the address.",
  "confirm-email": "The email-change link's page: confirm the new address.",
  "magic-link": "The email sign-in link's page: signs in when its button is pressed, then asks for the second factor.",
  "accept-invitation": "An organization invitation's link: signed in with the invited address, accepts on a press.",
};

for (const page of Object.keys(PAGES) as (keyof typeof PAGES)[]) {
  hostedPageRoutes.get(`/${page}`, (c) => answer(c, page));
}

documentedPage(hostedPageRoutes, {
  path: "/account",
  operationId: "accountPage",
  summary: "The hosted account page: profile, email, password, sessions, two-step verification, passkeys",
  description:
    "HTML, for people: the signed-in user's security settings, on this origin in cookie mode. " +
    "Its CSP allows its one script and inline style by hash, /brand.css, and requests to this origin only.",
  answer: (c) => answer(c, "account"),
});

/** The brand's colours for both themes, each made readable (src/core/brand.ts). */
export function brandStylesheet(brand: Brand): string {
  const light = themeColours(brand.color, "light");
  const dark = themeColours(brand.color, "dark");
  const vars = (colours: typeof light, page: string) =>
    `--accent:${colours.accent};--on-accent:${colours.onAccent};--link:${colours.link};--card:${page}`;
  return (
    `:root{${vars(light, THEME_BACKGROUND.light)}}\n` +
    `@media (prefers-color-scheme:dark){:root{${vars(dark, THEME_BACKGROUND.dark)}}}\n`
  );
}

hostedPageRoutes.get("/brand.css", (c) => {
  c.header("Content-Type", "text/css; charset=utf-8");
  c.header("Cache-Control", "public, max-age=300");
  return c.body(brandStylesheet(c.get("config").brand));
});
