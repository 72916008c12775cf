// The client package's generated types are the routes' own: the committed
// packages/client/src/api.ts is exactly what openapi-typescript writes from
// /openapi.json as the routes build it now. A route whose schema changed
// without `npm run client:types` fails here. Run by vitest.node.config.ts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CLIENT_TYPES_PATH, generateClientTypes } from "../../scripts/lib/client-types";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("packages/client/src/api.ts", () => {
  it("is what `npm run client:types` writes from the routes as they are (run it when this fails)", async () => {
    const committed = readFileSync(path.join(ROOT, CLIENT_TYPES_PATH), "utf8");
    const generated = await generateClientTypes();
    // Compared line by line first, so a failure names the first lines that differ rather than 5,000 of them.
    const [a, b] = [committed.split("\n"), generated.split("\n")];
    const first = a.findIndex((line, i) => line !== b[i]);
    const at = first === -1 ? Math.min(a.length, b.length) : first;
    expect(a.slice(at, at + 5), `stale from line ${at + 1}: npm run client:types`).toEqual(b.slice(at, at + 5));
    expect(committed === generated, "npm run client:types").toBe(true);
  });

  it("names the schemas and operations the client is typed with", async () => {
    const generated = await generateClientTypes();
    for (const schema of ["Problem", "User", "TokenPair", "Session", "Passkey", "AuditPage"])
      expect(generated, schema).toMatch(new RegExp(`^        ${schema}: \\{`, "m"));
    for (const operation of ["register", "verifyEmail", "deleteMe", "reauthenticate", "registerPasskey"])
      expect(generated, operation).toMatch(new RegExp(`^    ${operation}: \\{`, "m"));
  });
});
