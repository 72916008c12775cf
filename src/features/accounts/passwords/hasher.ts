// Password hashing: argon2id (argon2.ts: the reference implementation in
// WebAssembly, @noble/hashes where that cannot load), stored as a PHC string
// (phc.ts), verified in constant time, with rehash detection for hashes made
// at older parameters and a dummy verify that makes an unknown email cost the
// same as a wrong password (docs/api.md, "Passwords and accounts").
import { randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { defaultArgon2idEngine, type Argon2idEngine } from "./argon2";
import { type Argon2Params, argon2ParamsProblem, formatArgon2idHash, parseArgon2idHash } from "./phc";

const SALT_BYTES = 16;
const HASH_BYTES = 32;

export class PasswordHasher {
  readonly #params: Argon2Params;
  /**
   * A well-formed hash at the configured cost that no password matches (its
   * tag is all zeros). Verifying against it runs exactly one argon2id at the
   * configured parameters, with no hashing needed to build it, so even the
   * first unknown email an isolate sees costs the same as a wrong password.
   */
  readonly #dummyHash: string;
  readonly #engine: () => Promise<Argon2idEngine>;

  /** `engine` is for tests; by default the WASM engine where it loads (argon2.ts). */
  constructor(params: Argon2Params, engine?: Argon2idEngine) {
    const problem = argon2ParamsProblem(params);
    if (problem !== undefined) throw new TypeError(`Invalid argon2 parameters: ${problem}`);
    this.#params = { memoryKib: params.memoryKib, iterations: params.iterations, parallelism: params.parallelism };
    this.#dummyHash = formatArgon2idHash({
      params: this.#params,
      salt: new Uint8Array(SALT_BYTES).fill(0x5a),
      hash: new Uint8Array(HASH_BYTES),
    });
    this.#engine = engine ? () => Promise.resolve(engine) : defaultArgon2idEngine;
  }

  /** Which argon2id implementation runs: "wasm" in a Worker. */
  async engine(): Promise<Argon2idEngine["name"]> {
    return (await this.#engine()).name;
  }

  /** argon2id PHC string with a fresh 16-byte random salt and a 32-byte hash. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const hash = await this.#derive(password, salt, this.#params, HASH_BYTES);
    return formatArgon2idHash({ params: this.#params, salt, hash });
  }

  /** Constant-time compare; false, never an exception, for a malformed or out-of-bounds hash. */
  async verify(phc: string, password: string): Promise<boolean> {
    try {
      const stored = parseArgon2idHash(phc);
      if (!stored) return false;
      const candidate = await this.#derive(password, stored.salt, stored.params, stored.hash.length);
      return constantTimeEqual(candidate, stored.hash);
    } catch {
      return false;
    }
  }

  /** True when the stored hash is not an argon2id hash at exactly the configured parameters and sizes. */
  needsRehash(phc: string): boolean {
    const stored = parseArgon2idHash(phc);
    if (!stored) return true;
    const { memoryKib, iterations, parallelism } = stored.params;
    return (
      memoryKib !== this.#params.memoryKib ||
      iterations !== this.#params.iterations ||
      parallelism !== this.#params.parallelism ||
      stored.salt.length !== SALT_BYTES ||
      stored.hash.length !== HASH_BYTES
    );
  }

  /** One verify at the configured cost, always false: for unknown emails. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(this.#dummyHash, password);
    return false;
  }

  async #derive(password: string, salt: Uint8Array, params: Argon2Params, length: number): Promise<Uint8Array> {
    const engine = await this.#engine();
    // NFC here as well as in the policy: it is idempotent, and a caller that
    // forgot to normalise must not lock a user out.
    return engine.derive({ password: utf8ToBytes(password.normalize("NFC")), salt, params, length });
  }
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
