// `npm run dev` refuses to start a Worker whose configuration the schema
// refuses, naming the variable, what is wrong and where it came from, before
// it starts or writes anything; and it writes the development values the
// schema asks for into .dev.vars.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseVariables } from "../../src/core/config/parse.ts";
import { VARIABLE_NAMES } from "../../src/core/config/schema.ts";
import { TEST_SIGNING_KEYS } from "../../test/setup/secrets.ts";
import { devConfigProblem, devVarsText, devVarsToAdd, tomlVars } from "./dev-config.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

async function sources(overrides: { secrets?: Record<string, string>; environment?: Record<string, string> } = {}) {
  return {
    toml: { ACCESS_TOKEN_TTL: "600", ALLOWED_ORIGINS: "" },
    secrets: { ...(await devVarsToAdd(undefined)), ...overrides.secrets },
    environment: overrides.environment ?? {},
    databaseUrl: undefined,
    port: 8787,
  };
}

describe("npm run dev checks the Worker's configuration before it starts anything", () => {
  it("accepts what it generates with the checkout's wrangler.toml", async () => {
    expect(devConfigProblem(await sources())).toBeUndefined();
    expect(devConfigProblem({ ...(await sources()), toml: tomlVars(readText("wrangler.toml")) })).toBeUndefined();
  });

  it.each([
    [{ environment: { ACCESS_TOKEN_TTL: "10m" } }, "ACCESS_TOKEN_TTL must be a whole number (from this environment)"],
    [
      { secrets: { REFRESH_TOKEN_SECRET: "short" } },
      "REFRESH_TOKEN_SECRET must be at least 32 characters (from .dev.vars)",
    ],
    [
      { environment: { SMTP_URL: "http://mail" } },
      "SMTP_URL must be an smtp:// or smtps:// URL (from this environment)",
    ],
    [
      { environment: { REFRESH_IDLE_TTL: "7200", REFRESH_ABSOLUTE_TTL: "3600" } },
      "REFRESH_IDLE_TTL must not exceed REFRESH_ABSOLUTE_TTL (from this environment)",
    ],
  ])("refuses %j: %s", async (overrides, message) => {
    expect(devConfigProblem(await sources(overrides))).toBe(message);
  });

  it("wrangler.toml [vars] hold only schema variables, each at the schema's default", () => {
    const toml = tomlVars(readText("wrangler.toml"));
    const required = { DATABASE_URL: "postgres://127.0.0.1/db", REVOCATION_FEED: {} };
    const secrets = { JWT_SIGNING_KEYS: JSON.stringify([TEST_SIGNING_KEYS[0]]), REFRESH_TOKEN_SECRET: "x".repeat(32) };
    for (const name of Object.keys(toml)) expect(VARIABLE_NAMES).toContain(name);
    expect(parseVariables({ ...toml, ...secrets, ...required })).toEqual(parseVariables({ ...secrets, ...required }));
  });

  it("names a variable in wrangler.toml [vars], and never prints a secret's value", async () => {
    const problem = devConfigProblem({ ...(await sources()), toml: { ARGON2_ITERATIONS: "two" } });
    expect(problem).toBe("ARGON2_ITERATIONS must be a whole number (from wrangler.toml [vars])");
    const secret = "a-secret-value-too-short";
    expect(devConfigProblem(await sources({ secrets: { REFRESH_TOKEN_SECRET: secret } }))).not.toContain(secret);
  });

  it("exits 1 naming the variable and what is wrong, before it writes .dev.vars or starts a database", async () => {
    const hadDevVars = existsSync(`${ROOT}.dev.vars`);
    const started = Date.now();
    const { code, stderr } = await node(["scripts/dev.ts"], { ACCESS_TOKEN_TTL: "10m", PORT: "1", PG_PORT: "1" });
    expect(code).toBe(1);
    expect(stderr).toContain("refusing to start");
    expect(stderr).toContain("ACCESS_TOKEN_TTL must be a whole number");
    expect(existsSync(`${ROOT}.dev.vars`)).toBe(hadDevVars);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe(".dev.vars holds the development values the schema declares", () => {
  it("a new file gets a signing key, a refresh-token secret and a TOTP key the Worker accepts", async () => {
    const text = devVarsText(undefined, await devVarsToAdd(undefined));
    expect(text.startsWith("# Development secrets")).toBe(true);
    const vars = parseEnv(text);
    expect(Object.keys(vars).sort()).toEqual(["JWT_SIGNING_KEYS", "MFA_ENCRYPTION_KEY", "REFRESH_TOKEN_SECRET"]);
    const result = parseVariables({ ...vars, DATABASE_URL: "postgres://127.0.0.1/db", REVOCATION_FEED: {} });
    expect(result.ok && result.config.mfa.encryptionKey).toHaveLength(32);
  });

  it("an existing file keeps its values and gains only what it lacks", async () => {
    const current = "JWT_SIGNING_KEYS='[]'\nREFRESH_TOKEN_SECRET=mine";
    const added = await devVarsToAdd(current);
    expect(Object.keys(added)).toEqual(["MFA_ENCRYPTION_KEY"]);
    const text = devVarsText(current, added);
    expect(text.startsWith(`${current}\nMFA_ENCRYPTION_KEY=`)).toBe(true);
    expect(devVarsText(text, await devVarsToAdd(text))).toBe(text);
  });
});

function readText(path: string): string {
  return readFileSync(`${ROOT}${path}`, "utf8");
}

function node(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
