// Password-hash candidates inside workerd, for `npm run bench:peers`.
// GET /?candidate=NAME&n=K runs K hashes of one password, one after another;
// the harness times requests with K=1 against K=0 from outside (workerd's
// clock does not advance during computation, so in-Worker timing is useless).
// GET /probe says which candidates this workerd provides.
import * as nodeCrypto from "node:crypto";
import { nobleArgon2id } from "../../../../src/features/accounts/passwords/argon2.ts";
import { PasswordHasher } from "../../../../src/features/accounts/passwords/hasher.ts";

type Candidate = () => Promise<unknown>;
const password = "correct horse battery staple";
const salt = new Uint8Array(16).fill(7);

function scrypt(N: number, r: number, p: number, keylen: number): Candidate {
  return () =>
    new Promise((resolve, reject) =>
      nodeCrypto.scrypt(password, salt, keylen, { N, r, p, maxmem: 256 * N * r * p + 1024 * 1024 }, (error, key) =>
        error ? reject(error) : resolve(key),
      ),
    );
}

/** Node 24.7's crypto.argon2(algorithm, parameters, callback), if this workerd has it. */
const argon2 = (
  nodeCrypto as unknown as {
    argon2?: (algorithm: string, parameters: object, callback: (error: Error | null, key: Uint8Array) => void) => void;
  }
).argon2;

const OWASP_MINIMUM = { memoryKib: 19456, iterations: 2, parallelism: 1 };
// Built once per isolate, as the service does; the WASM instance it loads is kept per isolate too.
const wasmHasher = new PasswordHasher(OWASP_MINIMUM);

const candidates: Record<string, Candidate | undefined> = {
  // SecureAuth's PasswordHasher at the production defaults, on the @noble/hashes (JavaScript) engine.
  "noble-argon2id-m19456-t2-p1": () => new PasswordHasher(OWASP_MINIMUM, nobleArgon2id).hash(password),
  // The same PasswordHasher on its default engine: the reference C argon2 as WebAssembly SIMD (@phi-ag/argon2's
  // argon2.wasm).
  "wasm-argon2id-m19456-t2-p1": () => wasmHasher.hash(password),
  // OWASP's listed scrypt set: N=2^17, r=8, p=1 (128 MiB).
  "node-scrypt-N131072-r8-p1": scrypt(2 ** 17, 8, 1, 32),
  // Better Auth's default: N=16384, r=16, p=1, 64-byte key (32 MiB).
  "node-scrypt-N16384-r16-p1": scrypt(16384, 16, 1, 64),
  "node-argon2id-m19456-t2-p1": argon2
    ? () =>
        new Promise((resolve, reject) =>
          argon2(
            "argon2id",
            { message: password, nonce: salt, parallelism: 1, tagLength: 32, memory: 19456, passes: 2 },
            (error, key) => (error ? reject(error) : resolve(key)),
          ),
        )
    : undefined,
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/probe") {
      return Response.json({
        available: Object.fromEntries(Object.entries(candidates).map(([name, run]) => [name, run !== undefined])),
        nodeCryptoArgon2: typeof argon2,
        nodeCryptoScrypt: typeof nodeCrypto.scrypt,
        passwordHasherEngine: await wasmHasher.engine(),
      });
    }
    const name = url.searchParams.get("candidate") ?? "";
    const n = Number(url.searchParams.get("n") ?? "1");
    const run = candidates[name];
    if (!run) return Response.json({ error: `unavailable: ${name}` }, { status: 404 });
    try {
      for (let i = 0; i < n; i++) await run();
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    }
    return Response.json({ ok: true });
  },
};
