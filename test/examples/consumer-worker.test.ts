// examples/consumer-worker and SecureAuth running together, as deployed:
// both built by `wrangler deploy --dry-run` from their own wrangler.toml,
// in one Miniflare (workerd), the consumer reaching SecureAuth's AuthService
// entrypoint through its service binding, SecureAuth against a throwaway
// PostgreSQL through the Neon driver path. What the consumer relies on: a
// valid token's identity, 403 without the permission, a logged-out
// session's token refused at once, and 503 (fail closed) when SecureAuth
// cannot check a token.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from "miniflare";
import pg from "pg";
import { unstable_readConfig } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleModules } from "../../scripts/lib/bundle-modules.ts";
import { spawnWrangler, startDatabase, type Database } from "../../scripts/lib/dev-stack.ts";
import { freePorts } from "../../scripts/lib/free-ports.ts";
import { generateSecret, generateSigningKey } from "../../scripts/lib/signing-keys.ts";
import { UNREACHABLE_FEED_WORKER, unreachableFeedBinding } from "../../scripts/lib/miniflare-durable-objects.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PASSWORD = "violet-kestrel-harbour-31";

async function build(config: string, outdir: string): Promise<string> {
  const output: string[] = [];
  const wrangler = spawnWrangler({
    root,
    args: ["deploy", "--dry-run", "-c", config, "--outdir", outdir],
    output: (line) => output.push(line),
  });
  const code = await wrangler.exited;
  if (code !== 0)
    throw new Error(`wrangler deploy --dry-run -c ${config} failed (${code}):\n${output.slice(-20).join("\n")}`);
  const scripts = readdirSync(outdir).filter((name) => name.endsWith(".js"));
  if (scripts.length !== 1) throw new Error(`expected one script in ${outdir}, found ${scripts.join(", ") || "none"}`);
  return join(outdir, scripts[0]!);
}

describe("examples/consumer-worker with SecureAuth over the service binding", () => {
  const workDir = mkdtempSync(join(tmpdir(), "secureauth-consumer-"));
  let database: Database | undefined;
  let miniflare: Miniflare | undefined;
  let secureauthBindings: Record<string, string>;
  let options: V4MiniflareOptions;

  const consumer = (path: string, token?: string) =>
    miniflare!.dispatchFetch(`http://consumer.test${path}`, {
      headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    });
  const auth = async (method: string, path: string, body?: unknown, token?: string) => {
    const worker = (await miniflare!.getWorker("secureauth")) as unknown as {
      fetch(url: string, init: RequestInit): Promise<Response>;
    };
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    return worker.fetch(`http://auth.test${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  const signUp = async () => {
    const email = `consumer-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const res = await auth("POST", "/auth/register", { email, password: PASSWORD });
    expect(res.status).toBe(201);
    return {
      email,
      ...((await res.json()) as { user: { id: string }; tokens: { accessToken: string; sessionId: string } }),
    };
  };

  beforeAll(async () => {
    const [secureauthScript, consumerScript] = await Promise.all([
      build(join(root, "wrangler.toml"), join(workDir, "secureauth")),
      build(join(root, "examples", "consumer-worker", "wrangler.toml"), join(workDir, "consumer")),
    ]);
    const [pgPort] = (await freePorts(1)) as [number];
    database = await startDatabase({ postgres: { port: pgPort, database: "secureauth_consumer" }, log: () => {} });
    const config = unstable_readConfig({ config: join(root, "wrangler.toml") });
    secureauthBindings = {
      ...(config.vars as Record<string, string>),
      ARGON2_MEMORY_KIB: "64",
      ARGON2_ITERATIONS: "1",
      ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: "true",
      JWT_SIGNING_KEYS: JSON.stringify([await generateSigningKey()]),
      REFRESH_TOKEN_SECRET: generateSecret(),
      // The application's own organization permission the example checks.
      ORG_PERMISSIONS: "projects:write",
      ...database.workerVars,
    };
    const secureauth = {
      name: "secureauth",
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      ...bundleModules(secureauthScript),
      bindings: secureauthBindings,
      durableObjects: { REVOCATION_FEED: { className: "RevocationFeed", useSQLite: true } },
      // The mail queue as deployed (no consumer here: the verification mails just wait).
      queueProducers: { MAIL_QUEUE: { queueName: "secureauth-mail" } },
    };
    options = {
      workers: [
        // The first worker answers dispatchFetch: the consumer, as its users would reach it.
        {
          name: "consumer-worker",
          compatibilityDate: config.compatibility_date,
          ...bundleModules(consumerScript),
          serviceBindings: { AUTH: { name: "secureauth", entrypoint: "AuthService" } },
        },
        secureauth,
      ],
    } as V4MiniflareOptions;
    miniflare = new Miniflare(convertV4MiniflareOptions(options));
    await miniflare.ready;
  }, 180_000);

  afterAll(async () => {
    await miniflare?.dispose().catch(() => {});
    await database?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it("GET /whoami answers the token's user and session, through AuthService.verify", async () => {
    const alice = await signUp();
    const res = await consumer("/whoami", alice.tokens.accessToken);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId: alice.user.id, sessionId: alice.tokens.sessionId, roles: ["user"] });
  });

  it("no token or a junk one is 401 invalid_token", async () => {
    for (const token of [undefined, "junk"]) {
      const res = await consumer("/whoami", token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ code: "invalid_token" });
    }
  });

  it(
    "GET /admin/report is 403 insufficient_permission for a plain user and " +
      "200 for an administrator, through AuthService.authorize",
    async () => {
      const alice = await signUp();
      const denied = await consumer("/admin/report", alice.tokens.accessToken);
      expect(denied.status).toBe(403);
      expect(await denied.json()).toEqual({ code: "insufficient_permission" });

      const db = new pg.Client({ connectionString: database!.databaseUrl });
      await db.connect();
      try {
        await db.query("insert into user_roles (user_id, role_name) values ($1, 'admin')", [alice.user.id]);
      } finally {
        await db.end();
      }
      const login = await auth("POST", "/auth/login", { email: alice.email, password: PASSWORD });
      const { tokens } = (await login.json()) as { tokens: { accessToken: string } };
      const allowed = await consumer("/admin/report", tokens.accessToken);
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toEqual({ report: "for administrators", by: alice.user.id });
    },
  );

  it(
    "POST /orgs/:orgId/projects needs projects:write in that organization, the token's active one, " +
      "through AuthService.authorize with { org }",
    async () => {
      const alice = await signUp();
      const db = new pg.Client({ connectionString: database!.databaseUrl });
      await db.connect();
      let orgId: string;
      let otherId: string;
      try {
        const orgs = await db.query<{ id: string }>(
          "insert into organizations (name, slug) values ('Acme', $1), ('Other', $2) returning id",
          [`acme-${crypto.randomUUID().slice(0, 8)}`, `other-${crypto.randomUUID().slice(0, 8)}`],
        );
        [orgId, otherId] = orgs.rows.map((row) => row.id) as [string, string];
        await db.query("insert into organization_roles (org_id, name, permissions) values ($1, 'developer', $2)", [
          orgId,
          ["projects:write"],
        ]);
        await db.query(
          "insert into organization_members (org_id, user_id, roles) " +
            "values ($1, $3, '{developer}'), ($2, $3, '{member}')",
          [orgId, otherId, alice.user.id],
        );
      } finally {
        await db.end();
      }
      const create = (id: string, token: string) =>
        miniflare!.dispatchFetch(`http://consumer.test/orgs/${id}/projects`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}` },
        });
      // Before switching, the organization permission does not count, not even for the organization named.
      expect((await create(orgId, alice.tokens.accessToken)).status).toBe(403);

      const switched = await auth("POST", "/auth/org", { orgId }, alice.tokens.accessToken);
      expect(switched.status).toBe(200);
      const { tokens } = (await switched.json()) as { tokens: { accessToken: string } };
      const created = await create(orgId, tokens.accessToken);
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual({ project: "created", org: orgId, by: alice.user.id });
      // Nor in another organization the token does not act in.
      const elsewhere = await create(otherId, tokens.accessToken);
      expect(elsewhere.status).toBe(403);
      expect(await elsewhere.json()).toEqual({ code: "insufficient_permission" });

      const inOther = await auth("POST", "/auth/org", { orgId: otherId }, alice.tokens.accessToken);
      const { tokens: other } = (await inOther.json()) as { tokens: { accessToken: string } };
      // A member without the role: 403 even in its active organization.
      expect((await create(otherId, other.accessToken)).status).toBe(403);
    },
  );

  it("a logged-out session's token is refused at once, not at its expiry", async () => {
    const alice = await signUp();
    expect((await consumer("/whoami", alice.tokens.accessToken)).status).toBe(200);
    expect((await auth("POST", "/auth/logout", undefined, alice.tokens.accessToken)).status).toBe(204);
    const res = await consumer("/whoami", alice.tokens.accessToken);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: "invalid_token" });
  });

  /** Runs `check` with SecureAuth's worker options changed by `change`, then restores them. */
  const withSecureauth = async (
    change: (secureauth: Record<string, unknown>) => Record<string, unknown>,
    check: () => Promise<void>,
    alongside: Record<string, unknown>[] = [],
  ) => {
    const [consumerOptions, secureauthOptions] = (options as { workers: Record<string, unknown>[] }).workers as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    await miniflare!.setOptions(
      convertV4MiniflareOptions({
        workers: [consumerOptions, change(secureauthOptions), ...alongside],
      } as V4MiniflareOptions),
    );
    try {
      await check();
    } finally {
      await miniflare!.setOptions(convertV4MiniflareOptions(options));
    }
  };
  const expectServiceUnavailable = async (token: string) => {
    for (const path of ["/whoami", "/admin/report"]) {
      const res = await consumer(path, token);
      expect(res.status, path).toBe(503);
      expect(await res.json(), path).toEqual({ code: "service_unavailable" });
    }
  };

  it(
    "fails closed: when the revocation feed and its Postgres log cannot be " +
      "read, the consumer answers 503 service_unavailable",
    async () => {
      const alice = await signUp();
      // The feed bound to a Durable Object whose every call fails, and the
      // database on a loopback port nothing listens on, as when both stores
      // are down; and no location cache, whose one-second shared copy would
      // otherwise still answer (as on a workers.dev host, where the Cache API
      // stores nothing). The token itself is valid, so only the failing reads
      // can refuse it.
      const [closedDatabasePort] = (await freePorts(1)) as [number];
      await withSecureauth(
        (secureauth) => ({
          ...secureauth,
          cache: false,
          bindings: {
            ...secureauthBindings,
            DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${closedDatabasePort}/secureauth_consumer`,
          },
          durableObjects: unreachableFeedBinding(unstable_readConfig({ config: join(root, "wrangler.toml") })),
        }),
        () => expectServiceUnavailable(alice.tokens.accessToken),
        [UNREACHABLE_FEED_WORKER],
      );
      // Back on the real feed, the same token is accepted again.
      expect((await consumer("/whoami", alice.tokens.accessToken)).status).toBe(200);
    },
  );

  it(
    "fails closed: when SecureAuth's configuration does not load, the " + "consumer answers 503 service_unavailable",
    async () => {
      const alice = await signUp();
      await withSecureauth(
        (secureauth) => ({ ...secureauth, bindings: { ...secureauthBindings, JWT_SIGNING_KEYS: "not json" } }),
        () => expectServiceUnavailable(alice.tokens.accessToken),
      );
    },
  );
});
