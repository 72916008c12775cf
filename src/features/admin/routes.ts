// The administration routes (docs/api.md, "Administration rules"),
// mounted by the app at "/".
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context";
import { adminAuditRoutes } from "./audit-logs-routes";
import { adminUserRoutes } from "./users-routes";

export const adminRoutes = new OpenAPIHono<AppEnv>();

adminRoutes.route("/", adminUserRoutes);
adminRoutes.route("/", adminAuditRoutes);
