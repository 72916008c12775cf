// The layer rules by file role, checked on src/'s import graph in every
// `npm test` (run by vitest.node.config.ts): one test per rule, named after
// it, and below them fixtures that break each rule, to prove the checker can
// fail, and a stub feature that keeps every rule.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkLayers, formatViolation, parseModules, readSourceTree, roleOf, RULES } from "./layers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the layer rules on src/", () => {
  const { sources, files } = readSourceTree(ROOT);
  // Files outside src/ that src/ may import: package.json, for the version the OpenAPI document states, and the
  // client package's generated API types, which the problem mapper types its body with.
  const modules = parseModules(sources, [
    ...files,
    "package.json",
    ...readSourceTree(ROOT, "packages/client/src").files,
  ]);
  const violations = checkLayers(modules);

  it("reads the whole import graph (so the rules below cannot pass on nothing)", () => {
    const roles = new Set(modules.map((m) => roleOf(m.file)));
    for (const role of ["core", "http", "entry", "postgres", "wiring", "service", "adapter", "db", "pages", "root"])
      expect(roles).toContain(role);
    const importsOf = (file: string) => modules.find((m) => m.file === file)?.imports ?? [];
    expect(importsOf("src/composition.ts").map((i) => i.target)).toContain("src/stores.ts");
    expect(importsOf("src/features/admin/roles.postgres.ts").map((i) => i.specifier)).toContain("drizzle-orm");
    expect(
      importsOf("src/features/admin/roles.postgres.ts").find((i) => i.target === "src/features/admin/store.ts")
        ?.typeOnly,
    ).toBe(true);
    expect(modules.find((m) => m.file === "src/composition.ts")?.constructions.map((c) => c.name)).toContain(
      "AccessTokens",
    );
    expect(
      modules
        .find((m) => m.file === "src/adapters/revocation-feed/durable-object.ts")
        ?.typeReferences.map((t) => t.name),
    ).toContain("DurableObjectState");
  });

  it("gives every file of a feature a role: its routes, its postgres store, or its service side", () => {
    expect(roleOf("src/features/passkeys/routes.ts")).toBe("entry");
    expect(roleOf("src/features/admin/users-routes.ts")).toBe("entry");
    expect(roleOf("src/features/mail/consumer.ts")).toBe("entry");
    expect(roleOf("src/features/passkeys/postgres.ts")).toBe("postgres");
    expect(roleOf("src/features/sessions/refresh-tokens.postgres.ts")).toBe("postgres");
    expect(roleOf("src/features/passkeys/service.ts")).toBe("service");
    expect(roleOf("src/features/passkeys/store.ts")).toBe("service");
    expect(roleOf("src/features/passkeys/feature.ts")).toBe("wiring");
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

const CORE = "core-imports-nothing-outer";
const SERVICES = "services-are-framework-free";
const DATABASE = "only-postgres-files-touch-the-database";
const ROUTES = "routes-never-import-postgres";
const FEATURES = "features-talk-through-services";
const STORES = "stores-depend-only-on-ports";
const COMPOSITION = "only-the-composition-root-builds-infrastructure";
const WIRING = "only-the-root-wires-features";
const RESOLVES = "every-relative-import-resolves";

const STORES_TS = "export function storesFor() {}\nexport { lazyDatabase } from './adapters/postgres/database';\n";

const FIXTURES: Fixture[] = [
  {
    rule: CORE,
    name: "core importing a feature's service, the http layer, an adapter, and hono",
    files: {
      "src/core/errors.ts": [
        'import type { UserStore } from "../features/accounts/store";',
        'import { authenticate } from "../http/authenticate";',
        'import { FeedRevocationList } from "../adapters/revocation-feed/reader";',
        'import type { Context } from "hono";',
        'import { ConfigError } from "./config-error";',
        'import type { Env } from "../config";',
      ].join("\n"),
      "src/features/accounts/store.ts": "export type UserStore = {};",
      "src/http/authenticate/index.ts": "export const authenticate = 1;",
      "src/adapters/revocation-feed/reader.ts": "export class FeedRevocationList {}",
      "src/core/config-error.ts": "export class ConfigError extends Error {}",
      "src/config.ts": "export type Env = {};",
    },
    expected: [1, 2, 3, 4].map((line) => `${CORE} src/core/errors.ts:${line}`),
  },
  {
    rule: SERVICES,
    name: "a service importing drizzle-orm",
    files: { "src/features/accounts/service.ts": 'import { eq } from "drizzle-orm";\nexport const x = eq;\n' },
    // Drizzle outside a postgres file breaks the database rule as well.
    expected: [`${SERVICES} src/features/accounts/service.ts:1`, `${DATABASE} src/features/accounts/service.ts:1`],
  },
  {
    rule: SERVICES,
    name: "type-only imports of hono and of its own postgres file count",
    files: {
      "src/features/accounts/service.ts":
        'import type { Context } from "hono";\n\nimport { type UserRepository } from "./postgres";\n',
      "src/features/accounts/postgres.ts": "export class UserRepository {}\n",
    },
    expected: [`${SERVICES} src/features/accounts/service.ts:1`, `${SERVICES} src/features/accounts/service.ts:3`],
  },
  {
    rule: SERVICES,
    name:
      "@hono/*, cloudflare:*, a dynamic import of the composition root, typeof import() of the http " +
      "context, an adapter",
    files: {
      "src/features/admin/service.ts": [
        'import { z } from "@hono/zod-openapi";',
        'import { env } from "cloudflare:workers";',
        'export const later = () => import("../../composition");',
        'export type Vars = typeof import("../../http/context");',
        'export { bindingRateLimit } from "../../adapters/rate-limit.ts";',
        'import { storesFor } from "../../stores";',
      ].join("\n"),
      "src/composition.ts": "",
      "src/http/context.ts": "",
      "src/adapters/rate-limit.ts": "export const bindingRateLimit = 1;",
      "src/stores.ts": STORES_TS,
      "src/adapters/postgres/database.ts": "export function lazyDatabase() {}",
    },
    expected: [
      ...[1, 2, 3, 4, 5, 6].map((line) => `${SERVICES} src/features/admin/service.ts:${line}`),
      `${COMPOSITION} src/features/admin/service.ts:6`,
    ],
  },
  {
    rule: SERVICES,
    name: "a service naming Workers global types (KVNamespace, DurableObjectNamespace, Queue<T>)",
    files: {
      "src/features/sessions/service.ts": [
        "export type Deps = { kv: KVNamespace;",
        "  rooms: DurableObjectNamespace;",
        "  queue: Queue<string> };",
      ].join("\n"),
    },
    expected: [1, 2, 3].map((line) => `${SERVICES} src/features/sessions/service.ts:${line}`),
  },
  {
    rule: DATABASE,
    name: "routes using a drizzle-orm subpath, the composition root the Neon driver, a service the schema",
    files: {
      "src/features/lifecycle/routes.ts": 'import { sql } from "drizzle-orm/sql";\n',
      "src/composition.ts": 'import { Pool } from "@neondatabase/serverless";\n',
      "src/features/lifecycle/profiles.ts": 'import type { users } from "../../db/schema";\n',
      "src/db/schema.ts": 'import { pgTable } from "drizzle-orm/pg-core";\nexport const users = pgTable;\n',
    },
    expected: [
      `${DATABASE} src/features/lifecycle/routes.ts:1`,
      `${DATABASE} src/composition.ts:1`,
      `${DATABASE} src/features/lifecycle/profiles.ts:1`,
      `${SERVICES} src/features/lifecycle/profiles.ts:1`,
    ],
  },
  {
    rule: ROUTES,
    name: "a feature's routes importing its own postgres.ts, another's *.postgres.ts, middleware the Postgres adapter",
    files: {
      "src/features/admin/users-routes.ts": [
        'import { AdminUserRepository } from "./postgres";',
        'import type { RoleRepository } from "./roles.postgres";',
      ].join("\n"),
      "src/features/admin/postgres.ts": "export class AdminUserRepository {}",
      "src/features/admin/roles.postgres.ts": "export class RoleRepository {}",
      "src/http/authorize/index.ts": 'import type { Executor } from "../../adapters/postgres/database";\n',
      "src/adapters/postgres/database.ts": "export type Executor = {};",
    },
    expected: [
      `${ROUTES} src/features/admin/users-routes.ts:1`,
      `${ROUTES} src/features/admin/users-routes.ts:2`,
      `${ROUTES} src/http/authorize/index.ts:1`,
    ],
  },
  {
    rule: FEATURES,
    name: "a feature's service importing another feature's postgres.ts, a route another feature's routes",
    files: {
      "src/features/mfa/service.ts": 'import type { UserRepository } from "../accounts/postgres";\n',
      "src/features/accounts/postgres.ts": "export class UserRepository {}",
      "src/features/reauthentication/routes.ts": 'import { mfaRoutes } from "../mfa/routes";\n',
      "src/features/mfa/routes.ts": "export const mfaRoutes = 1;",
    },
    expected: [
      `${FEATURES} src/features/mfa/service.ts:1`,
      `${SERVICES} src/features/mfa/service.ts:1`,
      `${FEATURES} src/features/reauthentication/routes.ts:1`,
    ],
  },
  {
    rule: STORES,
    name:
      "a postgres file importing a store.ts as a value, another feature's service, the composition root; " +
      "an adapter the http layer",
    files: {
      "src/features/passkeys/postgres.ts": [
        'import { PasskeyStore } from "./store";',
        'import type { AdminActor } from "../admin/actor";',
        'import { compose } from "../../composition";',
      ].join("\n"),
      "src/features/passkeys/store.ts": "export type PasskeyStore = {};",
      "src/features/admin/actor.ts": "export type AdminActor = {};",
      "src/composition.ts": "export function compose() {}",
      "src/adapters/mail/queue.ts": 'import type { AppEnv } from "../../http/context";\n',
      "src/http/context.ts": "export type AppEnv = {};",
    },
    expected: [
      `${STORES} src/features/passkeys/postgres.ts:2`,
      `${STORES} src/features/passkeys/postgres.ts:3`,
      `${STORES} src/adapters/mail/queue.ts:1`,
    ],
  },
  {
    rule: COMPOSITION,
    name:
      "the app opening the database, routes constructing AccessTokens under an alias, the entry using " +
      "storesFor through a namespace",
    files: {
      "src/http/app.ts": 'import { lazyDatabase } from "../stores";\n',
      "src/features/tokens/routes.ts":
        'import { AccessTokens as Tokens } from "./index";\n\nexport const tokens = new Tokens();\n',
      "src/index.ts": 'import * as stores from "./stores";\n\n\nexport const all = stores.storesFor();\n',
      "src/stores.ts": STORES_TS,
      "src/adapters/postgres/database.ts": "export function lazyDatabase() {}",
      "src/features/tokens/index.ts": 'export { AccessTokens } from "./access-tokens";\n',
      "src/features/tokens/access-tokens.ts": "export class AccessTokens {}",
    },
    expected: [
      `${COMPOSITION} src/http/app.ts:1`,
      `${ROUTES} src/http/app.ts:1`,
      `${COMPOSITION} src/features/tokens/routes.ts:3`,
      `${COMPOSITION} src/index.ts:4`,
    ],
  },
  {
    rule: COMPOSITION,
    name: "a service constructing the revocation list, a barrel other than the two re-exporting loadKeySet",
    files: {
      "src/features/accounts/service.ts":
        'import { FeedRevocationList } from "../sessions";\nexport const list = new FeedRevocationList();\n',
      "src/features/sessions/index.ts": 'export { FeedRevocationList } from "./revocation";\n',
      "src/features/sessions/revocation.ts": "export class FeedRevocationList {}",
      "src/features/admin/index.ts": 'export { loadKeySet } from "../tokens/keys";\n',
      "src/features/tokens/keys.ts": "export function loadKeySet() {}",
    },
    expected: [`${COMPOSITION} src/features/accounts/service.ts:2`, `${COMPOSITION} src/features/admin/index.ts:1`],
  },
  {
    rule: WIRING,
    name: "the app mounting a feature's routes through its feature.ts, a service building another feature's services",
    files: {
      "src/http/app.ts": 'import { passkeys } from "../features/passkeys/feature";\n',
      "src/features/passkeys/feature.ts": "export const passkeys = {};",
      "src/features/accounts/service.ts": 'import { mfa } from "../mfa/feature";\n',
      "src/features/mfa/feature.ts": "export const mfa = {};",
      "src/features.ts": 'import { passkeys } from "./features/passkeys/feature";\n',
    },
    expected: [
      `${WIRING} src/http/app.ts:1`,
      `${WIRING} src/features/accounts/service.ts:1`,
      `${SERVICES} src/features/accounts/service.ts:1`,
    ],
  },
  {
    rule: RESOLVES,
    name: "a relative import of a file that does not exist",
    files: { "src/features/accounts/service.ts": 'import { x } from "./missing";\n' },
    expected: [`${RESOLVES} src/features/accounts/service.ts:1`],
  },
];

/**
 * A new small feature ("greetings": one table, one route, one service) as it
 * is added to this layout: its folder, whose feature.ts hands its store, its
 * service and its routes to the composition root, plus one line in the
 * feature list (src/features.ts), from which the Stores type, the services and
 * the app's routes are all derived.
 */
const STUB_FEATURE: Record<string, string> = {
  "src/features/greetings/store.ts": [
    'import type { RequestOrigin } from "../../core/domain";',
    'export type GreetingAuditEvent = "greeting.sent";',
    "export interface GreetingStore { record(name: string, origin: RequestOrigin): Promise<void> }",
  ].join("\n"),
  "src/features/greetings/service.ts": [
    'import { NotFound } from "../../core/errors";',
    'import type { Stores } from "../../stores";',
    'import type { GreetingStore } from "./store";',
    'export class GreetingService { constructor(readonly stores: Pick<Stores, "greetings" | "users">) {} }',
  ].join("\n"),
  "src/features/greetings/postgres.ts": [
    'import { sql } from "drizzle-orm";',
    'import type { Executor } from "../../adapters/postgres/database";',
    'import { auditInsert } from "../../adapters/postgres/fragments";',
    'import type { GreetingStore } from "./store";',
    "export class GreetingRepository {}",
  ].join("\n"),
  "src/features/greetings/routes.ts": [
    'import { OpenAPIHono } from "@hono/zod-openapi";',
    'import type { AppEnv } from "../../http/context";',
    'import { authenticate } from "../../http/authenticate";',
    'import type { GreetingService } from "./service";',
    "export const greetingRoutes = new OpenAPIHono<AppEnv>();",
  ].join("\n"),
  "src/features/greetings/feature.ts": [
    'import type { Feature } from "../../features";',
    'import { GreetingRepository } from "./postgres";',
    'import { greetingRoutes } from "./routes";',
    'import { GreetingService } from "./service";',
    'import type { GreetingStore } from "./store";',
    "export const greetings = {",
    "  stores: (db): { greetings: GreetingStore } => ({ greetings: new GreetingRepository(db) }),",
    "  services: { greetings: (deps): GreetingService => new GreetingService(deps.stores()) },",
    "  routes: [greetingRoutes],",
    "} satisfies Feature;",
  ].join("\n"),
  // The one line of wiring (and its import), in the list the root files derive from.
  "src/features.ts": [
    'import { accounts } from "./features/accounts/feature";',
    'import { greetings } from "./features/greetings/feature";',
    "export const FEATURES = [accounts, greetings] as const;",
  ].join("\n"),
  // What derives from the list, unchanged by the new feature.
  "src/stores.ts": 'import { FEATURES, type FeatureStores } from "./features";\n',
  "src/composition.ts": 'import { FEATURES, type Services } from "./features";\n',
  "src/http/app.ts": 'import { FEATURES } from "../features";\n',
  // What it uses of the rest, as the real files are.
  "src/features/accounts/feature.ts": "export const accounts = {};",
  "src/core/domain.ts": "export type RequestOrigin = {};",
  "src/core/errors.ts": "export class NotFound extends Error {}",
  "src/adapters/postgres/database.ts": 'import { Pool } from "@neondatabase/serverless";\nexport type Executor = {};',
  "src/adapters/postgres/fragments.ts": 'import { sql } from "drizzle-orm";\nexport const auditInsert = sql;',
  "src/http/context.ts": 'import type { Env } from "../config";\nexport type AppEnv = {};',
  "src/http/authenticate/index.ts": 'import { createMiddleware } from "hono/factory";\nexport const authenticate = 1;',
  "src/config.ts": "export type Env = {};",
};

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
      parseModules([{ file: "src/features/accounts/service.ts", text: '\nimport type { Context } from "hono";\n' }]),
    );
    expect(formatViolation(v!)).toMatch(/^src\/features\/accounts\/service\.ts:2 type-only imports "hono": /);
  });

  it("passes a new feature added as one folder plus one line in the feature list", () => {
    expect(check(STUB_FEATURE)).toEqual([]);
    const touched = Object.keys(STUB_FEATURE).filter(
      (file) => file.startsWith("src/features/greetings/") || STUB_FEATURE[file]!.includes("greetings"),
    );
    expect(touched.filter((file) => !file.startsWith("src/features/greetings/"))).toEqual(["src/features.ts"]);
    expect(touched).toHaveLength(6);
  });

  it(
    "fails the stub feature once its routes reach its postgres.ts, its service Hono, or the app its " + "feature.ts",
    () => {
      const broken = {
        ...STUB_FEATURE,
        "src/features/greetings/routes.ts": 'import { GreetingRepository } from "./postgres";\n',
        "src/features/greetings/service.ts": 'import type { Context } from "hono";\n',
      };
      expect(check(broken).sort()).toEqual(
        [`${ROUTES} src/features/greetings/routes.ts:1`, `${SERVICES} src/features/greetings/service.ts:1`].sort(),
      );
      const mountedAside = {
        ...STUB_FEATURE,
        "src/http/app.ts": 'import { greetings } from "../features/greetings/feature";\n',
      };
      expect(check(mountedAside)).toEqual([`${WIRING} src/http/app.ts:1`]);
    },
  );

  it("passes a layering that keeps every rule", () => {
    const files = {
      "src/features/accounts/store.ts": "export type UserStore = {};",
      "src/features/lifecycle/profiles.ts":
        'import type { UserStore } from "../accounts/store";\nimport { NotFound } from "../../core/errors";\n',
      "src/features/accounts/passwords/common.ts": 'import list from "./common-passwords.json";\n',
      "src/features/tokens/index.ts":
        'export { AccessTokens } from "./access-tokens";\nexport { loadKeySet } from "./keys.js";\n',
      "src/features/tokens/access-tokens.ts": 'import { jwtVerify } from "jose";\nexport class AccessTokens {}',
      "src/features/tokens/keys.ts": "export function loadKeySet() {}",
      "src/core/errors.ts": "export class NotFound extends Error {}",
      "src/db/schema.ts": 'import { pgTable } from "drizzle-orm/pg-core";\nexport const users = pgTable;\n',
      "src/adapters/postgres/database.ts":
        'import { Pool } from "@neondatabase/serverless";\nimport * as schema from "../../db/schema";\nexport ' +
        "function lazyDatabase() {}",
      "src/adapters/revocation-feed/reader.ts":
        'import type { RevocationList } from "../../features/sessions/store";\nexport class ' +
        "FeedRevocationList { feed?: DurableObjectNamespace }",
      "src/features/sessions/store.ts": "export type RevocationList = {};",
      "src/features/accounts/postgres.ts":
        'import { sql } from "drizzle-orm";\nimport { type UserStore } from "./store";\nimport { users } from ' +
        '"../../db/schema";\nimport { NotFound } from "../../core/errors";\n',
      "src/stores.ts": `import { storesFor as bind } from "./stores";\n${STORES_TS}`,
      "src/composition.ts":
        'import { lazyDatabase, storesFor } from "./stores";\nimport { AccessTokens, loadKeySet } from ' +
        '"./features/tokens";\nexport const t = new AccessTokens();\n',
      "src/features/lifecycle/routes.ts":
        'import { Hono } from "hono";\nimport type { UserStore } from "../accounts/store";\nimport type { ' +
        'Stores } from "../../stores";\n',
      "src/http/authorize/index.ts":
        'import { createMiddleware } from "hono/factory";\nimport { NotFound } from "../../core/errors";\n',
    };
    expect(check(files, ["src/features/accounts/passwords/common-passwords.json"])).toEqual([]);
  });
});
