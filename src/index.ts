// The Worker: the default fetch handler (the HTTP API), the queue handler
// that sends account mail, the scheduled handler the daily Cron Trigger runs
// (data retention), and the AuthService RPC
// entrypoint other Workers reach through a service binding. Each builds its
// infrastructure through the composition root (composition.ts).
import { createApp } from "./http/app";
import { fastPath } from "./http/fast-paths";
import { composeMailConsumer, composeScheduled } from "./composition";
import type { Env } from "./config";
import { describeError } from "./core/errors";
import { handleMailBatch } from "./features/mail/consumer";
import type { MailJob } from "./features/mail/store";

export { AuthService } from "./rpc";
export { RevocationFeed } from "./adapters/revocation-feed/durable-object";

const app = createApp();

export default {
  // GET /auth/verify's and GET /health's common case is answered before the app (src/http/fast-paths.ts).
  fetch(request, env, ctx) {
    return fastPath(request, env, () => app.fetch(request, env, ctx)) ?? app.fetch(request, env, ctx);
  },

  async queue(batch, env, ctx) {
    const run = await composeMailConsumer(env, batch.queue);
    try {
      await handleMailBatch(batch, run.consumer);
    } finally {
      ctx.waitUntil(run.close());
    }
  },

  async scheduled(controller, env, ctx) {
    const run = await composeScheduled(env);
    try {
      const report = await run.maintenance.run(new Date(controller.scheduledTime));
      console.log(JSON.stringify({ level: "info", msg: "maintenance", cron: controller.cron, ...report }));
    } catch (error) {
      // Name and SQLSTATE only, as in the HTTP error log: never a message that could carry data.
      console.error(
        JSON.stringify({
          level: "error",
          msg: "maintenance failed",
          cron: controller.cron,
          error: describeError(error),
        }),
      );
      // Rethrown so the run is recorded as failed; the next run picks up where this one stopped.
      throw error;
    } finally {
      ctx.waitUntil(run.close());
    }
  },
} satisfies ExportedHandler<Env, MailJob>;
