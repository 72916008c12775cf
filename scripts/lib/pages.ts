// The pages' browser scripts: each entry under src/pages/<page>/ is bundled
// by esbuild (with what it imports, the client package included) into one
// inline script, written with its CSP hash to src/pages/generated/<page>.ts,
// which the Worker imports. `npm run build:pages` writes the files, and
// test/package/pages.test.ts fails when a committed one is stale.
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The pages with a bundled script: the entry, and the generated module, from the repository root. The hosted pages
 * (sign-in, sign-up, the links' pages, /account) share one script bundling the client package, minified, and one
 * stylesheet, minified too, both named by hash in their CSP; /docs's script keeps its names, so the script the page
 * serves reads as its source.
 */
export const PAGE_SCRIPTS = [
  {
    name: "hosted",
    entry: "src/pages/hosted/main.ts",
    style: "src/pages/hosted/style.css",
    bundlesClient: true,
    minify: true,
  },
  { name: "docs", entry: "src/pages/docs/main.ts", bundlesClient: false, minify: false },
].map((page) => ({
  ...page,
  output: `src/pages/generated/${page.name}.ts`,
}));

/** How one page's script is bundled. */
export type PageScript = { entry: string; minify: boolean; style?: string };

const header = (entry: string) => `// Generated from ${entry} by \`npm run build:pages\` (scripts/build-pages.ts,
// esbuild): do not edit. A test (test/package/pages.test.ts) fails when it no
// longer matches its sources. The script is served inline; its CSP hash is
// computed here, at build time.
`;

/** One page's bundled script: an IIFE for an inline <script>, minified unless the page keeps its names. */
export async function bundlePageScript({ entry, minify }: PageScript): Promise<string> {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify,
    legalComments: "none",
    charset: "utf8",
    logLevel: "silent",
  });
  const text = result.outputFiles[0]!.text.trimEnd();
  // It goes between <script> and </script>: nothing in it may close the element.
  if (/<\/script/i.test(text)) throw new Error(`${entry}: the bundle contains "</script"`);
  return text;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("base64");

/** A stylesheet minified by esbuild, for an inline <style>. */
export async function bundleStyle(file: string): Promise<string> {
  const result = await build({
    entryPoints: [path.join(ROOT, file)],
    bundle: true,
    write: false,
    minify: true,
    charset: "utf8",
    logLevel: "silent",
    loader: { ".css": "css" },
  });
  const text = result.outputFiles[0]!.text.trimEnd();
  if (/<\/style/i.test(text)) throw new Error(`${file}: the stylesheet contains "</style"`);
  return text;
}

/** The generated module's text for one page: its script and that script's CSP hash source. */
export async function generatePageModule(page: PageScript): Promise<string> {
  const { entry } = page;
  const script = await bundlePageScript(page);
  const hash = sha256(script);
  let text = `${header(entry)}
/** The page's one inline script. */
export const SCRIPT = ${JSON.stringify(script)};

/** Its CSP hash source, for the page's script-src. */
export const SCRIPT_HASH = "sha256-${hash}";
`;
  if (page.style) {
    const style = await bundleStyle(page.style);
    text += `
/** The pages' one inline stylesheet (${page.style}, minified). */
export const STYLE = ${JSON.stringify(style)};

/** Its CSP hash source, for the page's style-src. */
export const STYLE_HASH = "sha256-${sha256(style)}";
`;
  }
  return text;
}
