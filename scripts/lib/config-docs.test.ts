// docs/configuration.md's reference tables are what the schema declares:
// change a variable in src/core/config/schema.ts and this fails until
// `npm run docs:config` is run.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { VARIABLE_NAMES } from "../../src/core/config/schema.ts";
import { BEGIN_MARKER, END_MARKER, withGeneratedTables } from "./config-docs.ts";

const DOC = fileURLToPath(new URL("../../docs/configuration.md", import.meta.url));

describe("the configuration reference in docs/configuration.md", () => {
  it("is what `npm run docs:config` generates from the schema (run it after changing a variable)", () => {
    const doc = readFileSync(DOC, "utf8");
    expect(doc).toBe(withGeneratedTables(doc));
  });

  it("lists every variable of the schema once", () => {
    const doc = readFileSync(DOC, "utf8");
    const block = doc.slice(doc.indexOf(BEGIN_MARKER), doc.indexOf(END_MARKER));
    for (const name of VARIABLE_NAMES) expect(block.match(new RegExp(`^\\| \`${name}\` +\\|`, "gm"))).toHaveLength(1);
  });

  it("a stale table is detected: a changed row differs from the generated one", () => {
    const doc = readFileSync(DOC, "utf8");
    const stale = doc.replace(/(\| `ACCESS_TOKEN_TTL` +\| var +\| )`600`/, "$1`900`");
    expect(stale).not.toBe(doc);
    expect(withGeneratedTables(stale)).toBe(doc);
  });

  it("refuses a document without the markers rather than losing the tables", () => {
    expect(() => withGeneratedTables("# Configuration\n")).toThrow(/markers/);
  });
});
