// Random secrets for REFRESH_TOKEN_SECRET; signing keys come from
// key-rotation.ts (private Ed25519 JWKs, the form JWT_SIGNING_KEYS holds).
import { randomBytes } from "node:crypto";

export { generateSigningKey } from "./key-rotation.ts";

export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}
