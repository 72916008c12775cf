// `npm run routes:table`: writes src/http/generated/route-table.ts, the table
// the Worker mounts its routes from without evaluating them (the logic is in
// lib/route-table.ts). `npm run generate` runs it.
//
// Runs under Node's own type stripping; the routes are in src/, which is
// written for a bundler, so that module is loaded through tsx.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { tsImport } from "tsx/esm/api";

const { generateRouteTable, ROUTE_TABLE_PATH }: typeof import("./lib/route-table.ts") = await tsImport(
  "./lib/route-table.ts",
  import.meta.url,
);

const file = fileURLToPath(new URL(`../${ROUTE_TABLE_PATH}`, import.meta.url));
const text = await generateRouteTable();
const before = await readFile(file, "utf8").catch(() => null);
if (before === text) console.log(`routes:table: ${ROUTE_TABLE_PATH} is up to date`);
else {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  console.log(`routes:table: wrote ${ROUTE_TABLE_PATH}`);
}
