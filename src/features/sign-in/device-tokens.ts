// Device tokens (OWASP Authentication Cheat Sheet, "Slow down online guessing
// attacks with device cookies"): a successful sign-in hands the client a
// token for that account on that device, and a later sign-in that presents
// it counts in that device's own throttle bucket, so a stranger's guesses,
// which fill the account's bucket, never lock the owner's device out.
//
// A token names the account by id (never by email) and the account's device
// generation (users.device_generation) when it was issued. A password reset,
// a password change and every bulk end of the account's sessions
// (sign-out-everywhere) start a new generation, and a deleted account's id
// never comes back, so a token collected before any of those stops counting:
// its sign-ins count in the account's bucket like no token, and a fresh token
// is answered. Without that, tokens gathered before a recovery would each
// open a fresh bucket of guesses afterwards.
//
// Format: `sadt_` + a nonce (22 base64url characters, 16 random bytes) + `.`
// + the user id (a lower-case UUID) + `.` + the generation (decimal) + `.` +
// a tag (43 base64url characters): HMAC-SHA256 over ("sadt-tag:v2:" + nonce
// + ":" + user id + ":" + generation) under a key derived from
// REFRESH_TOKEN_SECRET as HMAC-SHA256(secret, "sadt-key:v1"). The label is
// no refresh token and no refresh tag input, so no output of the
// refresh-token codec reveals it. Checking the tag is pure computation,
// before any I/O; forging a token, or moving one to another account or
// generation, needs the secret. Whether the id and generation are still the
// account's is decided in the sign-in's first statement, with the lookup of
// the email (LoginThrottleStore.admitAndFindUser). Tags made under
// REFRESH_TOKEN_PREVIOUS_SECRET still pass; such a token is handed back
// re-tagged under the current secret, with the same nonce (so the same
// bucket).
//
// A device token is a credential-like secret: it is never stored, logged or
// written to an audit row; the throttle table holds only a hash of its nonce.
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
