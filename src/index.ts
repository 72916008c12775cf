// Composition root: the Worker's default fetch handler (the HTTP API), the
// scheduled handler the daily Cron Trigger runs (data retention), and the
// AuthService RPC entrypoint other Workers reach through a service binding.
import { createApp } from "./app";
import { type Env, loadConfig } from "./config";
import { requestDatabase } from "./repositories/database";
import { scheduledServicesFor } from "./services/container";

export { AuthService } from "./rpc";

const app = createApp();

export default {
  fetch: app.fetch,

  async scheduled(controller, env, ctx) {
    // One pool for the run, like one per request, closed when it is done.
    const database = requestDatabase(loadConfig(env));
    try {
      const report = await scheduledServicesFor(database).maintenance().run(new Date(controller.scheduledTime));
      console.log(JSON.stringify({ level: "info", msg: "maintenance", cron: controller.cron, ...report }));
    } catch (error) {
      // Name and SQLSTATE only, as in the HTTP error log: never a message that could carry data.
      const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
      console.error(JSON.stringify({ level: "error", msg: "maintenance failed", cron: controller.cron, error: { name, code } }));
      // Rethrown so the run is recorded as failed; the next run picks up where this one stopped.
      throw error;
    } finally {
      ctx.waitUntil(database.close());
    }
  },
} satisfies ExportedHandler<Env>;
