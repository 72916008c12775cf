// The layer rules by file role (features' routes -> their services -> their
// ports <- their postgres files and the adapters; core under everything; only
// postgres files touch Drizzle or the driver) as a check over the import graph
// of src/. Imports are read with the TypeScript
// compiler's parser, not regexes: import and export-from declarations (type
// only or not), dynamic import(), `typeof import()` types and require();
// relative specifiers are resolved to files the way the bundler does
// (extensionless, index.ts, .json), and one that resolves to nothing is a
// violation itself, so no edge can slip past the rules unseen.
//
// Pure over {file, text} pairs so the tests can run it on in-memory fixtures;
// readSourceTree reads the real src/.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

export type SourceText = { file: string; text: string };

export type Import = {
  file: string;
  line: number;
  specifier: string;
  kind: "import" | "export-from" | "dynamic-import" | "import-type" | "require";
  /** Erased at run time: `import type`, `export type`, every name marked `type`, or `typeof import()`. */
  typeOnly: boolean;
  /** The exported names it binds or re-exports: "default", "*" for a namespace or star, [] for a bare import. */
  names: string[];
  /** The file a relative specifier resolves to, repository-relative; undefined for a package or an unresolved path. */
  target?: string;
};

export type Module = {
  file: string;
  imports: Import[];
  /** `new X(...)`, with X as exported by the module it was imported from (aliases undone). */
  constructions: { name: string; line: number }[];
  /** `ns.x` where ns is a namespace import: the member names used. */
  namespaceMembers: { name: string; line: number }[];
  /** Type references by a plain name (`KVNamespace`, `Queue<T>`), to find the Workers global types. */
  typeReferences: { name: string; line: number }[];
};

export type Violation = { rule: string; file: string; line: number; message: string };

export type Rule = { id: string; title: string; check: (module: Module) => Violation[] };

const SCRIPT = /\.(ts|tsx|mts|cts)$/;

/** Every file under `dir` (repository-relative paths), with the text of the TypeScript ones. */
export function readSourceTree(root: string, dir = "src"): { sources: SourceText[]; files: string[] } {
  const files = readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => toPosix(path.relative(root, path.join(entry.parentPath, entry.name))))
    .sort();
  const sources = files
    .filter((file) => SCRIPT.test(file) && !file.endsWith(".d.ts"))
    .map((file) => ({ file, text: readFileSync(path.join(root, file), "utf8") }));
  return { sources, files };
}

/** The modules of `sources`, relative imports resolved against `files` (default: the sources themselves). */
export function parseModules(
  sources: readonly SourceText[],
  files: readonly string[] = sources.map((s) => s.file),
): Module[] {
  const known = new Set(files);
  return sources.map((source) => parseModule(source, known));
}

export function parseModule({ file, text }: SourceText, files: ReadonlySet<string>): Module {
  const sf = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    true,
    file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const lineOf = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const module: Module = { file, imports: [], constructions: [], namespaceMembers: [], typeReferences: [] };
  const add = (node: ts.Node, specifier: string, kind: Import["kind"], typeOnly: boolean, names: string[]) => {
    module.imports.push({
      file,
      line: lineOf(node),
      specifier,
      kind,
      typeOnly,
      names,
      target: resolveSpecifier(file, specifier, files),
    });
  };
  /** local name -> the name its module exports it under */
  const aliases = new Map<string, string>();
  const namespaces = new Set<string>();
  const memberAccesses: { of: string; name: string; line: number }[] = [];

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const names: string[] = [];
      let allTypes = clause?.isTypeOnly ?? false;
      if (clause && !clause.isTypeOnly) {
        let anyValue = false;
        if (clause.name) {
          names.push("default");
          aliases.set(clause.name.text, "default");
          anyValue = true;
        }
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) {
          names.push("*");
          namespaces.add(bindings.name.text);
          anyValue = true;
        } else if (bindings) {
          for (const element of bindings.elements) {
            const imported = (element.propertyName ?? element.name).text;
            names.push(imported);
            aliases.set(element.name.text, imported);
            if (!element.isTypeOnly) anyValue = true;
          }
        }
        // `import { type A } from "m"` is erased only if every name is a type.
        allTypes = !anyValue && names.length > 0;
      } else if (clause) {
        if (clause.name) names.push("default");
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) names.push("*");
        else if (bindings) names.push(...bindings.elements.map((e) => (e.propertyName ?? e.name).text));
      }
      add(node, node.moduleSpecifier.text, "import", allTypes, names);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const names =
        !clause || ts.isNamespaceExport(clause) ? ["*"] : clause.elements.map((e) => (e.propertyName ?? e.name).text);
      const typeOnly =
        node.isTypeOnly ||
        (clause !== undefined &&
          ts.isNamedExports(clause) &&
          clause.elements.length > 0 &&
          clause.elements.every((e) => e.isTypeOnly));
      add(node, node.moduleSpecifier.text, "export-from", typeOnly, names);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      add(node, node.moduleReference.expression.text, "require", node.isTypeOnly, ["*"]);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node, node.argument.literal.text, "import-type", true, [node.qualifier ? firstName(node.qualifier) : "*"]);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0]!)) {
      const specifier = (node.arguments[0] as ts.StringLiteralLike).text;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, specifier, "dynamic-import", false, ["*"]);
      else if (ts.isIdentifier(node.expression) && node.expression.text === "require")
        add(node, specifier, "require", false, ["*"]);
    } else if (ts.isNewExpression(node)) {
      const callee = node.expression;
      if (ts.isIdentifier(callee)) module.constructions.push({ name: callee.text, line: lineOf(node) });
      else if (ts.isPropertyAccessExpression(callee))
        module.constructions.push({ name: callee.name.text, line: lineOf(node) });
    } else if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
      module.typeReferences.push({ name: node.typeName.text, line: lineOf(node) });
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      memberAccesses.push({ of: node.expression.text, name: node.name.text, line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);

  // Bindings are known only once the whole file is read.
  module.constructions = module.constructions.map((c) => ({ ...c, name: aliases.get(c.name) ?? c.name }));
  module.namespaceMembers = memberAccesses
    .filter((access) => namespaces.has(access.of))
    .map(({ name, line }) => ({ name, line }));
  return module;
}

function firstName(name: ts.EntityName): string {
  return ts.isIdentifier(name) ? name.text : firstName(name.left);
}

/**
 * A relative specifier as the bundler resolves it (exact, .ts/.tsx, .js written for .ts, index files); undefined
 * otherwise.
 */
export function resolveSpecifier(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../") && specifier !== "." && specifier !== "..")
    return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const candidates = [base, `${base}.ts`, `${base}.tsx`, `${base}.d.ts`, `${base}/index.ts`, `${base}/index.tsx`];
  if (/\.(js|jsx|mjs)$/.test(base))
    candidates.push(
      base.replace(/\.(js|jsx|mjs)$/, (ext) => (ext === ".mjs" ? ".mts" : ext === ".jsx" ? ".tsx" : ".ts")),
    );
  return candidates.find((candidate) => files.has(candidate));
}

export function isRelative(specifier: string): boolean {
  return specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../");
}

/** "drizzle-orm" matches it and its subpaths; "@hono/*" a whole scope; "cloudflare:*" a URL scheme. */
export function matchesPackage(specifier: string, pattern: string): boolean {
  if (pattern.endsWith("/*") || pattern.endsWith(":*")) return specifier.startsWith(pattern.slice(0, -1));
  return specifier === pattern || specifier.startsWith(`${pattern}/`);
}

/** Whether `file` is `area` itself (a file) or under it (a folder ending in "/"). */
export function isIn(file: string | undefined, area: string): boolean {
  if (file === undefined) return false;
  return area.endsWith("/") ? file.startsWith(area) : file === area;
}

const anyPackage = (specifier: string, patterns: readonly string[]) =>
  patterns.some((pattern) => matchesPackage(specifier, pattern));

function describeImport(i: Import): string {
  const how = i.typeOnly ? "type-only " : "";
  const what =
    i.kind === "export-from"
      ? "re-exports from"
      : i.kind === "dynamic-import"
        ? "dynamically imports"
        : `${how}imports`;
  return `${what} "${i.specifier}"${i.target && i.target !== i.specifier ? ` (${i.target})` : ""}`;
}

function violation(rule: string, i: Import, why: string): Violation {
  return { rule, file: i.file, line: i.line, message: `${describeImport(i)}: ${why}` };
}

/**
 * What a file of src/ is, by where it sits and what it is called:
 * - core: src/core/ (domain types, errors, ids, clock, encoding);
 * - http: src/http/ (the app, its middleware and helpers);
 * - entry: a feature's edge, `features/<name>/routes.ts`, `*-routes.ts`, the queue's `consumer.ts`, and the
 *   request and response schemas of its routes, `schemas.ts`;
 * - postgres: a feature's store over Postgres, `features/<name>/postgres.ts` or `*.postgres.ts`;
 * - wiring: a feature's `feature.ts`, the factories of its stores and services and its routes, which the feature
 *   list (src/features.ts) hands to the composition root;
 * - service: every other file of a feature (service.ts, store.ts, the rules it needs);
 * - adapter: src/adapters/ (infrastructure that is not a feature store);
 * - db: src/db/ (the Drizzle schema); pages: src/pages/; client: src/client/;
 * - root: the files at src/'s top (the Worker, the composition root, the stores' assembly, config, RPC).
 */
export type Role =
  | "core"
  | "http"
  | "entry"
  | "postgres"
  | "wiring"
  | "service"
  | "adapter"
  | "db"
  | "pages"
  | "client"
  | "root";

export function roleOf(file: string): Role {
  const parts = file.split("/");
  const top = parts[1];
  if (top === "features") {
    const name = parts[parts.length - 1]!;
    if (isRoutesFile(file) || name === "consumer.ts" || name === "schemas.ts") return "entry";
    if (name === "postgres.ts" || name.endsWith(".postgres.ts")) return "postgres";
    if (name === "feature.ts" && parts.length === 4) return "wiring";
    return "service";
  }
  if (top === "core" || top === "http" || top === "db" || top === "pages" || top === "client") return top;
  if (top === "adapters") return "adapter";
  return "root";
}

/** A feature's routes: `routes.ts` or `*-routes.ts`. */
function isRoutesFile(file: string): boolean {
  const name = file.split("/").pop()!;
  return name === "routes.ts" || name.endsWith("-routes.ts");
}

/** The feature a file belongs to (`src/features/<name>/...`), if any. */
export function featureOf(file: string | undefined): string | undefined {
  const parts = file?.split("/") ?? [];
  return parts[1] === "features" && parts.length > 3 ? parts[2] : undefined;
}

const DRIVER_PACKAGES = ["drizzle-orm", "@neondatabase/serverless"];
const SERVICE_FORBIDDEN_PACKAGES = [...DRIVER_PACKAGES, "hono", "@hono/*", "cloudflare:*"];
/** The Workers runtime's global types (@cloudflare/workers-types): a service names none of them. */
export const WORKERS_GLOBAL_TYPES = [
  "KVNamespace",
  "DurableObjectNamespace",
  "DurableObjectState",
  "DurableObjectStub",
  "Queue",
  "MessageBatch",
  "Message",
  "R2Bucket",
  "D1Database",
  "Fetcher",
  "ExecutionContext",
  "ScheduledController",
  "RateLimit",
  "Hyperdrive",
  "AnalyticsEngineDataset",
  "WebSocketPair",
];
/** The Postgres infrastructure every feature store shares (connection, driver errors, rows, fragments). */
const POSTGRES_ADAPTERS = "src/adapters/postgres/";
/** Where the stores are assembled over Postgres (and the combined Stores type built). */
const STORES = "src/stores.ts";
const INFRASTRUCTURE_FUNCTIONS = [
  "storesFor",
  "unitOfWorkFor",
  "lazyDatabase",
  "loadKeySet",
  "mailTransportFor",
  "revocationFeedFor",
];
const INFRASTRUCTURE_CLASSES = [
  "FeedRevocationList",
  "AccessTokens",
  "RefreshTokenCodec",
  "DeviceTokenCodec",
  "SmtpTransport",
  "ResendTransport",
  "QueueOutbox",
];
/** The barrels that publish infrastructure classes and loadKeySet to the composition root. */
const REEXPORTING_BARRELS = ["src/features/sessions/index.ts", "src/features/tokens/index.ts"];

const role = (file: string | undefined) => (file === undefined ? undefined : roleOf(file));
const isDatabaseFile = (file: string | undefined) =>
  role(file) === "postgres" || role(file) === "db" || isIn(file, POSTGRES_ADAPTERS);

export const RULES: readonly Rule[] = [
  {
    id: "core-imports-nothing-outer",
    title:
      "src/core/ imports only src/core/ and src/config.ts, and none of drizzle-orm, @neondatabase/serverless, " +
      "hono, @hono/*, cloudflare:*",
    check: (m) =>
      role(m.file) !== "core"
        ? []
        : m.imports
            .filter(
              (i) =>
                anyPackage(i.specifier, SERVICE_FORBIDDEN_PACKAGES) ||
                (i.target !== undefined && role(i.target) !== "core" && i.target !== "src/config.ts"),
            )
            .map((i) =>
              violation(
                "core-imports-nothing-outer",
                i,
                "core is what every feature shares: it knows no feature, no HTTP, no adapter",
              ),
            ),
  },
  {
    id: "services-are-framework-free",
    title:
      "a feature's service files (all but its routes and postgres files) import neither drizzle-orm, " +
      "@neondatabase/serverless, hono, @hono/*, cloudflare:*, nor src/http/, src/adapters/, src/db/, " +
      "src/pages/, a postgres file or a root file (src/stores.ts type-only aside), and name no Workers " +
      "global type (type-only imports count)",
    check: (m) => {
      if (role(m.file) !== "service") return [];
      const rule = "services-are-framework-free";
      const imports = m.imports
        .filter((i) => {
          if (anyPackage(i.specifier, SERVICE_FORBIDDEN_PACKAGES)) return true;
          if (i.target === undefined) return false;
          if (i.target === STORES) return !i.typeOnly;
          if (i.target === "src/config.ts") return false;
          // The RPC contract's types are the service's published shapes.
          if (i.target === "src/rpc-types.ts") return !i.typeOnly;
          return ["http", "adapter", "db", "pages", "postgres", "wiring", "root", "client"].includes(roleOf(i.target));
        })
        .map((i) =>
          violation(
            rule,
            i,
            "services see only ports, never Drizzle, the driver, Hono, the Workers runtime or an outer layer",
          ),
        );
      const globals = m.typeReferences
        .filter((t) => WORKERS_GLOBAL_TYPES.includes(t.name))
        .map((t) => ({
          rule,
          file: m.file,
          line: t.line,
          message: `names the Workers type ${t.name}: a service sees the runtime only through a port`,
        }));
      return [...imports, ...globals];
    },
  },
  {
    id: "only-postgres-files-touch-the-database",
    title:
      "only a feature's postgres files, src/adapters/postgres/ and src/db/ import drizzle-orm or " +
      "@neondatabase/serverless or src/db/",
    check: (m) => {
      if (isDatabaseFile(m.file)) return [];
      return m.imports.flatMap((i) => {
        if (anyPackage(i.specifier, DRIVER_PACKAGES) || isIn(i.target, "src/db/"))
          return [
            violation(
              "only-postgres-files-touch-the-database",
              i,
              "only postgres files, src/adapters/postgres/ and src/db/ may use Drizzle, the driver or the schema",
            ),
          ];
        return [];
      });
    },
  },
  {
    id: "routes-never-import-postgres",
    title:
      "a feature's routes, src/http/ and src/pages/ never import a postgres file, src/adapters/postgres/, " +
      "src/db/ or src/stores.ts (beyond its types)",
    check: (m) =>
      !["entry", "http", "pages"].includes(roleOf(m.file))
        ? []
        : m.imports
            .filter((i) => isDatabaseFile(i.target) || (i.target === STORES && !i.typeOnly))
            .map((i) =>
              violation("routes-never-import-postgres", i, "routes reach the database only through services"),
            ),
  },
  {
    id: "features-talk-through-services",
    title:
      "a feature imports another feature's services and exported types only, never its postgres files or its routes",
    check: (m) => {
      const own = featureOf(m.file);
      if (own === undefined) return [];
      return m.imports
        .filter((i) => {
          const other = featureOf(i.target);
          return other !== undefined && other !== own && (roleOf(i.target!) === "postgres" || isRoutesFile(i.target!));
        })
        .map((i) =>
          violation(
            "features-talk-through-services",
            i,
            `another feature (${featureOf(i.target)}) is reached through its service or its exported types`,
          ),
        );
    },
  },
  {
    id: "stores-depend-only-on-ports",
    title:
      "postgres files and src/adapters/ import nothing from src/http/, a feature's routes or service, or a " +
      "root file; from features only type-only imports of a store.ts (their own feature's files aside)",
    check: (m) => {
      const r = roleOf(m.file);
      if (r !== "postgres" && r !== "adapter") return [];
      const own = featureOf(m.file);
      return m.imports.flatMap((i) => {
        if (i.target === undefined || i.target === "src/config.ts") return [];
        const target = roleOf(i.target);
        const sameFeature = own !== undefined && featureOf(i.target) === own;
        const portType = i.typeOnly && i.target.endsWith("/store.ts");
        if (
          ["http", "entry", "wiring", "root", "pages", "client"].includes(target) ||
          (target === "service" && !portType && !sameFeature)
        )
          return [
            violation(
              "stores-depend-only-on-ports",
              i,
              "a store or an adapter implements a port: it may import only the port's types, never an outer layer",
            ),
          ];
        return [];
      });
    },
  },
  {
    id: "only-the-composition-root-builds-infrastructure",
    title:
      `only src/composition.ts builds infrastructure: elsewhere (src/stores.ts, postgres files and ` +
      `src/adapters/ aside) nothing imports ${INFRASTRUCTURE_FUNCTIONS.join(", ")} or constructs ` +
      `${INFRASTRUCTURE_CLASSES.map((c) => `new ${c}`).join(", ")}`,
    check: (m) => {
      if (m.file === "src/composition.ts" || m.file === STORES || ["postgres", "adapter"].includes(roleOf(m.file)))
        return [];
      const rule = "only-the-composition-root-builds-infrastructure";
      const imported = m.imports.flatMap((i) => {
        if (i.kind === "export-from" && REEXPORTING_BARRELS.includes(m.file)) return [];
        const names = i.names.filter((name) => INFRASTRUCTURE_FUNCTIONS.includes(name));
        return names.length
          ? [violation(rule, i, `${names.join(", ")} ${names.length > 1 ? "are" : "is"} for src/composition.ts only`)]
          : [];
      });
      const viaNamespace = m.namespaceMembers
        .filter((use) => INFRASTRUCTURE_FUNCTIONS.includes(use.name))
        .map((use) => ({
          rule,
          file: m.file,
          line: use.line,
          message: `uses ${use.name} through a namespace import: it is for src/composition.ts only`,
        }));
      const constructed = m.constructions
        .filter((c) => INFRASTRUCTURE_CLASSES.includes(c.name))
        .map((c) => ({
          rule,
          file: m.file,
          line: c.line,
          message: `constructs new ${c.name}: only src/composition.ts builds infrastructure`,
        }));
      return [...imported, ...viaNamespace, ...constructed];
    },
  },
  {
    id: "only-the-root-wires-features",
    title:
      "a feature's feature.ts (its factories) is imported by root files only: the feature list, the composition root",
    check: (m) =>
      roleOf(m.file) === "root"
        ? []
        : m.imports
            .filter((i) => i.target !== undefined && roleOf(i.target) === "wiring")
            .map((i) =>
              violation(
                "only-the-root-wires-features",
                i,
                "features are wired in one place (src/features.ts); elsewhere a feature is reached through its service",
              ),
            ),
  },
  {
    id: "every-relative-import-resolves",
    title: "every relative import in src/ resolves to a file, so no edge escapes the rules above",
    check: (m) =>
      m.imports
        .filter((i) => isRelative(i.specifier) && i.target === undefined)
        .map((i) => violation("every-relative-import-resolves", i, "resolves to no file")),
  },
];

export function checkLayers(modules: readonly Module[], rules: readonly Rule[] = RULES): Violation[] {
  return modules.flatMap((m) => rules.flatMap((rule) => rule.check(m)));
}

/** One line per violation, for readable test failures. */
export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line} ${v.message}`;
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}
