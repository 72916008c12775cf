// The service's own signing keys: imported once per isolate from
// JWT_SIGNING_KEYS (Ed25519 JWKs, newest first). The first (private) signs,
// every key verifies (retired ones may be kept as public JWKs), and only the
// public halves are ever published. This is
// the only key set verification consults: no JWKS fetch, no key from a token.
import type { Config, SigningJwk, VerifyingJwk } from "../../config";
import { ConfigError } from "../../core/errors";
import { ACCESS_TOKEN_ALGORITHM } from "./types";

/** A public signing key as published in the JWKS: exactly these members. */
export type PublicJwk = { kty: "OKP"; crv: "Ed25519"; x: string; kid: string; alg: "EdDSA"; use: "sig" };

export type KeySet = {
  signing: { kid: string; key: CryptoKey };
  verifying: Map<string, CryptoKey>;
  jwks: { keys: PublicJwk[] };
};

const ED25519 = { name: "Ed25519" } as const;

// Keyed by the array identity: loadConfig caches one Config per env object,
// so the keys are imported once per isolate, not once per request.
const cache = new WeakMap<Config["signingKeys"], Promise<KeySet>>();

export function loadKeySet(config: Pick<Config, "signingKeys">): Promise<KeySet> {
  const cached = cache.get(config.signingKeys);
  if (cached) return cached;
  const loading = importKeySet(config.signingKeys);
  cache.set(config.signingKeys, loading);
  // A failed import is not cached, so a fixed secret takes effect without a restart.
  loading.catch(() => cache.delete(config.signingKeys));
  return loading;
}

async function importKeySet([signer, ...others]: Config["signingKeys"]): Promise<KeySet> {
  const [newest, ...rest] = await Promise.all([
    importKey(signer, 0),
    ...others.map((jwk, index) => importKey(jwk, index + 1)),
  ]);
  const pairs = [newest!, ...rest];
  return {
    signing: { kid: newest!.publicJwk.kid, key: newest!.privateKey! },
    verifying: new Map(pairs.map((pair) => [pair.publicJwk.kid, pair.publicKey])),
    jwks: { keys: pairs.map((pair) => pair.publicJwk) },
  };
}

/** A key that verifies, with its private half when the JWK has one (checked against x). */
async function importKey(jwk: SigningJwk | VerifyingJwk, index: number) {
  const publicJwk: PublicJwk = {
    kty: "OKP",
    crv: "Ed25519",
    x: jwk.x,
    kid: jwk.kid,
    alg: ACCESS_TOKEN_ALGORITHM,
    use: "sig",
  };
  let privateKey: CryptoKey | undefined;
  let publicKey: CryptoKey;
  try {
    // Only the key material is passed on: alg, use or key_ops in the secret
    // must not change what the key may do.
    publicKey = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, ED25519, false, [
      "verify",
    ]);
    if (jwk.d === undefined) return { publicJwk, privateKey, publicKey };
    privateKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d },
      ED25519,
      false,
      ["sign"],
    );
  } catch {
    throw new ConfigError("JWT_SIGNING_KEYS", `entry ${index} is not a valid Ed25519 key`);
  }
  // A private half that does not match its published x would sign tokens
  // that no one can verify: refuse to start instead.
  const probe = new TextEncoder().encode("secureauth key check");
  const signature = await crypto.subtle.sign(ED25519, privateKey, probe);
  if (!(await crypto.subtle.verify(ED25519, publicKey, signature, probe))) {
    throw new ConfigError("JWT_SIGNING_KEYS", `entry ${index} has a d that does not match its x`);
  }
  return { publicJwk, privateKey, publicKey };
}
