// Tests that run in Node, not in workerd: `vitest run --config
// vitest.node.config.ts`. The Node scripts' tests (the operator CLI) start
// their own throwaway embedded Postgres; test/architecture checks the layer
// rule on src/'s import graph; test/openapi lints /openapi.json and generates
// types from it; test/package installs the packed tarball and imports
// secureauth/client from it.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "scripts/**/*.test.ts",
      "test/architecture/**/*.test.ts",
      "test/openapi/**/*.test.ts",
      "test/package/**/*.test.ts",
      "test/examples/**/*.test.ts",
    ],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share nothing (each starts its own servers in its own directory),
    // and most of their time is spent waiting on child processes.
    maxWorkers: 3,
  },
});
