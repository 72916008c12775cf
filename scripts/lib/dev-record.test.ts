// How the local tools find this checkout's database, and what `npm run dev`
// hands the Worker. Run by vitest.node.config.ts (Node).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFromEnvironment, CONFIG_VARIABLES } from "./config-variables.ts";
import { localToolDatabaseUrl, readDevRecord, removeDevRecord, writeDevRecord } from "./dev-record.ts";
import { workerVariables } from "./dev-stack.ts";

const checkout = () => `${mkdtempSync(join(tmpdir(), "secureauth-checkout-"))}/`;
const record = (databaseUrl: string, pid = process.pid) => ({
  url: "http://127.0.0.1:8787",
  databaseUrl,
  pid,
  startedAt: new Date().toISOString(),
});

describe("local tools find the running dev stack of their own checkout", () => {
  it("use the database this checkout's npm run dev recorded, whatever PG_PORT it was started with", () => {
    const mine = checkout();
    const other = checkout();
    writeDevRecord(mine, record("postgres://postgres:postgres@127.0.0.1:61001/secureauth"));
    writeDevRecord(other, record("postgres://postgres:postgres@127.0.0.1:54329/secureauth"));
    expect(localToolDatabaseUrl(mine, {})).toBe("postgres://postgres:postgres@127.0.0.1:61001/secureauth");
    expect(localToolDatabaseUrl(other, {})).toBe("postgres://postgres:postgres@127.0.0.1:54329/secureauth");
  });

  it("never guess a default port: no record and no DATABASE_URL means no database", () => {
    expect(localToolDatabaseUrl(checkout(), {})).toBeUndefined();
  });

  it("prefer DATABASE_URL when it is set", () => {
    const root = checkout();
    writeDevRecord(root, record("postgres://postgres:postgres@127.0.0.1:61001/secureauth"));
    expect(localToolDatabaseUrl(root, { DATABASE_URL: "postgres://u:p@db.example:5432/x" })).toBe(
      "postgres://u:p@db.example:5432/x",
    );
  });

  it("ignore a record left by a stack that is gone (its process has exited)", async () => {
    const root = checkout();
    const child = spawn(process.execPath, ["-e", ""]);
    const pid = child.pid!;
    await new Promise((resolve) => child.once("exit", resolve));
    writeDevRecord(root, record("postgres://postgres:postgres@127.0.0.1:61001/secureauth", pid));
    expect(readDevRecord(root)).toBeUndefined();
  });

  it("remove only their own record when they stop", () => {
    const root = checkout();
    writeDevRecord(root, record("postgres://postgres:postgres@127.0.0.1:61001/secureauth"));
    removeDevRecord(root, process.pid + 1_000_000);
    expect(readDevRecord(root)).toBeDefined();
    removeDevRecord(root);
    expect(readDevRecord(root)).toBeUndefined();
  });
});

describe("npm run dev hands its environment's configuration to the Worker", () => {
  it("passes every configuration variable set in the environment, and nothing else", () => {
    const passed = configFromEnvironment({
      ACCESS_TOKEN_TTL: "60",
      ALLOWED_ORIGINS: "http://localhost:5173",
      HOME: "/root",
      PATH: "/bin",
      AWS_SECRET: "x",
    });
    expect(passed).toEqual({ ACCESS_TOKEN_TTL: "60", ALLOWED_ORIGINS: "http://localhost:5173" });
    for (const name of CONFIG_VARIABLES) expect(Object.keys(configFromEnvironment({ [name]: "v" }))).toEqual([name]);
  });

  it("the environment wins over .dev.vars, and the stack's own database wins over both", () => {
    const merged = workerVariables(
      { JWT_SIGNING_KEYS: "[file]", ACCESS_TOKEN_TTL: "600" },
      { ACCESS_TOKEN_TTL: "60", PG_WS_PROXY: "ws://elsewhere" },
      { DATABASE_URL: "postgres://local", PG_WS_PROXY: "ws://127.0.0.1:1234" },
    );
    expect(merged).toEqual({
      JWT_SIGNING_KEYS: "[file]",
      ACCESS_TOKEN_TTL: "60",
      DATABASE_URL: "postgres://local",
      PG_WS_PROXY: "ws://127.0.0.1:1234",
    });
  });
});
