// `secureauth/client` as a consumer gets it: `npm pack` of the repository
// (which runs `prepare`, so builds dist/client), a throwaway project with
// the tarball unpacked into its node_modules, then plain Node (no TypeScript loader) importing
// the entry, and tsc checking a consumer's .ts against the shipped .d.ts.
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
  await run("mkdir", ["-p", installed]);
  writeFileSync(
    path.join(consumer, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: { secureauth: `file:${path.join(work, filename)}` },
    }),
  );
  // What `npm install` does with the tarball, unpacking it into node_modules,
  // without fetching the Worker's runtime dependencies: the client uses none,
  // and tests must not reach the registry.
  await run("tar", ["-xzf", path.join(work, filename), "-C", installed, "--strip-components=1"]);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("secureauth/client from the packed tarball", () => {
  it("ships the built ESM and its .d.ts, self-contained (nothing of src/ reached from it)", () => {
    const dist = path.join(installed, "dist/client");
    expect(readdirSync(dist).sort()).toEqual(["coordination.d.ts", "coordination.js", "index.d.ts", "index.js"]);
    for (const file of readdirSync(dist)) {
      const text = readFileSync(path.join(dist, file), "utf8");
      const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
      expect(
        specifiers.every((s) => s === "./coordination.js"),
        `${file}: ${specifiers.join(", ")}`,
      ).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")) as {
      exports: Record<string, unknown>;
    };
    expect(manifest.exports["./client"]).toEqual({
      types: "./dist/client/index.d.ts",
      import: "./dist/client/index.js",
    });
    // What the Worker deploy needs is in the tarball too; the tests are not.
    for (const file of ["src/index.ts", "wrangler.toml", "drizzle"])
      expect(existsSync(path.join(installed, file)), file).toBe(true);
    expect(existsSync(path.join(installed, "test"))).toBe(false);
  });

  it("imports with plain Node: constructs a client, signs in and refreshes against a stub, shares nothing between clients, and lets the process exit", async () => {
    const script = `
      import { AuthClient, AuthApiError, memoryStore } from "secureauth/client";
      let n = 0;
      const stub = async (input, init) => {
        const url = new URL(input);
        if (url.pathname === "/auth/login") {
          const { email } = JSON.parse(init.body);
          if (email === "mfa@example.com") return Response.json({ code: "mfa_required", status: 403, title: "x", mfaToken: "samfa_1", methods: ["totp"] }, { status: 403 });
          return Response.json({ user: { email }, tokens: { tokenType: "Bearer", accessToken: "at-" + ++n, expiresIn: 0, refreshToken: "rt-" + n, refreshExpiresIn: 60, sessionId: email } });
        }
        if (url.pathname === "/auth/refresh") {
          const { refreshToken } = JSON.parse(init.body);
          return Response.json({ tokens: { tokenType: "Bearer", accessToken: "at-" + ++n, expiresIn: 900, refreshToken: "rt-" + n, refreshExpiresIn: 60, sessionId: refreshToken } });
        }
        return new Response(null, { status: 404 });
      };
      const alice = new AuthClient({ baseUrl: "https://auth.example.com", fetch: stub, store: memoryStore() });
      const bob = new AuthClient({ baseUrl: "https://auth.example.com", fetch: stub });
      await alice.login({ email: "alice@example.com", password: "pw" });
      await bob.login({ email: "bob@example.com", password: "pw" });
      const [a, b] = await Promise.all([alice.accessToken(), bob.accessToken()]);
      const mfa = await alice.login({ email: "mfa@example.com", password: "pw" }).catch((e) => e);
      console.log(JSON.stringify({ a, b, n, mode: alice.mode, mfa: mfa instanceof AuthApiError && mfa.code === "mfa_required" && mfa.mfaToken }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: consumer,
      timeout: 20_000,
    });
    const out = JSON.parse(stdout) as { a: string; b: string; n: number; mode: string; mfa: string };
    // Two logins, then one refresh each (expiresIn 0): two AuthClients in one Node process never adopt each other's tokens.
    expect(out.n).toBe(4);
    expect(new Set([out.a, out.b]).size).toBe(2);
    expect(out.mode).toBe("bearer");
    expect(out.mfa).toBe("samfa_1");
  });

  it("type-checks a consumer's TypeScript against the shipped .d.ts, with the DOM lib and with Node's types", async () => {
    writeFileSync(
      path.join(consumer, "browser.ts"),
      `import { AuthClient, AuthApiError, memoryStore, webStorageStore, type StoredTokens, type TokenStore } from "secureauth/client";
      const store: TokenStore = webStorageStore(localStorage);
      const client = new AuthClient({
        baseUrl: "https://auth.example.com",
        mode: "cookie",
        trustedOrigins: ["https://api.example.com"],
        store,
        coordination: { locks: navigator.locks, channel: new BroadcastChannel("secureauth:https://auth.example.com") },
        onSessionEnded: (reason: "logged_out" | "refresh_token_reused" | "invalid_refresh_token") => console.log(reason),
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
