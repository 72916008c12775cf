// Text of bytes and digests, written once for every feature: base64 and
// base64url without padding, the SHA-256 hex digest of a text, a comparison
// of tags that takes the same time wherever they differ, and the rule for
// the secrets that key the opaque-token codecs.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/** base64 without padding (RFC 4648 section 4). */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "");
}

/** base64url without padding (RFC 4648 section 5). */
export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_");
}

/** The bytes of base64 or base64url text, padded or not; throws (atob's DOMException) on anything else. */
export function fromBase64url(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
}

/** SHA-256 of the UTF-8 of `text`, as 64 lower-case hex digits: how every token and key is stored or named. */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** Equal strings, compared without an early exit on the first difference. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** A codec built with a short secret is misconfigured: refuse at construction, not on the first token. */
export function assertSecrets(owner: string, ...secrets: (string | undefined)[]): void {
  for (const secret of secrets) {
    if (secret !== undefined && secret.length < 32)
      throw new TypeError(`${owner}: secrets must be at least 32 characters`);
  }
}
