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
