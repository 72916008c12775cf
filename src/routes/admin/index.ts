// The administration routes (the API contract, "Administration (permission-gated)"),
// mounted by the app at "/".
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../context";
import { adminAuditRoutes } from "./audit-logs";
import { adminUserRoutes } from "./users";

export const adminRoutes = new OpenAPIHono<AppEnv>();

adminRoutes.route("/", adminUserRoutes);
adminRoutes.route("/", adminAuditRoutes);
