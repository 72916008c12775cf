// The suite runs inside workerd (@cloudflare/vitest-plugin) against the real
// Postgres that test/setup/global-setup.ts starts, through the same Neon
// driver code path the Worker uses in production, and sends its mail to the
// real SMTP server the global setup starts too.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { TEST_SECRETS } from "./test/setup/secrets.ts";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          DATABASE_URL: inject("databaseUrl"),
          PG_WS_PROXY: inject("wsProxyUrl"),
          CLOSED_DATABASE_URL: inject("closedDatabaseUrl"),
          SMTP_URL: inject("smtpUrl"),
          // Test-only: the HTTP API of the mail server above (test/support/mail.ts).
          MAIL_INBOX_URL: inject("mailInboxUrl"),
          ...TEST_SECRETS,
        },
      },
    })),
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
    // Test files share one database: run them one at a time so none sees
    // another's rows mid-test (admin listings, audit pages).
    fileParallelism: false,
  },
});
