// Device tokens (OWASP Authentication Cheat Sheet, "Slow down online guessing
// attacks with device cookies"): a successful sign-in hands the client a
// token for that account on that device, and a later sign-in that presents
// it counts in that device's own throttle bucket, so a stranger's guesses,
// which fill the account's bucket, never lock the owner's device out.
//
// Format: `sadt_` + a nonce (22 base64url characters, 16 random bytes) + a
// tag (43 base64url characters): HMAC-SHA256 over ("sadt-tag:" + nonce + ":"
// + the normalised email) under a key derived from REFRESH_TOKEN_SECRET as
// HMAC-SHA256(secret, "sadt-key:v1"). The label is no refresh token and no
// refresh tag input, so no output of the refresh-token codec reveals it, and
// a device token is never a refresh token's tag or successor. The token is
// stateless and opaque: checking it is pure computation, before any I/O,
// and forging one, or moving one to another account, needs the secret.
// Tags made under REFRESH_TOKEN_PREVIOUS_SECRET still pass; such a token is
// handed back re-tagged under the current secret, with the same nonce (so
// the same bucket).
//
// A device token is a credential-like secret: it is never stored, logged or
// written to an audit row; the throttle table holds only a hash of its nonce.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { assertSecrets, base64url, constantTimeEqual } from "./token-text";

const PREFIX = "sadt_";
/** base64url of 16 bytes. */
const NONCE_LENGTH = 22;
/** base64url of the whole 32-byte HMAC. */
const TAG_LENGTH = 43;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const KEY_LABEL = "sadt-key:v1";

/** A device token valid for the account it was checked against. */
export type ValidDeviceToken = {
  /** Identifies the device within the account; see deviceThrottleKey. */
  nonce: string;
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

  /** A new device token for the account with this normalised email. */
  issue(normalizedEmail: string): string {
    return this.#tagged(base64url(crypto.getRandomValues(new Uint8Array(16))), normalizedEmail);
  }

  /** The device the token names, if it is ours and was issued for this normalised email; undefined otherwise. */
  check(presented: string, normalizedEmail: string): ValidDeviceToken | undefined {
    if (presented.length !== PREFIX.length + NONCE_LENGTH + TAG_LENGTH || !presented.startsWith(PREFIX)) return undefined;
    const rest = presented.slice(PREFIX.length);
    if (!BASE64URL.test(rest)) return undefined;
    const nonce = rest.slice(0, NONCE_LENGTH);
    const tag = rest.slice(NONCE_LENGTH);
    if (constantTimeEqual(tag, tagOf(this.#key, nonce, normalizedEmail))) return { nonce, token: presented };
    if (this.#previousKey && constantTimeEqual(tag, tagOf(this.#previousKey, nonce, normalizedEmail))) {
      return { nonce, token: this.#tagged(nonce, normalizedEmail) };
    }
    return undefined;
  }

  #tagged(nonce: string, normalizedEmail: string): string {
    return PREFIX + nonce + tagOf(this.#key, nonce, normalizedEmail);
  }
}

/**
 * The throttle key of one device of an account: under the account's key, so
 * clearing an account clears its devices too, and holding only a hash of
 * the nonce, so the table holds nothing of the token itself.
 */
export function deviceThrottleKey(accountKey: string, nonce: string): string {
  return `device:${accountKey}:${bytesToHex(sha256(utf8ToBytes(`sadt-nonce:${nonce}`)))}`;
}

function deriveKey(secret: string): Uint8Array {
  return hmac(sha256, utf8ToBytes(secret), utf8ToBytes(KEY_LABEL));
}

/** The nonce has a fixed length and no ":", so (nonce, email) is read back one way only. */
function tagOf(key: Uint8Array, nonce: string, normalizedEmail: string): string {
  return base64url(hmac(sha256, key, utf8ToBytes(`sadt-tag:${nonce}:${normalizedEmail}`)));
}
