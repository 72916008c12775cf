// GET /health, liveness: the Worker answers, with no I/O. A plain Hono app,
// so an isolate's first request here (a platform's health check, often the
// first it gets) evaluates no schema; the operation's document is in
// routes.ts, where the OpenAPI document is built from.
import { Hono } from "hono";
import type { AppEnv } from "../../http/context";

export const livenessRoutes = new Hono<AppEnv>();

livenessRoutes.get("/health", (c) => c.json({ status: "ok" as const }, 200));
