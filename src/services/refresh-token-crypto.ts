// Refresh tokens as values: generation, the deterministic successor, and the
// hash that is all the database ever holds (DESIGN.md "Tokens").
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

export const REFRESH_TOKEN_PREFIX = "sart_";
/** sart_ + base64url of 32 bytes: 48 characters. Anything far longer is not ours. */
export const MAX_REFRESH_TOKEN_LENGTH = 128;

/** 256 bits from the CSPRNG. */
export function generateRefreshToken(): string {
  return REFRESH_TOKEN_PREFIX + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The successor of T is sart_ + base64url(HMAC-SHA256(secret, T)): it can be
 * recomputed from T, so racing refreshes and retries get the same successor
 * and the service never stores a usable token.
 */
export function successorOf(token: string, secret: string): string {
  return REFRESH_TOKEN_PREFIX + base64url(hmac(sha256, utf8ToBytes(secret), utf8ToBytes(token)));
}

/** What the database stores: hex SHA-256 of the token. */
export function hashRefreshToken(token: string): string {
  return bytesToHex(sha256(utf8ToBytes(token)));
}

export function looksLikeRefreshToken(token: string): boolean {
  return token.startsWith(REFRESH_TOKEN_PREFIX) && token.length <= MAX_REFRESH_TOKEN_LENGTH;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
