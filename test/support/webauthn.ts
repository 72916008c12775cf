// A software authenticator for HTTP tests: one ES256 (P-256) credential made
// with WebCrypto, producing real WebAuthn responses in their JSON forms
// (RegistrationResponseJSON with attestation "none", AuthenticationResponseJSON
// with a DER signature over authenticatorData || SHA-256(clientDataJSON)),
// written here from the WebAuthn Level 2 spec independently of the code
// under test. Knobs let a test forge what an attacker controls: the origin,
// the relying party, the user-verified flag, the counter, the user handle.
const enc = new TextEncoder();

export function b64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
}

// ---- A minimal CBOR encoder (RFC 8949): ints, byte and text strings, maps.
type Cbor = number | string | Uint8Array | Map<number | string, Cbor>;

function head(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 0xff];
  return [(major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function cbor(value: Cbor): number[] {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = enc.encode(value);
    return [...head(3, bytes.length), ...bytes];
  }
  if (value instanceof Uint8Array) return [...head(2, value.length), ...value];
  const out = head(5, value.size);
  for (const [k, v] of value) out.push(...cbor(k), ...cbor(v));
  return out;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const sha256 = async (bytes: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));

/** WebCrypto's raw r||s as the ASN.1 DER SEQUENCE of two INTEGERs that WebAuthn's ES256 signatures are. */
function derSignature(raw: Uint8Array): Uint8Array {
  const int = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v = bytes.slice(i);
    if (v[0]! & 0x80) v = concat(new Uint8Array([0]), v);
    return concat(new Uint8Array([0x02, v.length]), v);
  };
  const body = concat(int(raw.slice(0, 32)), int(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 };

export type Ceremony = { origin?: string; rpId?: string; userVerified?: boolean; backedUp?: boolean; type?: string };

export class SoftAuthenticator {
  readonly credentialId: Uint8Array;
  private counter: number;

  private constructor(
    private readonly keys: CryptoKeyPair,
    private readonly defaults: { origin: string; rpId: string },
    startCounter: number,
  ) {
    this.credentialId = crypto.getRandomValues(new Uint8Array(32));
    this.counter = startCounter;
  }

  static async create(defaults: { origin: string; rpId: string }, startCounter = 0): Promise<SoftAuthenticator> {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    return new SoftAuthenticator(keys, defaults, startCounter);
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** Sets the counter the next assertion carries (a clone replays an old one). */
  setCounter(counter: number): void {
    this.counter = counter;
  }

  /** The RegistrationResponseJSON for creation options (their challenge). */
  async register(options: { challenge: string }, ceremony: Ceremony = {}) {
    const jwk = (await crypto.subtle.exportKey("jwk", this.keys.publicKey)) as JsonWebKey;
    const cose = new Uint8Array(
      cbor(
        new Map<number, Cbor>([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, fromB64url(jwk.x!)],
          [-3, fromB64url(jwk.y!)],
        ]),
      ),
    );
    const attested = concat(
      new Uint8Array(16),
      new Uint8Array([this.credentialId.length >> 8, this.credentialId.length & 0xff]),
      this.credentialId,
      cose,
    );
    const authData = await this.authData(ceremony, FLAG.AT, attested);
    const clientData = this.clientData(options.challenge, ceremony, "webauthn.create");
    const attestationObject = new Uint8Array(
      cbor(
        new Map<string, Cbor>([
          ["fmt", "none"],
          ["attStmt", new Map()],
          ["authData", authData],
        ]),
      ),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientData),
        attestationObject: b64url(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /**
   * The AuthenticationResponseJSON for request options; `userHandle` names the user (the id the registration options
   * gave).
   */
  async assert(options: { challenge: string }, userHandle: string | null, ceremony: Ceremony = {}) {
    this.counter += 1;
    const authData = await this.authData(ceremony, 0);
    const clientData = this.clientData(options.challenge, ceremony, "webauthn.get");
    const signed = concat(authData, await sha256(clientData));
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.keys.privateKey, signed as BufferSource),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(derSignature(raw)),
        ...(userHandle === null ? {} : { userHandle: b64url(enc.encode(userHandle)) }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  private async authData(ceremony: Ceremony, extraFlags: number, attested?: Uint8Array): Promise<Uint8Array> {
    const rpIdHash = await sha256(enc.encode(ceremony.rpId ?? this.defaults.rpId));
    let flags = FLAG.UP | extraFlags;
    if (ceremony.userVerified ?? true) flags |= FLAG.UV;
    if (ceremony.backedUp) flags |= FLAG.BE | FLAG.BS;
    const count = new Uint8Array([
      (this.counter >>> 24) & 0xff,
      (this.counter >>> 16) & 0xff,
      (this.counter >>> 8) & 0xff,
      this.counter & 0xff,
    ]);
    return concat(rpIdHash, new Uint8Array([flags]), count, attested ?? new Uint8Array());
  }

  private clientData(challenge: string, ceremony: Ceremony, type: string): Uint8Array {
    return enc.encode(
      JSON.stringify({
        type: ceremony.type ?? type,
        challenge,
        origin: ceremony.origin ?? this.defaults.origin,
        crossOrigin: false,
      }),
    );
  }
}
