// The route table the Worker mounts its routes from (src/http/generated/route-table.ts) is the route modules' own:
// a route added, moved or removed without `npm run generate` fails here, as does path middleware the table cannot
// carry. Run by vitest.node.config.ts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generateRouteTable, ROUTE_TABLE_PATH } from "./route-table";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("src/http/generated/route-table.ts", () => {
  it("is what `npm run routes:table` writes from the route modules as they are (run it when this fails)", async () => {
    const committed = readFileSync(path.join(ROOT, ROUTE_TABLE_PATH), "utf8");
    expect(committed.split("\n"), "npm run routes:table").toEqual((await generateRouteTable()).split("\n"));
  });
});
