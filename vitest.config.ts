// The suite runs inside workerd (@cloudflare/vitest-plugin) against the real
// Postgres that test/setup/global-setup.ts starts, through the same Neon
// driver code path the Worker uses in production, and sends its mail to the
// real SMTP server the global setup starts too. Test files run in parallel,
// each in its own runtime with its own copy of the migrated database and its
// own mailbox (test/setup/file-bindings.ts).
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { fileBindings } from "./test/setup/file-bindings.ts";
import { TEST_SECRETS } from "./test/setup/secrets.ts";

export default defineConfig({
  plugins: [
    // Called once per test file, as the pool starts that file's Miniflare.
    cloudflareTest(async ({ inject }) => {
      // DATABASE_URL, SMTP_URL, and MAIL_INBOX_URL (test-only: the mailbox's HTTP API, test/support/mail.ts).
      const file = await fileBindings(inject("postgresUrl"), inject("mailServerUrl"));
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...file,
            PG_WS_PROXY: inject("wsProxyUrl"),
            CLOSED_DATABASE_URL: inject("closedDatabaseUrl"),
            // Test-only: the local identity providers and the Apple stand-in's key (test/support/federation.ts).
            IDENTITY_PROVIDERS_URL: inject("identityProvidersUrl"),
            APPLE_TEST_PRIVATE_KEY: inject("appleTestPrivateKey"),
            ...TEST_SECRETS,
          },
          // wrangler.toml's consumers, delivered at once instead of after the one-second batch window a deployment
          // waits to fill a batch: the same consumer and dead-letter path, with no second of waiting per mail.
          queueConsumers: {
            "secureauth-mail": {
              maxBatchSize: 10,
              maxBatchTimeout: 0,
              maxRetries: 5,
              deadLetterQueue: "secureauth-mail-dlq",
            },
            "secureauth-mail-dlq": { maxBatchSize: 10, maxBatchTimeout: 0 },
          },
        },
      };
    }),
  ],
  test: {
    globalSetup: ["./test/setup/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    // Node-only: run by vitest.node.config.ts, and the end-to-end tests by vitest.e2e.config.ts (npm run test:e2e).
    exclude: [
      ...configDefaults.exclude,
      "test/architecture/**",
      "test/e2e/**",
      "test/openapi/**",
      "test/package/**",
      "test/examples/**",
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share nothing mutable (see above), so they run side by side; most
    // of a file's time is waiting on Postgres, SMTP or its runtime starting.
    maxWorkers: 3,
  },
});
