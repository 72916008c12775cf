// Composition root: the Worker's default fetch handler (the HTTP API) and the
// AuthService RPC entrypoint other Workers reach through a service binding.
import { createApp } from "./app";

export { AuthService } from "./rpc";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<import("./config").Env>;
