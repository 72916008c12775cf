// TOTP secrets at rest: AES-256-GCM through WebCrypto under
// MFA_ENCRYPTION_KEY, a fresh 96-bit IV per secret, the user id as
// additional data, so a ciphertext copied to another user's row does not
// decrypt. Stored as `v1.<iv>.<ciphertext>` in base64url; the version names
// the scheme so the key or the cipher can change later.
import { decodeBase64urlIgnorePadding } from "@oslojs/encoding";
import { base64url } from "../../core/encoding";

const VERSION = "v1";

export class SecretBox {
  private readonly key: Promise<CryptoKey>;

  constructor(rawKey: Uint8Array) {
    if (rawKey.length !== 32) throw new RangeError("SecretBox needs a 32-byte key");
    this.key = crypto.subtle.importKey("raw", rawKey as BufferSource, "AES-GCM", false, ["encrypt", "decrypt"]);
  }

  async seal(plaintext: Uint8Array, userId: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(userId) },
      await this.key,
      plaintext as BufferSource,
    );
    return `${VERSION}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
  }

  /** Rejects when the ciphertext was not sealed under this key for this user. */
  async open(sealed: string, userId: string): Promise<Uint8Array> {
    const [version, iv, body] = sealed.split(".");
    if (version !== VERSION || !iv || !body) throw new Error("not a sealed secret of this service");
    const opened = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: decodeBase64urlIgnorePadding(iv) as BufferSource,
        additionalData: new TextEncoder().encode(userId),
      },
      await this.key,
      decodeBase64urlIgnorePadding(body) as BufferSource,
    );
    return new Uint8Array(opened);
  }
}
