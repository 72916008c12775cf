// Builds the Hono app: the cross-cutting steps every request takes, then the routes.
// Each request gets its runtime from the composition root; what tests
// replace (the clock) comes in through `createApp`.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { composeNow, type Overrides, type Runtime } from "../composition";
import type { AppEnv } from "./context";
import { ConfigError, ValidationFailed } from "../core/errors";
import { corsAllowlist } from "./cors";
import { notFound, onError } from "./errors";
import { jsonBody } from "./json-body";
import { routeGate, type RouteEntry } from "./route-gate";
import { carriesAccessToken } from "./authenticate";
import { completeSecurityHeaders, forbidCaching, prepareSecurityHeaders } from "./security-headers";
import { docsRoutes } from "../pages/docs";
import { FEATURES } from "../features";
import { healthWithoutConfig } from "../features/health/routes";
import { hostedPageRoutes } from "../pages/hosted-pages";
import { openApiDocument } from "./openapi";

export function createApp(overrides: Overrides = {}) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw ValidationFailed.fromIssues(result.error.issues, result.target);
      }
    },
  });

  app.onError(onError);
  app.notFound(notFound);
  app.use(edge(overrides, () => app.routes));

  for (const feature of FEATURES) {
    if ("routes" in feature) for (const routes of feature.routes) app.route("/", routes);
  }
  app.route("/", hostedPageRoutes);
  app.route("/", docsRoutes);

  // The document, completed centrally (cookieAuth beside bearerAuth, the problems any operation can answer):
  // src/http/openapi.ts.
  app.get("/openapi.json", (c) => c.json(openApiDocument(app, new URL(c.req.url).origin)));

  return app;
}

/**
 * What every request goes through, in this order: the security headers
 * (prepared before, completed after, with no-store for a request that
 * presents an access token), the runtime from the composition root,
 * CORS, the route gate (404, 405, OPTIONS) and the body judge. One Hono
 * middleware, not five: each layer of Hono's composer costs every request an
 * async frame and turns of the microtask queue, which a route that needs
 * nothing (GET /health) paid for as much as its own work (`npm run
 * bench:profile`). An error of any step is answered here as a route's would
 * be, so the steps outside it (CORS, the headers) still apply to it.
 */
function edge(overrides: Overrides, routes: () => readonly RouteEntry[]): MiddlewareHandler<AppEnv> {
  const cors = corsAllowlist((c) => (c as Context<AppEnv>).get("config").allowedOrigins);
  const gate = routeGate(routes);
  const body = jsonBody();
  return async (c, next) => {
    prepareSecurityHeaders(c);
    let runtime: Runtime | undefined;
    const inner = async () => {
      try {
        // OPTIONS is answered by the gate with a returned Response, as a route would.
        const answered = await gate(c, () => body(c, next) as Promise<void>); // the body judge answers nothing itself
        if (answered instanceof Response) c.res = answered;
      } catch (error) {
        c.res = await onError(error as Error, c);
      }
    };
    try {
      // A key that parses but cannot be imported fails every request the
      // same way, instead of the first login after writing its session.
      const composed = composeNow(c.env, overrides);
      runtime = composed instanceof Promise ? await composed : composed;
      c.set("config", runtime.config);
      c.set("clock", runtime.clock);
      c.set("tokens", runtime.tokens);
      c.set("services", runtime.services);
      // A preflight of a public path is answered by CORS with a returned Response.
      const preflight = await cors(c, inner);
      if (preflight instanceof Response) c.res = preflight;
    } catch (error) {
      const health = error instanceof ConfigError ? healthWithoutConfig(c) : undefined;
      // Logged (by name, never a value) whatever answers: a misconfigured deploy must be loud.
      const answer = await onError(error as Error, c);
      c.res = health ?? answer;
    } finally {
      // A route that opened no database has nothing to close: no promise, no waitUntil.
      if (runtime?.opened()) {
        const closing = runtime.close();
        try {
          c.executionCtx.waitUntil(closing);
        } catch {
          await closing; // no execution context (a test calling app.fetch directly)
        }
      }
    }
    completeSecurityHeaders(c.res.headers);
    // Every answer to a request presenting an access token holds someone's data, or refuses their session:
    // no cache keeps it, whatever the route, its status or the step that answered.
    if (carriesAccessToken(c.req.raw.headers)) forbidCaching(c.res.headers);
  };
}
