// GET /docs: the API reference page. Self-contained: one inline script and
// one inline style, allowed by hash under a CSP that permits requests to this
// origin only; nothing loaded from a third party; and the script renders the
// document it fetches from /openapi.json, as text only.
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { DOC_PAGES } from "../../src/pages/docs";
import { call } from "../support/harness";

// The guides the page links, where the repository named in package.json shows docs/.
const repositoryDocs = `${packageJson.repository.url.replace(/^git\+/, "").replace(/\.git$/, "")}/blob/main/docs/`;
const guideLinks = DOC_PAGES.map(([file]) => `${repositoryDocs}${file}`);

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

const page = async () => {
  const res = await call("GET", "/docs");
  const html = await res.text();
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  const styles = [...html.matchAll(/<style\b([^>]*)>([\s\S]*?)<\/style>/g)];
  return { res, html, scripts, styles };
};

describe("GET /docs", () => {
  it(
    "answers the page as HTML under a CSP that allows exactly its own script " + "and style, by hash, and this origin",
    async () => {
      const { res, scripts, styles } = await page();
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toMatch(/^text\/html; charset=utf-8$/i);
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      // Inline, with no attributes: no src, no type=module loading anything.
      expect(scripts).toHaveLength(1);
      expect(styles).toHaveLength(1);
      expect(scripts[0]![1]).toBe("");
      expect(styles[0]![1]).toBe("");

      const [script, style] = await Promise.all([sha256Base64(scripts[0]![2]!), sha256Base64(styles[0]![2]!)]);
      expect(res.headers.get("Content-Security-Policy")).toBe(
        `default-src 'none'; script-src 'sha256-${script}'; style-src 'sha256-${style}'; connect-src 'self'; ` +
          `form-action 'none'; base-uri 'none'; frame-ancestors 'none'`,
      );
    },
  );

  it(
    "loads nothing from a third party: no external URL, no element that " +
      "fetches, no inline handlers or style attributes",
    async () => {
      const { html: full } = await page();
      // The only URLs elsewhere are the guides' links, hrefs of <a> elements: followed by a click, never loaded.
      const html = guideLinks.reduce((text, link) => text.replaceAll(`<a href="${link}">`, "<a>"), full);
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).not.toMatch(/\/\/[a-z0-9-]+\./i); // protocol-relative
      expect(html).not.toMatch(/\s(src|srcset|action|formaction)\s*=/i);
      expect(html).not.toMatch(/<(link|iframe|img|object|embed|base|frame)\b/i);
      expect(html).not.toMatch(/\son[a-z]+\s*=/i);
      expect(html).not.toMatch(/\sstyle\s*=/i);
      expect(html).not.toMatch(/@import|url\(/i);
      // Every other link goes to this origin's own document.
      expect([...html.matchAll(/\shref="([^"]*)"/g)].map((m) => m[1])).toEqual(["/openapi.json", "/openapi.json"]);
      expect([...full.matchAll(/\shref="([^"]*)"/g)].map((m) => m[1])).toEqual([
        "/openapi.json",
        ...guideLinks,
        "/openapi.json",
      ]);
    },
  );

  it(
    "renders the document it fetches from /openapi.json, and puts what it " + "reads into the page as text only",
    async () => {
      const { scripts } = await page();
      const script = scripts[0]![2]!;
      expect(script).toContain('fetch("/openapi.json"');
      for (const part of [
        "doc.paths",
        "op.operationId",
        "op.parameters",
        "op.requestBody",
        "op.responses",
        "securitySchemes",
        "components.schemas",
      ]) {
        expect(script, part).toContain(part);
      }
      expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
      expect(script).not.toMatch(/localStorage|sessionStorage|document\.cookie/);
      // The document it renders is there, with this operation in it.
      const doc = (await (await call("GET", "/openapi.json")).json()) as {
        paths: Record<
          string,
          Record<
            string,
            {
              operationId?: string;
              security?: unknown[];
              tags?: string[];
              responses: Record<string, { content?: Record<string, unknown> }>;
            }
          >
        >;
      };
      const op = doc.paths["/docs"]!.get!;
      expect(op.operationId).toBe("docsPage");
      expect(op.security).toEqual([]);
      expect(op.tags).toEqual(["pages"]);
      expect(op.responses["200"]!.content).toHaveProperty(["text/html"]);
    },
  );

  it("links every guide of docs/ where the repository shows it", async () => {
    const { html } = await page();
    expect(repositoryDocs).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+\/blob\/main\/docs\/$/);
    for (const [file, title] of DOC_PAGES) expect(html).toContain(`<a href="${repositoryDocs}${file}">${title}</a>`);
  });

  it("answers 405 with Allow for another method", async () => {
    const res = await call("POST", "/docs", { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toContain("GET");
  });
});
