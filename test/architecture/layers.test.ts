// The layer rule, checked on src/'s import graph in every `npm test` (run by
// vitest.node.config.ts): one test per rule, named after it, and below them
// fixtures that break each rule, to prove the checker can fail.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkLayers, formatViolation, parseModules, readSourceTree, RULES } from "./layers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the layer rule on src/", () => {
  const { sources, files } = readSourceTree(ROOT);
  // Files outside src/ that src/ may import: package.json, for the version the OpenAPI document states, and the
  // client package's generated API types, which the problem mapper types its body with.
  const modules = parseModules(sources, [...files, "package.json", ...readSourceTree(ROOT, "packages/client/src").files]);
  const violations = checkLayers(modules);

  it("reads the whole import graph (so the rules below cannot pass on nothing)", () => {
    const layers = new Set(modules.map((m) => m.file.split("/")[1]));
    for (const layer of ["services", "repositories", "routes", "middleware", "db", "composition.ts", "app.ts"])
      expect(layers).toContain(layer);
    const importsOf = (file: string) => modules.find((m) => m.file === file)?.imports ?? [];
    expect(importsOf("src/composition.ts").map((i) => i.target)).toContain("src/repositories/index.ts");
    expect(importsOf("src/repositories/roles.ts").map((i) => i.specifier)).toContain("drizzle-orm");
    expect(importsOf("src/repositories/roles.ts").find((i) => i.target === "src/services/ports.ts")?.typeOnly).toBe(
      true,
    );
    expect(modules.find((m) => m.file === "src/composition.ts")?.constructions.map((c) => c.name)).toContain(
      "AccessTokens",
    );
  });

  for (const rule of RULES) {
    it(rule.title, () => {
      expect(violations.filter((v) => v.rule === rule.id).map(formatViolation)).toEqual([]);
    });
  }
});

type Fixture = { rule: string; name: string; files: Record<string, string>; otherFiles?: string[]; expected: string[] };

/** The violations as "rule file:line", for fixtures. */
function check(files: Record<string, string>, otherFiles: string[] = []): string[] {
  const sources = Object.entries(files).map(([file, text]) => ({ file, text }));
  return checkLayers(parseModules(sources, [...Object.keys(files), ...otherFiles])).map(
    (v) => `${v.rule} ${v.file}:${v.line}`,
  );
}

const SERVICES = "services-are-framework-free";
const DATABASE = "only-repositories-touch-the-database";
const REPOSITORIES = "repositories-depend-only-on-ports";
const HTTP = "http-layer-never-reaches-the-database";
const COMPOSITION = "only-the-composition-root-builds-infrastructure";
const RESOLVES = "every-relative-import-resolves";

const REPOSITORIES_INDEX = "export function storesFor() {}\nexport { lazyDatabase } from './database';\n";

const FIXTURES: Fixture[] = [
  {
    rule: SERVICES,
    name: "a services file importing drizzle-orm",
    files: { "src/services/accounts.ts": 'import { eq } from "drizzle-orm";\nexport const x = eq;\n' },
    // Drizzle outside the repositories breaks the database rule as well.
    expected: [`${SERVICES} src/services/accounts.ts:1`, `${DATABASE} src/services/accounts.ts:1`],
  },
  {
    rule: SERVICES,
    name: "type-only imports of hono and of a repository count",
    files: {
      "src/services/accounts.ts":
        'import type { Context } from "hono";\n\nimport { type Database } from "../repositories";\n',
      "src/repositories/index.ts": "export type Database = unknown;\n",
    },
    expected: [`${SERVICES} src/services/accounts.ts:1`, `${SERVICES} src/services/accounts.ts:3`],
  },
  {
    rule: SERVICES,
    name: "@hono/*, cloudflare:*, a dynamic import of the composition root, typeof import() of the context",
    files: {
      "src/services/admin/admin-service.ts": [
        'import { z } from "@hono/zod-openapi";',
        'import { env } from "cloudflare:workers";',
        'export const later = () => import("../../composition");',
        'export type Vars = typeof import("../../context");',
        'export { route } from "../../routes/me.ts";',
      ].join("\n"),
      "src/composition.ts": "",
      "src/context.ts": "",
      "src/routes/me.ts": "export const route = 1;",
    },
    expected: [1, 2, 3, 4, 5].map((line) => `${SERVICES} src/services/admin/admin-service.ts:${line}`),
  },
  {
    rule: DATABASE,
    name: "a route using a drizzle-orm subpath, the composition root the Neon driver, a service the schema",
    files: {
      "src/routes/me.ts": 'import { sql } from "drizzle-orm/sql";\n',
      "src/composition.ts": 'import { Pool } from "@neondatabase/serverless";\n',
      "src/services/profiles.ts": 'import type { users } from "../db/schema";\n',
      "src/db/schema.ts": 'import { pgTable } from "drizzle-orm/pg-core";\nexport const users = pgTable;\n',
    },
    expected: [
      `${DATABASE} src/routes/me.ts:1`,
      `${DATABASE} src/composition.ts:1`,
      `${DATABASE} src/services/profiles.ts:1`,
    ],
  },
  {
    rule: REPOSITORIES,
    name: "a repository importing ports.ts as a value, a service module, and the composition root",
    files: {
      "src/repositories/users.ts": [
        'import { UserStore } from "../services/ports";',
        'import type { AdminActor } from "../services/admin/actor";',
        'import { compose } from "../composition";',
      ].join("\n"),
      "src/services/ports.ts": "export type UserStore = {};",
      "src/services/admin/actor.ts": "export type AdminActor = {};",
      "src/composition.ts": "export function compose() {}",
    },
    expected: [
      `${REPOSITORIES} src/repositories/users.ts:1`,
      `${REPOSITORIES} src/repositories/users.ts:2`,
      `${REPOSITORIES} src/repositories/users.ts:3`,
    ],
  },
  {
    rule: HTTP,
    name: "a route importing a repository, a middleware importing the schema",
    files: {
      "src/routes/admin/users.ts": 'import { AdminUserRepository } from "../../repositories/admin-users";\n',
      "src/repositories/admin-users.ts": "export class AdminUserRepository {}",
      "src/middleware/authorize/index.ts": 'import type { users } from "../../db/schema";\n',
      "src/db/schema.ts": "export const users = 1;",
    },
    expected: [
      `${HTTP} src/routes/admin/users.ts:1`,
      `${HTTP} src/middleware/authorize/index.ts:1`,
      `${DATABASE} src/middleware/authorize/index.ts:1`,
    ],
  },
  {
    rule: COMPOSITION,
    name: "the app opening the database, a route constructing AccessTokens under an alias, the entry using storesFor through a namespace",
    files: {
      "src/app.ts": 'import { lazyDatabase } from "./repositories";\n',
      "src/routes/tokens.ts":
        'import { AccessTokens as Tokens } from "../services/tokens";\n\nexport const tokens = new Tokens();\n',
      "src/index.ts":
        'import * as repositories from "./repositories";\n\n\nexport const stores = repositories.storesFor();\n',
      "src/repositories/index.ts": REPOSITORIES_INDEX,
      "src/repositories/database.ts": "export function lazyDatabase() {}",
      "src/services/tokens/index.ts": 'export { AccessTokens } from "./access-tokens";\n',
      "src/services/tokens/access-tokens.ts": "export class AccessTokens {}",
    },
    expected: [`${COMPOSITION} src/app.ts:1`, `${COMPOSITION} src/routes/tokens.ts:3`, `${COMPOSITION} src/index.ts:4`],
  },
  {
    rule: COMPOSITION,
    name: "a service constructing the revocation list, a barrel other than the two re-exporting loadKeySet",
    files: {
      "src/services/accounts.ts":
        'import { SessionRevocationList } from "./sessions";\nexport const list = new SessionRevocationList();\n',
      "src/services/sessions/index.ts": 'export { SessionRevocationList } from "./revocation-list";\n',
      "src/services/sessions/revocation-list.ts": "export class SessionRevocationList {}",
      "src/services/admin/index.ts": 'export { loadKeySet } from "../tokens/keys";\n',
      "src/services/tokens/keys.ts": "export function loadKeySet() {}",
    },
    expected: [`${COMPOSITION} src/services/accounts.ts:2`, `${COMPOSITION} src/services/admin/index.ts:1`],
  },
  {
    rule: RESOLVES,
    name: "a relative import of a file that does not exist",
    files: { "src/services/accounts.ts": 'import { x } from "./missing";\n' },
    expected: [`${RESOLVES} src/services/accounts.ts:1`],
  },
];

describe("the checker", () => {
  for (const fixture of FIXTURES) {
    it(`fails "${fixture.rule}" on ${fixture.name}`, () => {
      expect(check(fixture.files, fixture.otherFiles).sort()).toEqual([...fixture.expected].sort());
    });
  }

  it("has a failing fixture for every rule", () => {
    expect(new Set(FIXTURES.map((f) => f.rule))).toEqual(new Set(RULES.map((r) => r.id)));
  });

  it("names the file, the line and the import in its report", () => {
    const [v] = checkLayers(
      parseModules([{ file: "src/services/accounts.ts", text: '\nimport type { Context } from "hono";\n' }]),
    );
    expect(formatViolation(v!)).toMatch(/^src\/services\/accounts\.ts:2 type-only imports "hono": /);
  });

  it("passes a layering that keeps every rule", () => {
    const files = {
      "src/services/ports.ts": "export type UserStore = {};",
      "src/services/profiles.ts": 'import type { UserStore } from "./ports";\nimport { NotFound } from "../errors";\n',
      "src/services/passwords/common.ts": 'import list from "./common-passwords.json";\n',
      "src/services/tokens/index.ts":
        'export { AccessTokens } from "./access-tokens";\nexport { loadKeySet } from "./keys.js";\n',
      "src/services/tokens/access-tokens.ts": 'import { jwtVerify } from "jose";\nexport class AccessTokens {}',
      "src/services/tokens/keys.ts": "export function loadKeySet() {}",
      "src/errors.ts": "export class NotFound extends Error {}",
      "src/db/schema.ts": 'import { pgTable } from "drizzle-orm/pg-core";\nexport const users = pgTable;\n',
      "src/repositories/database.ts":
        'import { Pool } from "@neondatabase/serverless";\nimport * as schema from "../db/schema";\nexport function lazyDatabase() {}',
      "src/repositories/users.ts":
        'import { sql } from "drizzle-orm";\nimport { type UserStore } from "../services/ports";\nimport { users } from "../db/schema";\nimport { NotFound } from "../errors";\n',
      "src/repositories/index.ts": `import { storesFor as bind } from "./index";\n${REPOSITORIES_INDEX}`,
      "src/composition.ts":
        'import { lazyDatabase, storesFor } from "./repositories";\nimport { AccessTokens, loadKeySet } from "./services/tokens";\nexport const t = new AccessTokens();\n',
      "src/routes/me.ts":
        'import { Hono } from "hono";\nimport type { UserStore } from "../services/ports";\nimport { compose } from "../composition";\n',
      "src/middleware/authorize/index.ts":
        'import { createMiddleware } from "hono/factory";\nimport { NotFound } from "../../errors";\n',
    };
    expect(check(files, ["src/services/passwords/common-passwords.json"])).toEqual([]);
  });
});
