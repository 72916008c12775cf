// The client as a consumer gets it. `@secureauth/client` (packages/client):
// `npm pack` of the package (its `prepare` builds dist/), installed offline
// into a throwaway project from the tarball and from the path, which must
// bring nothing but the client itself. `secureauth/client`: `npm pack` of the
// repository (its `prepare` builds the client), the tarball unpacked into a
// project's node_modules. Then plain Node (no TypeScript loader) imports the
// entry, and tsc checks a consumer's .ts against the shipped .d.ts.
// Run by vitest.node.config.ts.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const CLIENT = path.join(ROOT, "packages/client");
/** What the client's dist/ holds: its modules (the generated api.ts is types only), each with its .d.ts. */
const CLIENT_MODULES = ["api", "client", "handtyped", "coordination", "index", "session", "stores", "types"];
const CLIENT_FILES = CLIENT_MODULES.flatMap((m) => [`${m}.d.ts`, `${m}.js`]).sort();
const npmQuiet = ["--no-audit", "--no-fund", "--loglevel=error"];

/** Every package under a node_modules, scoped ones as `@scope/name`. */
function packagesIn(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules)
    .filter((name) => !name.startsWith("."))
    .flatMap((name) =>
      name.startsWith("@") ? readdirSync(path.join(nodeModules, name)).map((n) => `${name}/${n}`) : [name],
    )
    .sort();
}

/** The specifiers a built module imports or re-exports. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
}

let work: string;
let consumer: string;
let installed: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), "secureauth-consumer-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const { filename } = (JSON.parse(stdout) as { filename: string }[])[0]!;
  consumer = path.join(work, "app");
  installed = path.join(consumer, "node_modules/secureauth");
  await run("mkdir", ["-p", consumer]);
  writeFileSync(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  // Offline: the repository declares every package the Worker needs as a devDependency (the Worker is bundled
  // from a full install), so installing it, as from a git URL, fetches nothing. Tests must not reach the registry.
  await run("npm", ["install", "--offline", ...npmQuiet, path.join(work, filename)], {
    cwd: consumer,
    maxBuffer: 16 * 1024 * 1024,
  });
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("secureauth/client from the packed tarball", () => {
  it("installs without a server dependency: node_modules holds the repository's package alone", () => {
    expect(packagesIn(path.join(consumer, "node_modules"))).toEqual(["secureauth"]);
    const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
  });

  it("ships the built ESM and its .d.ts, self-contained (nothing of src/ reached from it)", () => {
    const dist = path.join(installed, "packages/client/dist");
    expect(readdirSync(dist).sort()).toEqual(CLIENT_FILES);
    for (const file of readdirSync(dist)) {
      const specifiers = importsOf(path.join(dist, file));
      expect(
        specifiers.every((s) => /^\.\/[a-z]+\.js$/.test(s) && CLIENT_FILES.includes(s.slice(2))),
        `${file}: ${specifiers.join(", ")}`,
      ).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")) as {
      exports: Record<string, unknown>;
    };
    expect(manifest.exports["./client"]).toEqual({
      types: "./packages/client/dist/index.d.ts",
      import: "./packages/client/dist/index.js",
    });
    // What the Worker deploy needs is in the tarball too; the tests are not.
    for (const file of ["src/index.ts", "wrangler.toml", "drizzle"])
      expect(existsSync(path.join(installed, file)), file).toBe(true);
    expect(existsSync(path.join(installed, "test"))).toBe(false);
  });

  it(
    "imports with plain Node: constructs a client, signs in and refreshes " +
      "against a stub, shares nothing between clients, and lets the process " +
      "exit",
    async () => {
      const script = `
      import { AuthClient, AuthApiError, memoryStore } from "secureauth/client";
      let n = 0;
      const stub = async (input, init) => {
        const url = new URL(input);
        if (url.pathname === "/auth/login") {
          const { email } = JSON.parse(init.body);
          if (email === "mfa@example.com") {
            const problem = { code: "mfa_required", status: 403, title: "x", mfaToken: "samfa_1", methods: ["totp"] };
            return Response.json(problem, { status: 403 });
          }
          const tokens = {
            tokenType: "Bearer", accessToken: "at-" + ++n, expiresIn: 0,
            refreshToken: "rt-" + n, refreshExpiresIn: 60, sessionId: email,
          };
          return Response.json({ user: { email }, tokens });
        }
        if (url.pathname === "/auth/refresh") {
          const { refreshToken } = JSON.parse(init.body);
          const tokens = {
            tokenType: "Bearer", accessToken: "at-" + ++n, expiresIn: 900,
            refreshToken: "rt-" + n, refreshExpiresIn: 60, sessionId: refreshToken,
          };
          return Response.json({ tokens });
        }
        return new Response(null, { status: 404 });
      };
      const alice = new AuthClient({ baseUrl: "https://auth.example.com", fetch: stub, store: memoryStore() });
      const bob = new AuthClient({ baseUrl: "https://auth.example.com", fetch: stub });
      await alice.login({ email: "alice@example.com", password: "pw" });
      await bob.login({ email: "bob@example.com", password: "pw" });
      const [a, b] = await Promise.all([alice.accessToken(), bob.accessToken()]);
      const mfa = await alice.login({ email: "mfa@example.com", password: "pw" }).catch((e) => e);
      const mfaToken = mfa instanceof AuthApiError && mfa.code === "mfa_required" && mfa.mfaToken;
      console.log(JSON.stringify({ a, b, n, mode: alice.mode, mfa: mfaToken }));
    `;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
        cwd: consumer,
        timeout: 20_000,
      });
      const out = JSON.parse(stdout) as { a: string; b: string; n: number; mode: string; mfa: string };
      // Two logins, then one refresh each (expiresIn 0): two AuthClients in one Node process never adopt each other's
      // tokens.
      expect(out.n).toBe(4);
      expect(new Set([out.a, out.b]).size).toBe(2);
      expect(out.mode).toBe("bearer");
      expect(out.mfa).toBe("samfa_1");
    },
  );

  it("type-checks a consumer's TypeScript against the shipped .d.ts, with the " +
    "DOM lib and with Node's types", async () => {
    writeFileSync(
      path.join(consumer, "browser.ts"),
      `import {
        AuthClient, AuthApiError, memoryStore, webStorageStore, type StoredTokens, type TokenStore,
      } from "secureauth/client";
      const store: TokenStore = webStorageStore(localStorage);
      const client = new AuthClient({
        baseUrl: "https://auth.example.com",
        mode: "cookie",
        trustedOrigins: ["https://api.example.com"],
        store,
        coordination: { locks: navigator.locks, channel: new BroadcastChannel("secureauth:https://auth.example.com") },
        onSessionEnded: (reason: "logged_out" | "refresh_token_reused" | "invalid_refresh_token") =>
          console.log(reason),
      });
      export async function signIn(code: string): Promise<StoredTokens | null> {
        try {
          await client.login({ email: "a@example.com", password: "pw" });
        } catch (error) {
          if (!(error instanceof AuthApiError) || error.code !== "mfa_required") throw error;
          await client.completeMfa({ mfaToken: error.mfaToken!, code });
        }
        const res: Response = await client.fetch("https://api.example.com/orders");
        void res;
        void memoryStore();
        return client.refresh();
      }
      `,
    );
    writeFileSync(
      path.join(consumer, "server.ts"),
      `import { AuthClient } from "secureauth/client";
      const client = new AuthClient({ baseUrl: "https://auth.example.com", coordination: false });
      export const token: Promise<string | null> = client.accessToken();
      `,
    );
    const base = {
      strict: true,
      noEmit: true,
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      skipLibCheck: false,
    };
    writeFileSync(
      path.join(consumer, "tsconfig.browser.json"),
      JSON.stringify({ compilerOptions: { ...base, lib: ["ES2022", "DOM"], types: [] }, files: ["browser.ts"] }),
    );
    writeFileSync(
      path.join(consumer, "tsconfig.node.json"),
      JSON.stringify({
        compilerOptions: {
          ...base,
          lib: ["ES2022"],
          types: ["node"],
          typeRoots: [path.join(ROOT, "node_modules/@types")],
        },
        files: ["server.ts"],
      }),
    );
    for (const project of ["tsconfig.browser.json", "tsconfig.node.json"]) {
      const result = await run(process.execPath, [TSC, "-p", project], { cwd: consumer }).catch(
        (error: { stdout: string }) => error,
      );
      expect("stdout" in result ? result.stdout : "", project).toBe("");
    }
  }, 60_000);
});

describe("@secureauth/client, its own package", () => {
  let work: string;
  let tarball: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "secureauth-client-package-"));
    // `npm pack` runs the package's `prepare`, which builds dist/ from src/ (the committed generated types).
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work, ...npmQuiet], {
      cwd: CLIENT,
      maxBuffer: 16 * 1024 * 1024,
    });
    tarball = path.join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A new project that installs `spec` with npm, offline: whatever it needs must already be in hand. */
  async function installInto(name: string, spec: string): Promise<string> {
    const project = path.join(work, name);
    await run("mkdir", ["-p", project]);
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
    await run("npm", ["install", "--offline", ...npmQuiet, spec], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
    return project;
  }

  it("declares no dependency at all, and packs only dist/, its manifest and its README", async () => {
    const manifest = JSON.parse(readFileSync(path.join(CLIENT, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.name).toBe("@secureauth/client");
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies"])
      expect(manifest[field], field).toBeUndefined();
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout.trim().split("\n").sort();
    expect(files).toEqual(
      ["package/package.json", "package/README.md", ...CLIENT_FILES.map((f) => `package/dist/${f}`)].sort(),
    );
  });

  it("installed from its tarball, offline: node_modules holds the client and nothing else", async () => {
    const project = await installInto("from-tarball", tarball);
    expect(packagesIn(path.join(project, "node_modules"))).toEqual(["@secureauth/client"]);
    const installed = path.join(project, "node_modules/@secureauth/client");
    expect(packagesIn(path.join(installed, "node_modules"))).toEqual([]);
    expect(readdirSync(path.join(installed, "dist")).sort()).toEqual(CLIENT_FILES);
    const lock = JSON.parse(readFileSync(path.join(project, "package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    expect(Object.keys(lock.packages).sort()).toEqual(["", "node_modules/@secureauth/client"]);
  });

  it("installed from its path, offline: node_modules holds the client and nothing else", async () => {
    const project = await installInto("from-path", CLIENT);
    expect(packagesIn(path.join(project, "node_modules"))).toEqual(["@secureauth/client"]);
    const lock = JSON.parse(readFileSync(path.join(project, "package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    // npm links a directory dependency: the lock names the link and its target, and no package besides.
    expect(Object.keys(lock.packages).filter((key) => key.includes("node_modules/"))).toEqual([
      "node_modules/@secureauth/client",
    ]);
  });

  it(
    "imports with plain Node from the installed tarball: every operation is " + "there, and errors carry the problem",
    async () => {
      const project = path.join(work, "from-tarball");
      const script = `
      import { AuthClient, AuthApiError } from "@secureauth/client";
      const seen = [];
      const stub = async (input, init) => {
        seen.push(init.method + " " + new URL(input).pathname);
        return Response.json({ type: "x", title: "Nope", status: 404, code: "not_found" }, { status: 404 });
      };
      const client = new AuthClient({ baseUrl: "https://auth.example.com", fetch: stub });
      const error = await client.verifyEmail({ token: "t" }).catch((e) => e);
      const methods = Object.getOwnPropertyNames(AuthClient.prototype).filter((m) => m !== "constructor").sort();
      console.log(JSON.stringify({ seen, code: error instanceof AuthApiError && error.code, methods }));
    `;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
        cwd: project,
        timeout: 20_000,
      });
      const out = JSON.parse(stdout) as { seen: string[]; code: string; methods: string[] };
      expect(out.seen).toEqual(["POST /auth/email/verify"]);
      expect(out.code).toBe("not_found");
      expect(out.methods).toEqual(
        expect.arrayContaining(["deleteMe", "listSessions", "registerPasskey", "removeTotp"]),
      );
    },
  );

  it("type-checks a consumer's TypeScript against the shipped .d.ts: request bodies are the API's", async () => {
    const project = path.join(work, "from-tarball");
    writeFileSync(
      path.join(project, "app.ts"),
      `import { AuthClient, type Problem, type Session, type User } from "@secureauth/client";
      const auth = new AuthClient({ baseUrl: "https://auth.example.com", coordination: false });
      export async function profile(): Promise<User> {
        const { user } = await auth.updateMe({ name: "Ada" });
        return user;
      }
      export async function sessions(): Promise<Session[]> {
        return (await auth.listSessions()).sessions;
      }
      export const code: Problem["code"] = "reauthentication_required";
      // @ts-expect-error the API's field is newPassword
      void auth.resetPassword({ token: "t", password: "x" });
      // @ts-expect-error not an error code of this API
      export const wrong: Problem["code"] = "nope";
      `,
    );
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022", "DOM"],
          types: [],
          skipLibCheck: false,
        },
        files: ["app.ts"],
      }),
    );
    const result = await run(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: project }).catch(
      (error: { stdout: string }) => error,
    );
    expect("stdout" in result ? result.stdout : "").toBe("");
  }, 60_000);
});
