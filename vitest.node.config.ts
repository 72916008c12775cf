// Tests of the Node scripts (the operator CLI), which run in Node, not in
// workerd: `vitest run --config vitest.node.config.ts`. They start their own
// throwaway embedded Postgres.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["scripts/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
