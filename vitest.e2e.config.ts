// `npm run test:e2e`: the end-to-end tests, in Node, against the real stack
// from outside: the Worker in `wrangler dev` over a real PostgreSQL, a real
// Chromium (playwright-core) and a real nginx doing auth_request against
// /auth/verify. test/e2e/setup/stack.ts starts it all once. Needs Chromium
// (CHROMIUM_PATH, default /usr/bin/chromium) and nginx (NGINX_PATH, else
// PATH, else /usr/sbin/nginx); `npm test` needs neither.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/e2e/setup/stack.ts"],
    testTimeout: 60_000,
    // The global setup builds the Worker and starts wrangler dev.
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // One stack, one browser at a time on a small machine.
    fileParallelism: false,
  },
});
