// Device tokens (OWASP's device cookies): a sign-in that presents the token a
// successful one answered counts in that device's own throttle bucket, so a
// stranger's guesses never lock the owner's device out. A token names the
// account by id and its device generation, so a reset, a password change or
// sign-out-everywhere ends it. The tag is checked before any I/O; whether id
// and generation are still the account's is decided with the email lookup.
// Never stored, logged or audited: the throttle table holds a hash of its
// nonce. The format and its key: docs/throttling.md.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { assertSecrets, base64url, constantTimeEqual, sha256Hex } from "../../core/encoding";

const PREFIX = "sadt_";
const KEY_LABEL = "sadt-key:v1";
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
/** nonce (base64url of 16 bytes) . user id . generation (decimal, no leading zeros) . tag (base64url of 32 bytes). */
const FORMAT = new RegExp(`^sadt_([A-Za-z0-9_-]{22})\\.(${UUID})\\.(0|[1-9][0-9]{0,9})\\.([A-Za-z0-9_-]{43})$`);
/** Longer than any token of ours: refused before the pattern runs. */
const MAX_LENGTH = 128;

/** A device token whose tag is ours: what it names, still to be matched against the account's row. */
export type CheckedDeviceToken = {
  /** Identifies the device; see deviceThrottleKey. */
  nonce: string;
  userId: string;
  generation: number;
  /** The token to hand back: the presented one, or it re-tagged under the current secret. */
  token: string;
};

export class DeviceTokenCodec {
  readonly #key: Uint8Array;
  readonly #previousKey: Uint8Array | undefined;

  constructor(secret: string, previousSecret?: string) {
    assertSecrets("DeviceTokenCodec", secret, previousSecret);
    this.#key = deriveKey(secret);
    this.#previousKey = previousSecret === undefined ? undefined : deriveKey(previousSecret);
  }

  /** A new device token for the account with this id, in its current device generation. */
  issue(userId: string, generation: number): string {
    return this.#tagged(base64url(crypto.getRandomValues(new Uint8Array(16))), userId.toLowerCase(), generation);
  }

  /** What the token names, if its tag is ours (current or previous secret); undefined for anything else. */
  check(presented: string): CheckedDeviceToken | undefined {
    if (presented.length > MAX_LENGTH || !presented.startsWith(PREFIX)) return undefined;
    const parts = FORMAT.exec(presented);
    if (!parts) return undefined;
    const [, nonce, userId, generationText, tag] = parts as unknown as [string, string, string, string, string];
    const generation = Number(generationText);
    if (constantTimeEqual(tag, tagOf(this.#key, nonce, userId, generation)))
      return { nonce, userId, generation, token: presented };
    if (this.#previousKey && constantTimeEqual(tag, tagOf(this.#previousKey, nonce, userId, generation))) {
      return { nonce, userId, generation, token: this.#tagged(nonce, userId, generation) };
    }
    return undefined;
  }

  #tagged(nonce: string, userId: string, generation: number): string {
    return `${PREFIX}${nonce}.${userId}.${generation}.${tagOf(this.#key, nonce, userId, generation)}`;
  }
}

/**
 * The throttle key of one device of an account: under the account's key, so
 * clearing an account clears its devices too, and holding only a hash of
 * the nonce, so the table holds nothing of the token itself.
 */
export function deviceThrottleKey(accountKey: string, nonce: string): string {
  return `device:${accountKey}:${sha256Hex(`sadt-nonce:${nonce}`)}`;
}

function deriveKey(secret: string): Uint8Array {
  return hmac(sha256, utf8ToBytes(secret), utf8ToBytes(KEY_LABEL));
}

/**
 * The nonce has a fixed length and no ":", nor has the UUID: (nonce, user id, generation) is read back one way only.
 */
function tagOf(key: Uint8Array, nonce: string, userId: string, generation: number): string {
  return base64url(hmac(sha256, key, utf8ToBytes(`sadt-tag:v2:${nonce}:${userId}:${generation}`)));
}
