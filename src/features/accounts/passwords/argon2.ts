// The argon2id function itself, behind one small interface, in two
// implementations of the same algorithm (RFC 9106, version 0x13):
//   - "wasm": the reference C implementation (phc-winner-argon2) built for
//     WebAssembly SIMD, shipped by @phi-ag/argon2 as argon2.wasm. A Worker
//     imports it as a precompiled WebAssembly.Module (Workers refuse to
//     compile WebAssembly from bytes at run time), so it is loaded with a
//     dynamic import on first use: Node, which cannot import a .wasm file,
//     can still load this module and everything that imports it.
//   - "noble": @noble/hashes in JavaScript, 3 to 5 times slower. It is the
//     fallback where the WASM module cannot be imported (Node scripts), and
//     the independent cross-check in the tests.
// Both take the password as UTF-8 bytes. The package's own JavaScript
// wrapper is deliberately not used: it passes the password's UTF-16 length
// as its byte length, which truncates any non-ASCII password, and it
// compares tags inside its C verify rather than through the strict parser.
import { argon2idAsync } from "@noble/hashes/argon2.js";
import { ARGON2_LIMITS, type Argon2Params } from "./phc";

export type Argon2idInput = { password: Uint8Array; salt: Uint8Array; params: Argon2Params; length: number };

export type Argon2idEngine = {
  readonly name: "wasm" | "noble";
  derive(input: Argon2idInput): Promise<Uint8Array>;
};

export const nobleArgon2id: Argon2idEngine = {
  name: "noble",
  derive: ({ password, salt, params, length }) =>
    argon2idAsync(password, salt, {
      m: params.memoryKib,
      t: params.iterations,
      p: params.parallelism,
      dkLen: length,
      maxmem: ARGON2_LIMITS.memoryKib.max * 1024,
    }),
};

/** argon2.h: Argon2_id and ARGON2_VERSION_13. */
const ARGON2_ID = 2;
const ARGON2_VERSION_13 = 0x13;

/**
 * WebAssembly memory only grows. An instance whose memory grew past this
 * (a stored hash at far more memory than the configured cost) is dropped
 * after its hash, so the isolate does not keep that much for good; the
 * next hash instantiates the compiled module again (cheap, no compilation).
 */
const RETAINED_MEMORY_BYTES = 48 * 2 ** 20;

type Argon2Exports = {
  memory: WebAssembly.Memory;
  _initialize(): void;
  malloc(size: number): number;
  free(pointer: number): void;
  argon2_hash(
    tCost: number,
    mCost: number,
    parallelism: number,
    pwd: number,
    pwdLen: number,
    salt: number,
    saltLen: number,
    hash: number,
    hashLen: number,
    encoded: number,
    encodedLen: number,
    type: number,
    version: number,
  ): number;
  argon2_error_message(code: number): number;
};

/** The reference implementation in a WebAssembly instance, called through its C exports. */
export class WasmArgon2id implements Argon2idEngine {
  readonly name = "wasm";
  readonly #module: WebAssembly.Module;
  #exports: Argon2Exports | undefined;

  constructor(module: WebAssembly.Module) {
    this.#module = module;
  }

  async derive(input: Argon2idInput): Promise<Uint8Array> {
    return this.deriveSync(input);
  }

  /** Runs to completion without yielding: the isolate's other requests wait for it, as for any CPU work. */
  deriveSync({ password, salt, params, length }: Argon2idInput): Uint8Array {
    const wasm = (this.#exports ??= instantiate(this.#module));
    const allocated: { pointer: number; size: number }[] = [];
    const allocate = (size: number): number => {
      const pointer = wasm.malloc(Math.max(size, 1));
      if (pointer === 0) throw new RangeError("argon2id: out of WebAssembly memory");
      allocated.push({ pointer, size });
      return pointer;
    };
    try {
      const passwordAt = allocate(password.length);
      const saltAt = allocate(salt.length);
      const hashAt = allocate(length);
      new Uint8Array(wasm.memory.buffer).set(password, passwordAt);
      new Uint8Array(wasm.memory.buffer).set(salt, saltAt);
      // encoded = NULL: the raw tag only; the PHC string is phc.ts's job.
      const code = wasm.argon2_hash(
        params.iterations,
        params.memoryKib,
        params.parallelism,
        passwordAt,
        password.length,
        saltAt,
        salt.length,
        hashAt,
        length,
        0,
        0,
        ARGON2_ID,
        ARGON2_VERSION_13,
      );
      if (code !== 0) throw new Error(`argon2id failed: ${errorMessage(wasm, code)}`);
      // A fresh view: the hash may have grown (and so replaced) the buffer.
      const tag = new Uint8Array(wasm.memory.buffer).slice(hashAt, hashAt + length);
      release(wasm, allocated);
      if (wasm.memory.buffer.byteLength > RETAINED_MEMORY_BYTES) this.#exports = undefined;
      return tag;
    } catch (error) {
      // After a failure (or a trap, which may leave the allocator half-way)
      // the instance is not trusted again; its memory goes with it.
      if (this.#exports === wasm) {
        this.#exports = undefined;
        try {
          release(wasm, allocated);
        } catch {}
      }
      throw error;
    }
  }
}

/** The C code wipes its own blocks; the password copy is ours to wipe. */
function release(wasm: Argon2Exports, allocated: { pointer: number; size: number }[]): void {
  const heap = new Uint8Array(wasm.memory.buffer);
  // Taken off the list as they go, so a second call frees nothing twice.
  for (let block = allocated.pop(); block; block = allocated.pop()) {
    heap.fill(0, block.pointer, block.pointer + block.size);
    wasm.free(block.pointer);
  }
}

function instantiate(module: WebAssembly.Module): Argon2Exports {
  // The module imports nothing (a standalone Emscripten build).
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as Argon2Exports;
  exports._initialize();
  return exports;
}

function errorMessage(wasm: Argon2Exports, code: number): string {
  const heap = new Uint8Array(wasm.memory.buffer);
  const start = wasm.argon2_error_message(code);
  let end = start;
  while (end < heap.length && heap[end] !== 0 && end - start < 200) end++;
  return `${new TextDecoder().decode(heap.subarray(start, end))} (${code})`;
}

let defaultEngine: Promise<Argon2idEngine> | undefined;

/** The WASM engine where the runtime can import argon2.wasm as a module (Workers, workerd tests), noble elsewhere. */
export function defaultArgon2idEngine(): Promise<Argon2idEngine> {
  return (defaultEngine ??= loadWasmModule().then(
    (module) => (module ? new WasmArgon2id(module) : nobleArgon2id),
    () => nobleArgon2id,
  ));
}

/** The precompiled module, or undefined where importing a .wasm file does not give one. */
export async function loadWasmModule(): Promise<WebAssembly.Module | undefined> {
  try {
    const imported = (await import("@phi-ag/argon2/argon2.wasm")) as { default?: unknown };
    return imported.default instanceof WebAssembly.Module ? imported.default : undefined;
  } catch {
    return undefined;
  }
}
