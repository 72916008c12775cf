// Helpers the opaque-token codecs share (refresh tokens, device tokens): the
// URL-safe text of bytes, a comparison of tags that takes the same time
// wherever they differ, and the rule for the secrets that key them.

/** base64url without padding (RFC 4648 section 5). */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
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
