// The two argon2id engines of src/features/accounts/passwords/argon2.ts checked
// against each other and against published answers: the WebAssembly build
// of the reference C code (the service's engine in a Worker) and
// @noble/hashes (the independent JavaScript implementation). Runs in
// workerd, where argon2.wasm is imported as a precompiled module exactly as
// in the deployed bundle.
import { describe, expect, it } from "vitest";
import {
  defaultArgon2idEngine,
  loadWasmModule,
  nobleArgon2id,
  WasmArgon2id,
  type Argon2idEngine,
  type Argon2idInput,
} from "../../src/features/accounts/passwords/argon2";
import { PasswordHasher } from "../../src/features/accounts/passwords";

const utf8 = (text: string) => new TextEncoder().encode(text);
const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
const PRODUCTION = { memoryKib: 19456, iterations: 2, parallelism: 1 };

async function wasmEngine(): Promise<WasmArgon2id> {
  const module = await loadWasmModule();
  if (!module) throw new Error("argon2.wasm did not load as a WebAssembly.Module");
  return new WasmArgon2id(module);
}

/** A deterministic byte string, so a failure can be reproduced. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

describe("argon2id engines", () => {
  it("the service's default engine in workerd is the WebAssembly one", async () => {
    expect((await defaultArgon2idEngine()).name).toBe("wasm");
    expect(await new PasswordHasher({ memoryKib: 64, iterations: 1, parallelism: 1 }).engine()).toBe("wasm");
  });

  // phc-winner-argon2's src/test.c, Argon2id version 0x13, 32-byte tags
  // (the 256 MiB case left out: above what a stored hash may ask for).
  const referenceVectors: [t: number, m: number, p: number, password: string, salt: string, tag: string][] = [
    [2, 65536, 1, "password", "somesalt", "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"],
    [2, 256, 1, "password", "somesalt", "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe"],
    [2, 256, 2, "password", "somesalt", "6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037"],
    [1, 65536, 1, "password", "somesalt", "f6a5adc1ba723dddef9b5ac1d464e180fcd9dffc9d1cbf76cca2fed795d9ca98"],
    [4, 65536, 1, "password", "somesalt", "9025d48e68ef7395cca9079da4c4ec3affb3c8911fe4f86d1a2520856f63172c"],
    [2, 65536, 1, "differentpassword", "somesalt", "0b84d652cf6b0c4beaef0dfe278ba6a80df6696281d7e0d2891b817d8c458fde"],
    [2, 65536, 1, "password", "diffsalt", "bdf32b05ccc42eb15d58fd19b1f856b113da1e9a5874fdcc544308565aa8141c"],
  ];

  it("both engines give the reference implementation's published argon2id answers", async () => {
    const wasm = await wasmEngine();
    for (const [t, m, p, password, salt, tag] of referenceVectors) {
      const input: Argon2idInput = {
        password: utf8(password),
        salt: utf8(salt),
        params: { memoryKib: m, iterations: t, parallelism: p },
        length: 32,
      };
      const label = `t=${t} m=${m} p=${p} ${password}/${salt}`;
      expect(hex(await wasm.derive(input)), `wasm ${label}`).toBe(tag);
      expect(hex(await nobleArgon2id.derive(input)), `noble ${label}`).toBe(tag);
    }
  }, 60_000);

  it("noble gives RFC 9106's argon2id test vector (5.3, with secret and associated data)", async () => {
    // The WASM build's argon2_hash takes no secret or associated data, so
    // this anchors the cross-check's other side to the RFC directly.
    const { argon2id } = await import("@noble/hashes/argon2.js");
    const tag = argon2id(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), {
      t: 3,
      m: 32,
      p: 4,
      dkLen: 32,
      key: new Uint8Array(8).fill(3),
      personalization: new Uint8Array(12).fill(4),
    });
    expect(hex(tag)).toBe("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
  });

  it("the engines agree on every shape of input within the limits a stored hash may ask for", async () => {
    const wasm = await wasmEngine();
    const cases: Argon2idInput[] = [];
    const params = [
      { memoryKib: 8, iterations: 1, parallelism: 1 },
      { memoryKib: 37, iterations: 1, parallelism: 2 }, // not a multiple of 4 x lanes: rounded down alike
      { memoryKib: 64, iterations: 3, parallelism: 4 },
      { memoryKib: 1024, iterations: 1, parallelism: 3 },
      { memoryKib: 4096, iterations: 10, parallelism: 1 },
    ];
    const passwords = [
      new Uint8Array(0),
      utf8("correct horse battery staple"),
      utf8("pässwörd ünïcode 🔑 密码"),
      utf8("nul\u0000inside"),
      bytes(512, 7),
    ];
    params.forEach((p, i) => {
      passwords.forEach((password, j) => {
        cases.push({
          password,
          salt: bytes([8, 16, 64][(i + j) % 3]!, i * 31 + j),
          params: p,
          length: [16, 32, 64][(i * 2 + j) % 3]!,
        });
      });
    });
    for (const input of cases) {
      const label =
        `m=${input.params.memoryKib} t=${input.params.iterations} p=${input.params.parallelism} ` +
        `password ${input.password.length} B salt ${input.salt.length} B tag ${input.length} B`;
      const [a, b] = [await wasm.derive(input), await nobleArgon2id.derive(input)];
      expect(a, label).toHaveLength(input.length);
      expect(hex(a), label).toBe(hex(b));
    }
  }, 60_000);

  it("the engines agree at the production parameters m=19456, t=2, p=1", async () => {
    const wasm = await wasmEngine();
    const input = {
      password: utf8("correct horse battery staple"),
      salt: bytes(16, 99),
      params: PRODUCTION,
      length: 32,
    };
    expect(hex(await wasm.derive(input))).toBe(hex(await nobleArgon2id.derive(input)));
  }, 60_000);

  it("a hash made on one engine verifies on the other, both ways, and a wrong password on neither", async () => {
    const wasm = await wasmEngine();
    const engines: Argon2idEngine[] = [wasm, nobleArgon2id];
    const passwords = ["correct horse battery staple", "pässwörd ünïcode 🔑 密码"];
    for (const params of [
      { memoryKib: 64, iterations: 1, parallelism: 1 },
      { memoryKib: 256, iterations: 2, parallelism: 2 },
      PRODUCTION,
    ]) {
      for (const [maker, checker] of [engines, [...engines].reverse()] as [Argon2idEngine, Argon2idEngine][]) {
        for (const password of passwords) {
          const phc = await new PasswordHasher(params, maker).hash(password);
          const other = new PasswordHasher(params, checker);
          const label = `${maker.name} -> ${checker.name} m=${params.memoryKib} ${password}`;
          expect(await other.verify(phc, password), label).toBe(true);
          expect(await other.verify(phc, `${password}!`), label).toBe(false);
          expect(other.needsRehash(phc), label).toBe(false);
        }
      }
    }
  }, 120_000);

  it(
    "the password is hashed as its full UTF-8 bytes (the package's own " + "wrapper would cut it to its UTF-16 length)",
    async () => {
      // "ü" is one UTF-16 unit but two UTF-8 bytes: 12 of them are 24 bytes,
      // so a 13-unit length would drop the last character of both.
      const hasher = new PasswordHasher({ memoryKib: 64, iterations: 1, parallelism: 1 });
      const phc = await hasher.hash(`${"ü".repeat(12)}a`);
      expect(await hasher.verify(phc, `${"ü".repeat(12)}a`)).toBe(true);
      expect(await hasher.verify(phc, `${"ü".repeat(12)}b`)).toBe(false);
      expect(await hasher.verify(phc, "ü".repeat(12))).toBe(false);
    },
  );

  it("keeps working after a hash at the largest allowed memory and after a refused input", async () => {
    const wasm = await wasmEngine();
    const small = {
      password: utf8("correct horse battery staple"),
      salt: bytes(16, 5),
      params: { memoryKib: 64, iterations: 1, parallelism: 1 },
      length: 32,
    };
    const expected = hex(await nobleArgon2id.derive(small));
    // 64 MiB grows the instance's memory past what it keeps: it is dropped and rebuilt.
    const large = await wasm.derive({ ...small, params: { memoryKib: 65536, iterations: 1, parallelism: 1 } });
    expect(large).toHaveLength(32);
    expect(hex(await wasm.derive(small))).toBe(expected);
    // The C code refuses fewer than 8 KiB per lane and salts under 8 bytes.
    await expect(wasm.derive({ ...small, params: { memoryKib: 8, iterations: 1, parallelism: 2 } })).rejects.toThrow(
      /argon2id failed/,
    );
    await expect(wasm.derive({ ...small, salt: new Uint8Array(4) })).rejects.toThrow(/argon2id failed/);
    expect(hex(await wasm.derive(small))).toBe(expected);
  }, 60_000);
});
