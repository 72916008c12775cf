// The secrets of an email sign-in (docs/email-sign-in.md): a 6-digit code,
// uniform over 000000-999999 from the CSPRNG, for typing, and a magic link's
// token (256 bits, base64url) for clicking, both living 10 minutes and spent
// once. Neither is stored: the token as its SHA-256 (a 256-bit secret needs
// no key), the code as an HMAC keyed by a secret the database does not hold
// and bound to its row, since a million codes are hashed in a blink: a copy
// of the table alone does not give the live codes away.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { assertSecrets, base64url, constantTimeEqual, sha256Hex } from "../../core/encoding";

/** Seconds a code and its link live. */
export const EMAIL_CODE_TTL_SECONDS = 10 * 60;
/** Wrong codes a code survives: the fifth spends it. */
export const MAX_EMAIL_CODE_FAILURES = 5;
/** Codes an address may be sent per hour, whoever asks, counted before anything is queued. */
export const MAX_EMAIL_CODES_PER_HOUR = 5;
/** The service's own page a magic link opens unless the request named a REDIRECT_URLS entry. */
export const MAGIC_LINK_PATH = "/magic-link";

const KEY_LABEL = "saec-key:v1";

/** A code and a link token, minted for row `id`. */
export type MintedEmailCode = { code: string; token: string; codeHash: string; tokenHash: string };

/** Six decimal digits, each value equally likely (rejection sampling: no modulo bias). */
export function newEmailCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 10^6 below 2^32
  for (;;) {
    const [value] = crypto.getRandomValues(new Uint32Array(1));
    if (value! < limit) return String(value! % 1_000_000).padStart(6, "0");
  }
}

/** Any presented token hashes; one that is not ours matches no row. */
export function hashEmailLinkToken(token: string): string {
  return sha256Hex(`email-link:${token}`);
}

/** The link the mail carries: `redirectTo` (an exact REDIRECT_URLS entry) or APP_URL's page, with `?token=`. */
export function magicLinkFor(appUrl: string, redirectTo: string | null, token: string): string {
  const url = new URL(redirectTo ?? appUrl + MAGIC_LINK_PATH);
  url.searchParams.set("token", token);
  return url.toString();
}

/**
 * Keyed hashes of codes, under REFRESH_TOKEN_SECRET (and its previous value
 * while it is being rotated, so a code mailed just before still works).
 */
export class EmailCodeHasher {
  readonly #keys: Uint8Array[];

  constructor(secret: string, previousSecret?: string) {
    assertSecrets("EmailCodeHasher", secret, previousSecret);
    this.#keys = [secret, previousSecret].filter((s) => s !== undefined).map((s) => deriveKey(s));
  }

  /** A new code and link token for row `id`, with their hashes. */
  mint(id: string): MintedEmailCode {
    const code = newEmailCode();
    const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    return { code, token, codeHash: this.#hash(this.#keys[0]!, id, code), tokenHash: hashEmailLinkToken(token) };
  }

  /**
   * Whether `code` is the one hashed into `stored` for row `id`: every key is
   * tried and compared without an early exit, so the time says nothing.
   */
  matches(id: string, code: string, stored: string): boolean {
    let match = false;
    for (const key of this.#keys) match = constantTimeEqual(this.#hash(key, id, code), stored) || match;
    return match;
  }

  #hash(key: Uint8Array, id: string, code: string): string {
    return bytesToHex(hmac(sha256, key, utf8ToBytes(`${id}:${code}`)));
  }
}

function deriveKey(secret: string): Uint8Array {
  return hmac(sha256, utf8ToBytes(secret), utf8ToBytes(KEY_LABEL));
}
