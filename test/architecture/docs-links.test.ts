// The documentation holds together: every relative link in README.md,
// CHANGELOG.md and docs/*.md names a file that exists (and, into one of
// these pages, a heading that exists), the README links every page of docs/,
// and GET /docs links the same pages.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DOC_PAGES } from "../../src/pages/docs.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const docsDir = join(root, "docs");
const pages = [
  join(root, "README.md"),
  join(root, "CHANGELOG.md"),
  ...readdirSync(docsDir)
    .filter((name) => name.endsWith(".md"))
    .map((name) => join(docsDir, name)),
];

/** The markdown outside fenced code blocks, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^[ \t]*```[^\n]*\n[\s\S]*?^[ \t]*```[ \t]*$/gm, "");
}

/** Every `[text](target)` link's target, inline code spans removed first. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

/** GitHub's anchor for each heading: lower case, punctuation dropped, spaces as hyphens. */
function anchors(markdown: string): Set<string> {
  const slugs = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    slugs.add(
      heading!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return slugs;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe("documentation links", () => {
  it("finds the pages and their links", () => {
    expect(pages.length).toBeGreaterThan(10);
    expect(linkTargets(readFileSync(join(root, "README.md"), "utf8")).length).toBeGreaterThan(10);
  });

  for (const page of pages) {
    const name = relative(root, page);
    it(`${name}: every relative link names an existing file, and an existing heading after #`, () => {
      const markdown = readFileSync(page, "utf8");
      const broken: string[] = [];
      for (const target of linkTargets(markdown)) {
        if (isExternal(target)) continue;
        const [path, anchor] = target.split("#", 2) as [string, string | undefined];
        const file = path === "" ? page : resolve(dirname(page), decodeURIComponent(path));
        if (!existsSync(file)) {
          broken.push(`${target}: no file ${relative(root, file)}`);
          continue;
        }
        if (anchor && file.endsWith(".md") && pages.includes(file)) {
          if (!anchors(readFileSync(file, "utf8")).has(anchor)) broken.push(`${target}: no heading #${anchor}`);
        }
      }
      expect(broken).toEqual([]);
    });
  }

  it("README.md links every page of docs/", () => {
    const linked = new Set(linkTargets(readFileSync(join(root, "README.md"), "utf8")).map((t) => t.split("#")[0]));
    const unlinked = readdirSync(docsDir)
      .filter((name) => name.endsWith(".md"))
      .filter((name) => !linked.has(`docs/${name}`));
    expect(unlinked).toEqual([]);
  });

  it("GET /docs links every page of docs/, and only those", () => {
    const files = readdirSync(docsDir).filter((name) => name.endsWith(".md"));
    expect(DOC_PAGES.map(([file]) => file).sort()).toEqual(files.sort());
  });
});
