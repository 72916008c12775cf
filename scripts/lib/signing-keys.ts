// Generates Ed25519 signing keys as private JWKs, the form JWT_SIGNING_KEYS
// holds, and random secrets for REFRESH_TOKEN_SECRET.
import { randomBytes } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";

export async function generateSigningKey(): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
  return { ...jwk, kid, alg: "EdDSA", use: "sig" };
}

export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}
