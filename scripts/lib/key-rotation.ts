// The next JWT_SIGNING_KEYS value for a rotation, computed from the live JWKS
// alone, because an operator cannot read a Worker secret back: a new private
// key first (it signs from the deploy on), then the public half of the key
// that signs today (so its tokens keep verifying until they expire). Keys the
// JWKS listed after that one are dropped: each rotation retires the key
// before it. Uses only jose and WebCrypto, so the workerd tests run it too.
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";

export type PublicSigningJwk = { kty: "OKP"; crv: "Ed25519"; x: string; kid: string; alg: "EdDSA"; use: "sig" };
export type PrivateSigningJwk = PublicSigningJwk & { d: string };

export async function generateSigningKey(): Promise<PrivateSigningJwk> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! });
  return { kty: "OKP", crv: "Ed25519", x: jwk.x!, d: jwk.d!, kid, alg: "EdDSA", use: "sig" };
}

/**
 * [new private key, the live signer's public key]. `jwks` is what
 * /.well-known/jwks.json answers: its first key is the one that signs now.
 * Throws on anything that is not such a JWKS, or when it holds a private member.
 */
export function nextSigningKeys(jwks: unknown, next: PrivateSigningJwk): [PrivateSigningJwk, PublicSigningJwk] {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new Error('not a JWKS: expected {"keys": [...]} with at least one key');
  const current = keys[0] as Record<string, unknown>;
  if (
    current.kty !== "OKP" ||
    current.crv !== "Ed25519" ||
    typeof current.x !== "string" ||
    typeof current.kid !== "string"
  ) {
    throw new Error("the JWKS's first key is not an Ed25519 public key with a kid");
  }
  if ("d" in current) throw new Error("the JWKS holds a private key member (d): refusing to copy it");
  if (current.kid === next.kid) throw new Error("the new key has the kid of the current one");
  return [next, { kty: "OKP", crv: "Ed25519", x: current.x, kid: current.kid, alg: "EdDSA", use: "sig" }];
}
