// The hosted pages (docs/hosted-pages.md) as HTTP answers: each page is HTML
// in the request's language, never cached, under a CSP that names its one
// script and its one inline style by the hashes built with them, takes its
// brand colours from /brand.css (style-src 'self'), loads nothing from
// elsewhere (no inline handlers, no third-party resource), cannot be
// framed, and echoes nothing from the address. GET /brand.css makes any
// brand colour readable in both themes.
import { describe, expect, it } from "vitest";
import { contrast, THEME_BACKGROUND } from "../../src/core/brand";
import { brandStylesheet, hostedPagePolicy } from "../../src/pages/hosted-pages";
import { en } from "../../src/pages/messages/en";
import { fr } from "../../src/pages/messages/fr";
import { pickLanguage } from "../../src/pages/messages";
import { call } from "../support/harness";

const PAGES = [
  "/sign-in",
  "/sign-up",
  "/forgot-password",
  "/reset-password",
  "/verify-email",
  "/confirm-email",
  "/magic-link",
  "/accept-invitation",
  "/account",
] as const;

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

/** The CSP's directives by name. */
function directives(policy: string): Map<string, string> {
  return new Map(
    policy
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...values] = part.split(/\s+/);
        return [name!, values.join(" ")] as const;
      }),
  );
}

describe.each(PAGES)("GET %s", (path) => {
  it("is HTML, never cached, under a CSP naming its one script and inline style by hash, unframeable", async () => {
    const res = await call("GET", path);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    // One script that runs, and the catalog's JSON (a data block: never run, so no hash is needed for it).
    expect(scripts.map((m) => m[1])).toEqual([' type="application/json" id="messages"', ""]);
    const styles = [...html.matchAll(/<style\b([^>]*)>([\s\S]*?)<\/style>/g)];
    expect(styles).toHaveLength(1);

    const policy = directives(res.headers.get("Content-Security-Policy")!);
    expect(policy.get("default-src")).toBe("'none'");
    expect(policy.get("script-src")).toBe(`'sha256-${await sha256Base64(scripts[1]![2]!)}'`);
    expect(policy.get("style-src")).toBe(`'self' 'sha256-${await sha256Base64(styles[0]![2]!)}'`);
    expect(policy.get("connect-src")).toBe("'self'");
    // The TOTP QR code is a data: image; the test configuration has no logo, so nothing else.
    expect(policy.get("img-src")).toBe("data:");
    expect(policy.get("form-action")).toBe("'none'");
    expect(policy.get("base-uri")).toBe("'none'");
    expect(policy.get("frame-ancestors")).toBe("'none'");
    expect(res.headers.get("Content-Security-Policy")).not.toMatch(/unsafe-|\*|https?:/);
  });

  it("loads nothing from elsewhere: no inline handler or style attribute, only /brand.css and /-relative links", async () => {
    const html = await (await call("GET", path)).text();
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/<(iframe|object|embed|base)\b/i);
    expect([...html.matchAll(/<link\b[^>]*>/g)].map((m) => m[0])).toEqual([
      '<link rel="stylesheet" href="/brand.css">',
    ]);
    for (const [, url] of html.matchAll(/\s(?:src|href|action)="([^"]*)"/g)) expect(url).toMatch(/^\/[a-z-]*(\.css)?$/);
  });

  it("is in the brand's name, and the forms carry password managers' autocomplete hints and labels", async () => {
    const html = await (await call("GET", path)).text();
    expect(html).toContain("<span>Acme Test</span>");
    expect(html).toMatch(/<title>[^<]+ · Acme Test<\/title>/);
    for (const [, id] of html.matchAll(/<input id="([^"]+)"/g)) expect(html, id).toContain(`<label for="${id}">`);
  });
});

describe("the forms' autocomplete attributes", () => {
  it("sign-in: username webauthn (passkey autofill), current-password, one-time-code for both codes", async () => {
    const html = await (await call("GET", "/sign-in")).text();
    expect(html).toMatch(/id="email"[^>]*autocomplete="username webauthn"/);
    expect(html).toMatch(/id="password"[^>]*autocomplete="current-password"/);
    expect(html).toMatch(/id="mfa-code"[^>]*autocomplete="one-time-code"/);
    expect(html).toMatch(/id="email-code-input"[^>]*autocomplete="one-time-code"/);
    expect(html).toContain('href="/forgot-password"');
  });

  it("sign-up and reset: new-password", async () => {
    for (const path of ["/sign-up", "/reset-password"]) {
      const html = await (await call("GET", path)).text();
      expect(html, path).toMatch(/id="password"[^>]*autocomplete="new-password"/);
    }
  });
});

describe("the link pages never echo the token", () => {
  it.each(["/verify-email", "/reset-password", "/confirm-email", "/magic-link", "/accept-invitation"])(
    "%s?token=...",
    async (path) => {
      const html = await (await call("GET", `${path}?token=s3cr3t-t0ken-value`)).text();
      expect(html).not.toContain("s3cr3t");
    },
  );
});

describe("/accept-invitation", () => {
  it("sends a signed-out user to sign in or sign up by links that carry no token, and accepts on a press only", async () => {
    const res = await call("GET", "/accept-invitation?token=s3cr3t-t0ken-value");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain('<body data-page="accept-invitation"');
    expect(html).toContain("<title>Join an organization · Acme Test</title>");
    // The token waits in the tab (the script keeps it in sessionStorage): the links are the bare pages.
    expect(html).toMatch(/<a id="invite-sign-in" class="button primary" href="\/sign-in">Sign in to accept<\/a>/);
    expect(html).toMatch(/<a id="invite-sign-up" class="button block" href="\/sign-up">Create an account<\/a>/);
    // Nothing is spent on load: the acceptance is a form's button, and its outcome goes where it is announced.
    expect(html).toMatch(
      /<form id="accept-form" novalidate hidden>[\s\S]*<button id="accept" class="primary" type="submit">/,
    );
    expect(html).toContain('<p id="form-error" class="alert" role="alert"></p>');
    expect(html).toContain('<p id="status" class="status" role="status"></p>');
  });

  it("is in French for a French browser", async () => {
    const html = await (
      await call("GET", "/accept-invitation", { headers: { "Accept-Language": "fr-FR,fr;q=0.9" } })
    ).text();
    expect(html).toContain("<h1>Rejoindre une organisation</h1>");
    expect(html).toContain("Accepter l’invitation");
  });
});

describe("/account's organizations section", () => {
  it("labels its fields (the new organization's name, the address to invite, the role) and asks before acting", async () => {
    const html = await (await call("GET", "/account")).text();
    expect(html).toContain('<h2 id="h-orgs">Organizations</h2>');
    expect(html).toMatch(/<label for="org-name">[^<]+<\/label><input id="org-name"[^>]*autocomplete="organization"/);
    expect(html).toMatch(/<label for="invite-email">[^<]+<\/label><input id="invite-email"[^>]*type="email"/);
    expect(html).toContain('<label for="invite-role">Role</label><select id="invite-role"></select>');
    // Leaving, removing and deleting ask first, in a modal dialog whose Cancel has the focus.
    expect(html).toMatch(
      /<dialog id="ask" aria-labelledby="ask-text">[\s\S]*<button id="ask-no" type="button" autofocus>/,
    );
  });
});

describe("the message catalog", () => {
  it("answers in French for Accept-Language: fr-CA, and says so", async () => {
    const res = await call("GET", "/sign-in", { headers: { "Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5" } });
    expect(res.headers.get("Content-Language")).toBe("fr");
    expect(res.headers.get("Vary")).toContain("Accept-Language");
    const html = await res.text();
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain("Se connecter à Acme Test");
    expect(html).toContain("Mot de passe oublié ?");
  });

  it("answers in English for a language it does not have, and with no header", async () => {
    for (const headers of [{ "Accept-Language": "de-DE,de;q=0.9" }, {}] as Record<string, string>[]) {
      const res = await call("GET", "/sign-in", { headers });
      expect(res.headers.get("Content-Language")).toBe("en");
      expect(await res.text()).toContain("Sign in to Acme Test");
    }
  });

  it("picks by quality, then order, ignoring q=0", () => {
    expect(pickLanguage("en;q=0.4, fr;q=0.8")).toBe("fr");
    expect(pickLanguage("fr;q=0, en")).toBe("en");
    expect(pickLanguage("de, fr")).toBe("fr");
    expect(pickLanguage("*")).toBe("en");
    expect(pickLanguage("garbage;;;q=abc")).toBe("en");
  });

  it("French has every English key (the type checker says so too) and no text left empty", () => {
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(fr)) expect(text.trim(), key).not.toBe("");
  });

  it("embeds the catalog as JSON that cannot close its script element", async () => {
    const html = await (await call("GET", "/sign-in")).text();
    const json = html.match(/<script type="application\/json" id="messages">([\s\S]*?)<\/script>/)![1]!;
    expect(json).not.toContain("<");
    expect(JSON.parse(json)).toEqual(en);
  });
});

describe("GET /brand.css", () => {
  it("is the brand's colours as a stylesheet, for both themes", async () => {
    const res = await call("GET", "/brand.css");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
    const css = await res.text();
    expect(css).toMatch(/^:root\{--accent:#[0-9a-f]{6};--on-accent:#(000000|ffffff);--link:#[0-9a-f]{6}/);
    expect(css).toContain("@media (prefers-color-scheme:dark)");
  });

  // The test brand is #ffcc00: on white, as it is, its text contrast is 1.6.
  it.each(["#ffcc00", "#ffffff", "#000000", "#2f5bd3", "#777777", "#00ff00", "#16181d"])(
    "makes %s readable: text on the accent 4.5:1, the accent on the page 3:1, links 4.5:1, in both themes",
    (color) => {
      const css = brandStylesheet({ name: "x", logoUrl: undefined, color });
      const themes = [...css.matchAll(/--accent:(#\w+);--on-accent:(#\w+);--link:(#\w+);--card:(#\w+)/g)];
      expect(themes).toHaveLength(2);
      for (const [, accent, onAccent, link, card] of themes) {
        expect(Object.values(THEME_BACKGROUND)).toContain(card);
        expect(contrast(accent!, onAccent!)).toBeGreaterThanOrEqual(4.5);
        expect(contrast(accent!, card!)).toBeGreaterThanOrEqual(3);
        expect(contrast(link!, card!)).toBeGreaterThanOrEqual(4.5);
      }
    },
  );

  it("lets the logo's origin, and only it, into img-src", () => {
    const policy = directives(
      hostedPagePolicy({ name: "x", logoUrl: "https://cdn.example.net/a/logo.svg", color: "#123456" }),
    );
    expect(policy.get("img-src")).toBe("data: https://cdn.example.net");
  });
});

it("API answers keep the strict default CSP", async () => {
  expect((await call("GET", "/health")).headers.get("Content-Security-Policy")).toBe(
    "default-src 'none'; frame-ancestors 'none'",
  );
});

it("/account is in /openapi.json as a public HTML operation", async () => {
  const doc = (await (await call("GET", "/openapi.json")).json()) as {
    paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; tags?: string[] }>>;
  };
  const op = doc.paths["/account"]!.get!;
  expect(op.operationId).toBe("accountPage");
  expect(op.security).toEqual([]);
  expect(op.tags).toEqual(["pages"]);
});
