// The routes, mounted without evaluating them: a Worker's cold start pays for
// what its first request needs, not for every route's schemas (zod objects,
// OpenAPI metadata, validators). The app registers, from the generated route
// table (src/http/generated/route-table.ts, `npm run generate`), each route's
// method and path with a stand-in handler, in the order the routes would
// have been mounted; a route module is imported the first time one of its
// routes is asked for, and its own handlers (route middleware, validators,
// handler) then run on the same Context, as they would have mounted
// directly. Middleware a route module declares for a path (`noStore`) is in
// the table too and is registered as it was, so it applies to the same
// routes in the same order. GET /openapi.json and the scripts load every
// module (`loadRouteModules`).
// Types only: the app does not evaluate @hono/zod-openapi until a route module needs it.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Hono, MiddlewareHandler, Next } from "hono";
import { ValidationFailed } from "../core/errors";
import type { AppEnv } from "./context";
import { onError } from "./errors";
import { isNoStore, noStore } from "./security-headers";
import { FEATURES } from "../features";

/** Where routes come from: one route module's app, imported on first use. */
export type RouteSource = () => Promise<Hono<AppEnv>>;

/**
 * One row per route and per path middleware, in mount order: [method, path, source] for a route (source: its index in
 * ROUTE_SOURCES), ["USE", path] for a route module's noStore middleware.
 */
export type RouteTableRow = readonly [method: string, path: string, source: number] | readonly ["USE", string];

/** Every route module, in mount order: the features', then the pages'. */
export const ROUTE_SOURCES: readonly RouteSource[] = [
  ...FEATURES.flatMap((feature): readonly RouteSource[] => ("routes" in feature ? feature.routes : [])),
  () => import("../pages/hosted-pages").then((m) => m.hostedPageRoutes),
  () => import("../pages/docs").then((m) => m.docsRoutes),
];

type Handler = (c: Context, next: Next) => unknown;
type Chains = Map<string, Handler[]>;

const loaded: (Promise<Hono<AppEnv>> | undefined)[] = [];
const chains: (Chains | undefined)[] = [];

/** What a route's request fails validation with: a 400 validation_failed problem, naming the fields. */
const validationFailed: NonNullable<OpenAPIHono<AppEnv>["defaultHook"]> = (result) => {
  if (!result.success) throw ValidationFailed.fromIssues(result.error.issues, result.target);
};

function sourceApp(source: number): Promise<Hono<AppEnv>> {
  const load = ROUTE_SOURCES[source];
  if (!load) return Promise.reject(new Error(`no route source ${source}`));
  return (loaded[source] ??= load().then((app) => {
    // Its validators ask for it when a request fails them (a mounted app would find it on the parent app).
    if ("defaultHook" in app) (app as OpenAPIHono<AppEnv>).defaultHook ??= validationFailed;
    return app;
  }));
}

/** Each route's own handlers, by "METHOD path", in the order its app registered them. */
function chainsOf(app: Hono<AppEnv>): Chains {
  const byRoute: Chains = new Map();
  for (const route of app.routes) {
    if (route.method === "ALL") continue; // path middleware: registered from the table
    const key = `${route.method} ${route.path}`;
    const chain = byRoute.get(key) ?? [];
    chain.push(route.handler as Handler);
    byRoute.set(key, chain);
  }
  return byRoute;
}

async function loadChain(source: number, key: string): Promise<Handler[]> {
  const app = await sourceApp(source);
  const byRoute = (chains[source] ??= chainsOf(app));
  const chain = byRoute.get(key);
  // The generated table no longer matches the route modules: `npm run generate`.
  if (!chain) throw new Error(`the route table names ${key}, which route source ${source} does not have`);
  return chain;
}

/**
 * Hono's compose for one route's handlers on the Context the app already dispatched: the same answers and errors
 * (caught at the handler that threw and answered by the app's error handler, so the middleware before it still
 * sees the answer), without touching c.req.routeIndex, which names the matched route whose path parameters these
 * handlers read.
 */
function runChain(chain: Handler[], c: Context, next: Next): Promise<unknown> | unknown {
  // One handler (most routes without route middleware or validators): called as the app would call it.
  if (chain.length === 1) return chain[0]!(c, next);
  const dispatch = async (i: number): Promise<void> => {
    const handler = i < chain.length ? chain[i] : next;
    if (!handler) return;
    let res: unknown;
    let isError = false;
    try {
      res = await handler(c, () => dispatch(i + 1));
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      c.error = error;
      res = await onError(error, c as Context<AppEnv>);
      isError = true;
    }
    if (res instanceof Response && (!c.finalized || isError)) c.res = res;
  };
  return dispatch(0).then(() => undefined);
}

/**
 * Routes that never reach the database (no I/O but the keys they already hold): their first request does not load
 * the database driver. Any other route's does, before it runs, since the stores open a pool synchronously.
 */
const ROUTES_WITHOUT_DATABASE: ReadonlySet<string> = new Set(["GET /health", "GET /.well-known/jwks.json"]);

/** The handler that stands in for one route until its module is loaded, and runs it after. */
function standIn(source: number, key: string, prepareDatabase: () => Promise<void>): MiddlewareHandler<AppEnv> {
  let chain: Handler[] | undefined;
  return (c, next) => {
    if (chain) return runChain(chain, c, next) as ReturnType<MiddlewareHandler>;
    const database = ROUTES_WITHOUT_DATABASE.has(key) ? undefined : prepareDatabase();
    return Promise.all([loadChain(source, key), database]).then(([loadedChain]) => {
      chain = loadedChain;
      return runChain(loadedChain, c, next);
    }) as ReturnType<MiddlewareHandler>;
  };
}

/**
 * Registers every row of the table on `app`, in order. `prepareDatabase` loads the database driver: awaited before
 * the first request of a route that may reach the stores.
 */
export function mountLazily(
  app: Hono<AppEnv>,
  table: readonly RouteTableRow[],
  prepareDatabase: () => Promise<void>,
): void {
  for (const row of table) {
    if (row.length === 2) {
      app.use(row[1], noStore());
      continue;
    }
    const [method, path, source] = row;
    app.on(method, path, standIn(source, `${method} ${path}`, prepareDatabase));
  }
}

/** Every route module, loaded, in mount order: for the OpenAPI document and the table's generator. */
export async function loadRouteModules(): Promise<Hono<AppEnv>[]> {
  return Promise.all(ROUTE_SOURCES.map((_, source) => sourceApp(source)));
}

let documentRoutes: Promise<OpenAPIHono<AppEnv>> | undefined;

/** Every route module mounted on one app, whose registry the OpenAPI document is built from: once per isolate. */
export function documentApp(): Promise<OpenAPIHono<AppEnv>> {
  return (documentRoutes ??= Promise.all([import("@hono/zod-openapi"), loadRouteModules()]).then(
    ([{ OpenAPIHono: App }, sources]) => {
      const app = new App<AppEnv>({ defaultHook: validationFailed });
      for (const routes of sources) app.route("/", routes);
      return app;
    },
  ));
}

/**
 * The table the route modules give: what `npm run generate` writes to src/http/generated/route-table.ts, and what a
 * test compares that file with. Throws for path middleware other than noStore, which the table cannot carry.
 */
export async function buildRouteTable(): Promise<RouteTableRow[]> {
  const rows: RouteTableRow[] = [];
  const sources = await loadRouteModules();
  for (const [source, app] of sources.entries()) {
    const seen = new Set<string>();
    for (const route of app.routes) {
      if (route.method === "ALL") {
        if (!isNoStore(route.handler))
          throw new Error(`route source ${source}: path middleware on ${route.path} other than noStore`);
        rows.push(["USE", route.path]);
        continue;
      }
      const key = `${route.method} ${route.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push([route.method, route.path, source]);
    }
  }
  return rows;
}
