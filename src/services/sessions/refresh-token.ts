// Refresh tokens as values (DESIGN.md "Tokens"): minting, the deterministic
// successor, the hash that is all the database ever holds, and a check that
// refuses junk before any I/O.
//
// Format: `sart_` + base64url(32 random bytes) + an 8-character tag, the
// first 6 bytes of HMAC-SHA256(REFRESH_TOKEN_SECRET, "sart-tag:" + body),
// base64url. A string without a valid tag is refused with no database
// statement (after Supabase's v2 refresh tokens); forging one needs the
// secret. Tokens minted before the tag existed (`sart_` + 43 characters) are
// still looked up until they rotate: their successor carries a tag. After
// REFRESH_TOKEN_SECRET changes, tags made with the previous secret
// (REFRESH_TOKEN_PREVIOUS_SECRET) still pass, so nobody is signed out.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

const REFRESH_TOKEN_PREFIX = "sart_";
/** base64url of 32 bytes. */
const BODY_LENGTH = 43;
/** base64url of 6 bytes: 48 bits, so a guessed tag passes once in 2^48. */
const TAG_LENGTH = 8;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export type RefreshTokenCheck = "tagged" | "legacy" | "junk";

export class RefreshTokenCodec {
  readonly #secret: Uint8Array;
  readonly #previousSecret: Uint8Array | undefined;

  constructor(secret: string, previousSecret?: string) {
    for (const s of [secret, previousSecret]) {
      if (s !== undefined && s.length < 32) throw new TypeError("RefreshTokenCodec: secrets must be at least 32 characters");
    }
    this.#secret = utf8ToBytes(secret);
    this.#previousSecret = previousSecret === undefined ? undefined : utf8ToBytes(previousSecret);
  }

  /** A new token: 256 bits from the CSPRNG, tagged. */
  mint(): string {
    return this.#tagged(base64url(crypto.getRandomValues(new Uint8Array(32))));
  }

  /**
   * The successor of T: the tagged form of base64url(HMAC-SHA256(secret, T)).
   * It can be recomputed from T, so racing refreshes and retries get the same
   * successor, and the service never stores a usable token.
   */
  successorOf(token: string): string {
    return this.#tagged(base64url(hmac(sha256, this.#secret, utf8ToBytes(token))));
  }

  /** What the database stores: hex SHA-256 of the token. */
  hash(token: string): string {
    return bytesToHex(sha256(utf8ToBytes(token)));
  }

  /** "junk" needs no database to be refused; "legacy" (untagged, from before tags) must be looked up. */
  check(token: string): RefreshTokenCheck {
    if (!token.startsWith(REFRESH_TOKEN_PREFIX)) return "junk";
    const rest = token.slice(REFRESH_TOKEN_PREFIX.length);
    if (!BASE64URL.test(rest)) return "junk";
    if (rest.length === BODY_LENGTH) return "legacy";
    if (rest.length !== BODY_LENGTH + TAG_LENGTH) return "junk";
    const body = rest.slice(0, BODY_LENGTH);
    const tag = rest.slice(BODY_LENGTH);
    const matches = (key: Uint8Array | undefined) => key !== undefined && constantTimeEqual(tag, tagOf(key, body));
    return matches(this.#secret) || matches(this.#previousSecret) ? "tagged" : "junk";
  }

  #tagged(body: string): string {
    return REFRESH_TOKEN_PREFIX + body + tagOf(this.#secret, body);
  }
}

function tagOf(key: Uint8Array, body: string): string {
  return base64url(hmac(sha256, key, utf8ToBytes(`sart-tag:${body}`)).subarray(0, 6));
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
