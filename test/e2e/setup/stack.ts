// Global setup of `npm run test:e2e`: the real stack, started once, torn down
// at the end, everything on 127.0.0.1:
//   1. startDevStack (scripts/lib/dev-stack.ts), as `npm run dev` does: a
//      temporary embedded PostgreSQL, the migrations, the WebSocket proxy,
//      and `wrangler dev` with fresh secrets (a temporary .dev.vars), its
//      own KV state and dev registry in a temporary directory;
//   2. the page server the browser tests load, at http://localhost:<port>
//      (the Worker's ALLOWED_ORIGINS and WebAuthn origin; rp id localhost),
//      the Worker's own http://localhost:<port> being the other one (GET /account);
//   3. the echo upstream and nginx in front of it, asking /auth/verify;
//   4. the identity providers federated sign-in meets (test/setup/identity-providers.ts);
//   5. the example app (examples/hosted-sign-in) on http://127.0.0.1:<port>,
//      another site than the service's localhost, signing in through its
//      hosted page.
// Tests get the addresses through inject(): serviceUrl, pageUrl, nginxUrl,
// databaseUrl, exampleAppUrl.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startDevStack, toDotenv, type DevStack } from "../../../scripts/lib/dev-stack.ts";
import { freePorts } from "../../../scripts/lib/free-ports.ts";
import { generateSecret, generateSigningKey } from "../../../scripts/lib/signing-keys.ts";
import { startExampleApp, type ExampleApp } from "../../../examples/hosted-sign-in/server.ts";
import { startNginx, type Nginx } from "./nginx.ts";
import { startIdentityProviders, type IdentityProvidersServer } from "../../setup/identity-providers.ts";
import { simpleWebAuthnEsmDir, startEchoServer, startPageServer, type LocalServer } from "./servers.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const WORKER_READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
const verbose = process.env.E2E_VERBOSE === "1";
const log = (line: string) => {
  if (verbose) console.log(`e2e: ${line}`);
};

export default async function setup(project: TestProject) {
  const workDir = mkdtempSync(join(tmpdir(), "secureauth-e2e-"));
  let stack: DevStack | undefined;
  let pages: LocalServer | undefined;
  let echo: LocalServer | undefined;
  let nginx: Nginx | undefined;
  let providers: IdentityProvidersServer | undefined;
  let exampleApp: ExampleApp | undefined;
  /** wrangler's last lines, shown when it fails to start. */
  const wranglerLines: string[] = [];

  const teardown = async () => {
    const steps = [
      () => exampleApp?.close(),
      () => nginx?.stop(),
      () => echo?.close(),
      () => pages?.close(),
      () => stack?.stop(),
      () => providers?.close(),
    ];
    for (const step of steps)
      await withTimeout(
        Promise.resolve(step()).catch((error: unknown) => console.error("e2e teardown:", error)),
        STOP_TIMEOUT_MS,
      );
    rmSync(workDir, { recursive: true, force: true });
  };

  try {
    const [workerPort, pgPort, pagePort, echoPort, nginxPort, examplePort] = (await freePorts(6)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const pageUrl = `http://localhost:${pagePort}`;
    // The Worker's own pages (GET /account) run ceremonies from its origin by name: localhost, as WebAuthn needs a
    // domain.
    const serviceLocalhost = `http://localhost:${workerPort}`;
    // The example app calls the service from another site (bearer mode): its origin allowed, its /callback a
    // redirect URL.
    const exampleAppUrl = `http://127.0.0.1:${examplePort}`;

    // The identity providers on 127.0.0.1, another site than the service's localhost: the binding cookie's
    // SameSite=None is what carries it through Apple's cross-site form_post.
    providers = await startIdentityProviders({ origins: [serviceLocalhost] });
    const idp = providers.url;

    const secretsFile = join(workDir, "secrets.env");
    writeFileSync(
      secretsFile,
      toDotenv({
        JWT_SIGNING_KEYS: JSON.stringify([await generateSigningKey()]),
        REFRESH_TOKEN_SECRET: generateSecret(),
        MFA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
        // One line, its newlines written as \n (a .dev.vars value is one line), as the service accepts it.
        APPLE_PRIVATE_KEY: providers.applePrivateKey.replace(/\n/g, "\\n"),
        OIDC_PROVIDERS: JSON.stringify([
          {
            id: "acme",
            name: "Acme SSO",
            issuer: `${idp}/generic`,
            clientId: "acme-client",
            clientSecret: "acme-secret",
            trustEmail: true,
          },
        ]),
      }),
      { mode: 0o600 },
    );

    stack = await startDevStack({
      root,
      port: workerPort,
      // No dataDir: a temporary cluster (fsync off), deleted when it stops.
      postgres: { port: pgPort, database: "secureauth_e2e" },
      secretsFile,
      vars: {
        // The page server and the example app; the Worker's own pages need no entry (PUBLIC_URL is their origin).
        ALLOWED_ORIGINS: `${pageUrl},${exampleAppUrl}`,
        WEBAUTHN_RP_ID: "localhost",
        WEBAUTHN_RP_NAME: "SecureAuth e2e",
        WEBAUTHN_ORIGINS: `${pageUrl},${serviceLocalhost}`,
        APP_URL: pageUrl,
        // No SMTP_URL: the stack's local inbox (maildev on 127.0.0.1) catches the mail, which tests read through its
        // API; and no breached-password service: nothing leaves the machine.
        PWNED_PASSWORDS_URL: "",
        // Sign-in providers: the local stand-ins (test/setup/identity-providers.ts).
        PUBLIC_URL: serviceLocalhost,
        // The app's federation page, the app's return from the hosted sign-in page (POST /auth/handoff), and the hosted
        // sign-in page itself, where its provider buttons come back to, and the example app's return.
        REDIRECT_URLS:
          `${pageUrl}/federation.html,${pageUrl}/callback,${serviceLocalhost}/sign-in,` + `${exampleAppUrl}/callback`,
        APPLE_CLIENT_ID: "com.example.web",
        APPLE_TEAM_ID: "TEAM123456",
        APPLE_KEY_ID: "KEY1234567",
        OAUTH_ENDPOINTS_FOR_TESTS_ONLY: JSON.stringify({ apple: `${idp}/apple` }),
      },
      persistTo: join(workDir, "wrangler-state"),
      registryPath: join(workDir, "wrangler-registry"),
      output: (line) => {
        wranglerLines.push(line);
        if (wranglerLines.length > 200) wranglerLines.shift();
        log(`wrangler: ${line}`);
      },
      log,
    });
    await waitForWorker(stack, wranglerLines);

    pages = await startPageServer({
      port: pagePort,
      pagesDir: join(root, "test", "e2e", "pages"),
      vendorDir: simpleWebAuthnEsmDir(root),
      clientDir: join(root, "packages", "client", "dist"),
    });
    echo = await startEchoServer(echoPort);
    nginx = await startNginx({ port: nginxPort, authOrigin: stack.url, upstream: echo.url });
    exampleApp = await startExampleApp({ port: examplePort, serviceUrl: serviceLocalhost });

    project.provide("serviceUrl", stack.url);
    project.provide("serviceLocalhostUrl", serviceLocalhost);
    project.provide("pageUrl", pageUrl);
    project.provide("nginxUrl", nginx.url);
    project.provide("databaseUrl", stack.databaseUrl);
    project.provide("identityProvidersUrl", idp);
    project.provide("mailInboxUrl", stack.mailInboxUrl!);
    project.provide("exampleAppUrl", exampleApp.url);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

/** Until GET /health/ready answers 200 (wrangler has built and started the Worker, and it reaches the database). */
async function waitForWorker(stack: DevStack, lines: string[]): Promise<void> {
  let exitCode: number | null | undefined;
  void stack.wranglerExited.then((code) => (exitCode = code));
  const deadline = Date.now() + WORKER_READY_TIMEOUT_MS;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new Error(`wrangler dev exited (${exitCode}) before the Worker was ready:\n${lines.join("\n")}`);
    // wrangler dev keeps running (watching for changes) when the bundle does not build.
    if (lines.some((line) => /Build failed/.test(stripAnsi(line))))
      throw new Error(`wrangler dev could not build the Worker:\n${lines.map(stripAnsi).join("\n")}`);
    try {
      const response = await fetch(`${stack.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `the Worker did not answer GET /health/ready with 200 within ${WORKER_READY_TIMEOUT_MS / 1000} s (last: ` +
      `${last}):\n${lines.map(stripAnsi).join("\n")}`,
  );
}

function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The Worker in wrangler dev, http://127.0.0.1:<port>. */
    serviceUrl: string;
    /** The same Worker as http://localhost:<port>: same-site with the page server, for cookie mode. */
    serviceLocalhostUrl: string;
    /** The page server, http://localhost:<port>: the Worker's allowed origin and WebAuthn origin. */
    pageUrl: string;
    /** nginx in front of the echo upstream, http://127.0.0.1:<port>. */
    nginxUrl: string;
    /** The identity providers, http://127.0.0.1:<port>: another site than the service's localhost. */
    identityProvidersUrl: string;
    /** The example app (examples/hosted-sign-in), http://127.0.0.1:<port>: another site than the service. */
    exampleAppUrl: string;
    /** The embedded PostgreSQL the Worker uses. */
    databaseUrl: string;
    /** The local inbox's web API (maildev), http://127.0.0.1:<port>: every mail the Worker sent. */
    mailInboxUrl: string;
  }
}
