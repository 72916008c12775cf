// The ceiling: a plain Hono Worker with nothing but GET /health.
import { Hono } from "hono";

const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));

export default app;
