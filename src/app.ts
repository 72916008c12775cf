// Builds the Hono app: cross-cutting middleware in order, then the routes.
// Each request gets its runtime from the composition root; what tests
// replace (the clock) comes in through `createApp`.
import { OpenAPIHono } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { composeNow, type Overrides } from "./composition";
import type { AppEnv } from "./context";
import { ValidationFailed } from "./errors";
import { corsAllowlist } from "./middleware/cors";
import { notFound, onError } from "./middleware/errors";
import { jsonBody } from "./middleware/json-body";
import { routeGate } from "./middleware/route-gate";
import { securityHeaders } from "./middleware/security-headers";
import { accountEmailRoutes } from "./routes/account-email";
import { accountPageRoutes } from "./routes/account-page";
import { adminRoutes } from "./routes/admin";
import { authRoutes } from "./routes/auth";
import { docsRoutes } from "./routes/docs";
import { healthRoutes } from "./routes/health";
import { linkPageRoutes } from "./routes/link-pages";
import { meRoutes } from "./routes/me";
import { mfaRoutes } from "./routes/mfa";
import { passkeyRoutes } from "./routes/passkeys";
import { openApiDocument } from "./routes/openapi";
import { sessionsRoutes } from "./routes/sessions";
import { tokenRoutes } from "./routes/tokens";

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
  app.use(securityHeaders());
  app.use(
    createMiddleware<AppEnv>(async (c, next) => {
      // A key that parses but cannot be imported fails every request the
      // same way, instead of the first login after writing its session.
      const composed = composeNow(c.env, overrides);
      const runtime = composed instanceof Promise ? await composed : composed;
      c.set("config", runtime.config);
      c.set("clock", runtime.clock);
      c.set("tokens", runtime.tokens);
      c.set("services", runtime.services);
      try {
        await next();
      } finally {
        // A route that opened no database has nothing to close: no promise, no waitUntil.
        if (runtime.opened()) {
          const closing = runtime.close();
          try {
            c.executionCtx.waitUntil(closing);
          } catch {
            await closing; // no execution context (a test calling app.fetch directly)
          }
        }
      }
    }),
  );
  app.use(corsAllowlist((c) => (c as unknown as { get(key: "config"): AppEnv["Variables"]["config"] }).get("config").allowedOrigins));
  app.use(routeGate(() => app.routes));
  app.use(jsonBody());

  app.route("/", healthRoutes);
  app.route("/", tokenRoutes);
  app.route("/", authRoutes);
  app.route("/", accountEmailRoutes);
  app.route("/", meRoutes);
  app.route("/", mfaRoutes);
  app.route("/", passkeyRoutes);
  app.route("/", sessionsRoutes);
  app.route("/", adminRoutes);
  app.route("/", linkPageRoutes);
  app.route("/", docsRoutes);
  app.route("/", accountPageRoutes);

  // The document, completed centrally (cookieAuth beside bearerAuth, the problems any operation can answer): src/routes/openapi.ts.
  app.get("/openapi.json", (c) => c.json(openApiDocument(app, new URL(c.req.url).origin)));

  return app;
}
