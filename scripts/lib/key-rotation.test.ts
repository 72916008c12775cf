// `npm run keys:rotate`: the next JWT_SIGNING_KEYS from the live JWKS alone.
// The whole rotation through the Worker is in test/http/key-rotation.test.ts.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generateSigningKey, nextSigningKeys, type PrivateSigningJwk } from "./key-rotation.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const publicOf = ({ d: _d, ...rest }: PrivateSigningJwk) => rest;

describe("nextSigningKeys", () => {
  it("puts a new private key first and keeps only the live signer's public half", async () => {
    const [current, retired, next] = [
      await generateSigningKey(),
      await generateSigningKey(),
      await generateSigningKey(),
    ];
    const value = nextSigningKeys({ keys: [publicOf(current), publicOf(retired)] }, next);
    expect(value).toEqual([next, publicOf(current)]);
    expect(value[1]).not.toHaveProperty("d");
  });

  it("refuses what is not a JWKS, a non-Ed25519 key, or a JWKS that leaks a private member", async () => {
    const next = await generateSigningKey();
    for (const bad of [null, {}, { keys: [] }, { keys: [{ kty: "RSA", kid: "x", n: "a", e: "AQAB" }] }]) {
      expect(() => nextSigningKeys(bad, next)).toThrow();
    }
    expect(() => nextSigningKeys({ keys: [next] }, next)).toThrow(/private/);
  });
});

describe("the script, as `npm run keys:rotate` runs it", () => {
  it("prints only the next value on stdout, from a JWKS file", async () => {
    const current = await generateSigningKey();
    const dir = mkdtempSync(join(tmpdir(), "secureauth-keys-"));
    const file = join(dir, "jwks.json");
    writeFileSync(file, JSON.stringify({ keys: [publicOf(current)] }));
    const { code, stdout, stderr } = await node(["scripts/rotate-keys.ts", file]);
    expect(code, stderr).toBe(0);
    const value = JSON.parse(stdout) as PrivateSigningJwk[];
    expect(value).toHaveLength(2);
    expect(value[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(typeof value[0]!.d).toBe("string");
    expect(value[1]).toEqual(publicOf(current));
    expect(stderr).toContain(value[0]!.kid);
  });

  it("exits 2 without a source and 1 for an unreadable one", async () => {
    expect((await node(["scripts/rotate-keys.ts"])).code).toBe(2);
    expect((await node(["scripts/rotate-keys.ts", join(tmpdir(), "no-such-jwks.json")])).code).toBe(1);
  });
});

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
