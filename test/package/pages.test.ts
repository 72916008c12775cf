// The pages' bundled scripts are their sources': each committed
// src/pages/generated/<page>.ts is exactly what `npm run build:pages` writes
// from src/pages/<page>/ and the client package as they are now, and its hash
// is the script's. A page script (or client) changed without
// `npm run build:pages` fails here. Run by vitest.node.config.ts.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generatePageModule, PAGE_SCRIPTS } from "../../scripts/lib/pages";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe.each(PAGE_SCRIPTS)("$output", (page) => {
  const { output } = page;
  it("is what `npm run build:pages` writes from its sources as they are (run it when this fails)", async () => {
    const committed = readFileSync(path.join(ROOT, output), "utf8");
    expect(committed === (await generatePageModule(page)), "npm run build:pages").toBe(true);
  });

  it("names its script by the script's own SHA-256, and the script cannot close its element", async () => {
    const { SCRIPT, SCRIPT_HASH } = (await import(path.join(ROOT, output))) as { SCRIPT: string; SCRIPT_HASH: string };
    expect(SCRIPT_HASH).toBe(`sha256-${createHash("sha256").update(SCRIPT, "utf8").digest("base64")}`);
    expect(SCRIPT).not.toMatch(/<\/script/i);
  });
});

describe.each(PAGE_SCRIPTS.filter((page) => page.bundlesClient))("$output", ({ output }) => {
  it("bundles the client package in, not a re-implementation of it", async () => {
    const { SCRIPT } = (await import(path.join(ROOT, output))) as { SCRIPT: string };
    // Its tabs coordination names this lock.
    expect(SCRIPT).toContain("secureauth-refresh:");
  });
});

describe("each hosted page's weight", () => {
  it("is under 50 KiB gzip (HTML, inline script and style, the catalog; /brand.css apart), printed here", async () => {
    const { gzipSync } = await import("node:zlib");
    const { renderPage } = await import("../../src/pages/markup");
    const { LANGUAGES } = await import("../../src/pages/messages");
    const { SCRIPT, STYLE } = await import("../../src/pages/generated/hosted");
    const brand = { name: "SecureAuth", logoUrl: undefined, color: "#2f5bd3" };
    const pages = [
      "sign-in",
      "sign-up",
      "forgot-password",
      "reset-password",
      "verify-email",
      "confirm-email",
      "magic-link",
      "accept-invitation",
      "account",
    ];
    const sizes: string[] = [];
    for (const [lang, messages] of Object.entries(LANGUAGES)) {
      for (const page of pages) {
        const html = renderPage(page as never, { lang, messages, brand, script: SCRIPT, style: STYLE });
        const gzip = gzipSync(html).length;
        sizes.push(`${page} (${lang}): ${(gzip / 1024).toFixed(1)} KiB gzip, ${(html.length / 1024).toFixed(1)} KiB`);
        expect(gzip, `${page} (${lang})`).toBeLessThan(50 * 1024);
      }
    }
    console.log(`hosted pages:\n  ${sizes.join("\n  ")}`);
  });
});
