// Refresh tokens as values: minting, the deterministic successor, the hash
// that is all the database holds, and a tag check that refuses junk before any
// I/O (after Supabase's v2 refresh tokens), so the session id a token carries
// can be trusted before any lookup. Tags under REFRESH_TOKEN_PREVIOUS_SECRET
// still pass; tokens minted before the tag existed are looked up until they
// rotate. Format: `sart_`, the session id, 43 characters, an 8-character tag.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { assertSecrets, base64url, constantTimeEqual, fromBase64url, sha256Hex } from "../../core/encoding";

const REFRESH_TOKEN_PREFIX = "sart_";
/** base64url of a session id's 16 bytes. */
const SESSION_LENGTH = 22;
/** base64url of 32 bytes. */
const SECRET_LENGTH = 43;
/** base64url of 6 bytes: 48 bits, so a guessed tag passes once in 2^48. */
const TAG_LENGTH = 8;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UUID_HEX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type RefreshTokenCheck =
  /** Ours, with the session it belongs to (not yet known to be live). */
  | { kind: "tagged"; sessionId: string }
  /** Untagged, from before tags: only the database can tell. */
  | { kind: "legacy" }
  /** Not a token of this service: refuse without I/O. */
  | { kind: "junk" };

export class RefreshTokenCodec {
  readonly #secret: Uint8Array;
  readonly #previousSecret: Uint8Array | undefined;

  constructor(secret: string, previousSecret?: string) {
    assertSecrets("RefreshTokenCodec", secret, previousSecret);
    this.#secret = utf8ToBytes(secret);
    this.#previousSecret = previousSecret === undefined ? undefined : utf8ToBytes(previousSecret);
  }

  /** A new token of the session: 256 bits from the CSPRNG, tagged. */
  mint(sessionId: string): string {
    return this.#tagged(sessionId, base64url(crypto.getRandomValues(new Uint8Array(32))));
  }

  /**
   * The successor of T in its session: the same session id, then
   * base64url(HMAC-SHA256(secret, T)), tagged. It can be recomputed from T,
   * so racing refreshes and retries get the same successor, and the service
   * never stores a usable token.
   */
  successorOf(token: string, sessionId: string): string {
    return this.#tagged(sessionId, base64url(hmac(sha256, this.#secret, utf8ToBytes(token))));
  }

  /** What the database stores: hex SHA-256 of the token. */
  hash(token: string): string {
    return sha256Hex(token);
  }

  check(token: string): RefreshTokenCheck {
    if (!token.startsWith(REFRESH_TOKEN_PREFIX)) return JUNK;
    const rest = token.slice(REFRESH_TOKEN_PREFIX.length);
    if (!BASE64URL.test(rest)) return JUNK;
    if (rest.length === SECRET_LENGTH) return LEGACY;
    if (rest.length !== SESSION_LENGTH + SECRET_LENGTH + TAG_LENGTH) return JUNK;
    const tagged = rest.slice(0, -TAG_LENGTH);
    const tag = rest.slice(-TAG_LENGTH);
    const matches = (key: Uint8Array | undefined) => key !== undefined && constantTimeEqual(tag, tagOf(key, tagged));
    if (!matches(this.#secret) && !matches(this.#previousSecret)) return JUNK;
    const sessionId = uuidFromBase64url(rest.slice(0, SESSION_LENGTH));
    return sessionId === undefined ? JUNK : { kind: "tagged", sessionId };
  }

  #tagged(sessionId: string, secretPart: string): string {
    const id = sessionId.toLowerCase();
    if (!UUID_HEX.test(id)) throw new TypeError("RefreshTokenCodec: a session id must be a UUID");
    const tagged = base64url(hexToBytes(id.replace(/-/g, ""))) + secretPart;
    return REFRESH_TOKEN_PREFIX + tagged + tagOf(this.#secret, tagged);
  }
}

const JUNK: RefreshTokenCheck = { kind: "junk" };
const LEGACY: RefreshTokenCheck = { kind: "legacy" };

function tagOf(key: Uint8Array, tagged: string): string {
  return base64url(hmac(sha256, key, utf8ToBytes(`sart-tag:${tagged}`)).subarray(0, 6));
}

function uuidFromBase64url(text: string): string | undefined {
  try {
    const bytes = fromBase64url(text);
    if (bytes.length !== 16) return undefined;
    const hex = bytesToHex(bytes);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  } catch {
    return undefined;
  }
}
