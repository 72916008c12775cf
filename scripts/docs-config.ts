// `npm run docs:config`: rewrites the generated configuration reference in
// docs/configuration.md from the schema (src/core/config/schema.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withGeneratedTables } from "./lib/config-docs.ts";

const path = fileURLToPath(new URL("../docs/configuration.md", import.meta.url));
const before = readFileSync(path, "utf8");
const after = withGeneratedTables(before);
if (after === before) {
  console.log("docs/configuration.md is up to date");
} else {
  writeFileSync(path, after);
  console.log("docs/configuration.md: configuration tables regenerated");
}
