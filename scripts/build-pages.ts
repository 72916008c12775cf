// `npm run build:pages`: bundles the pages' browser scripts (src/pages/<page>/)
// into src/pages/generated/<page>.ts, the script text and its CSP hash, which
// the Worker imports (the logic is in lib/pages.ts). The files are committed,
// so the Worker and its tests need no build step; run this after changing a
// page's script or the client package.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generatePageModule, PAGE_SCRIPTS } from "./lib/pages.ts";

for (const page of PAGE_SCRIPTS) {
  const file = fileURLToPath(new URL(`../${page.output}`, import.meta.url));
  const text = await generatePageModule(page);
  const before = await readFile(file, "utf8").catch(() => null);
  if (before === text) console.log(`build:pages: ${page.output} is up to date`);
  else {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    console.log(`build:pages: wrote ${page.output}`);
  }
}
