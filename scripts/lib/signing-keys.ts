// Random secrets for REFRESH_TOKEN_SECRET and MFA_ENCRYPTION_KEY; signing keys come from
// key-rotation.ts (private Ed25519 JWKs, the form JWT_SIGNING_KEYS holds).
import { randomBytes } from "node:crypto";

export { generateSigningKey } from "./key-rotation.ts";

export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** A MFA_ENCRYPTION_KEY: base64 of 32 random bytes (the AES-256-GCM key for TOTP secrets). */
export function generateEncryptionKey(): string {
  return randomBytes(32).toString("base64");
}
