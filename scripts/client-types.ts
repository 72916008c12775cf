// `npm run client:types`: writes packages/client/src/api.ts, the client's
// request and response types generated from the service's OpenAPI document
// (the logic is in lib/client-types.ts). `npm run build:client` runs it.
//
// Runs under Node's own type stripping; the document is built from src/,
// which is written for a bundler, so that module is loaded through tsx.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tsImport } from "tsx/esm/api";

const { generateClientTypes, CLIENT_TYPES_PATH }: typeof import("./lib/client-types.ts") = await tsImport(
  "./lib/client-types.ts",
  import.meta.url,
);

const file = fileURLToPath(new URL(`../${CLIENT_TYPES_PATH}`, import.meta.url));
const text = await generateClientTypes();
const before = await readFile(file, "utf8").catch(() => null);
if (before === text) console.log(`client:types: ${CLIENT_TYPES_PATH} is up to date`);
else {
  await writeFile(file, text);
  console.log(`client:types: wrote ${CLIENT_TYPES_PATH}`);
}
