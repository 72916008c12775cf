// The route table the Worker mounts its routes from without evaluating them
// (src/http/lazy-routes.ts): every route's method and path and the module
// it lives in, and the path middleware, in mount order, read from the route
// modules themselves. `npm run generate` (`npm run routes:table`) writes it
// to src/http/generated/route-table.ts; scripts/lib/route-table.test.ts fails
// when that file no longer matches the routes.
import { buildRouteTable } from "../../src/http/lazy-routes";

/** Where the generated table lives, from the repository root. */
export const ROUTE_TABLE_PATH = "src/http/generated/route-table.ts";

const HEADER = `// Generated from the route modules by \`npm run routes:table\` (in \`npm run generate\`): do not edit.
// Each route's method, path, and where it lives (its index in ROUTE_SOURCES, src/http/lazy-routes.ts); "USE" rows
// are a route module's noStore middleware. In mount order.
import type { RouteTableRow } from "../lazy-routes";

`;

/** The generated file's text for the routes as they are now. */
export async function generateRouteTable(): Promise<string> {
  const rows = await buildRouteTable();
  const lines = rows.map((row) => `  ${JSON.stringify(row).replace(/,/g, ", ")},`);
  return `${HEADER}export const ROUTE_TABLE: readonly RouteTableRow[] = [\n${lines.join("\n")}\n];\n`;
}
