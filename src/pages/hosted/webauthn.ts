// WebAuthn's JSON form (what the service sends and takes) <-> the browser's
// binary form, without a library: the browser's own parse*FromJSON and
// toJSON where it has them, by hand where it does not.
import type { PasskeyCredentialJson, PasskeyOptionsJson } from "../../../packages/client/src/index";

type Json = Record<string, unknown>;
type Descriptor = { id: string } & Json;

function fromBase64url(text: string): ArrayBuffer {
  let base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  while (base64.length % 4) base64 += "=";
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function toBase64url(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const withIds = (list: Descriptor[] | undefined) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

/** The browser's parse*FromJSON, where it has them (not in every lib.dom yet). */
type ParsingCredential = {
  parseCreationOptionsFromJSON?: (json: unknown) => PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON?: (json: unknown) => PublicKeyCredentialRequestOptions;
};
const parsing = () => PublicKeyCredential as unknown as ParsingCredential;

export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const parse = parsing().parseCreationOptionsFromJSON;
  if (typeof parse === "function") return parse(json);
  const user = json.user as Descriptor;
  return {
    ...json,
    challenge: fromBase64url(json.challenge as string),
    user: { ...user, id: fromBase64url(user.id) },
    excludeCredentials: withIds(json.excludeCredentials as Descriptor[] | undefined),
  } as unknown as PublicKeyCredentialCreationOptions;
}

export function requestOptions(json: PasskeyOptionsJson | Json): PublicKeyCredentialRequestOptions {
  const parse = parsing().parseRequestOptionsFromJSON;
  if (typeof parse === "function") return parse(json);
  const options = json as Json;
  return {
    ...options,
    challenge: fromBase64url(options.challenge as string),
    allowCredentials: withIds(options.allowCredentials as Descriptor[] | undefined),
  } as unknown as PublicKeyCredentialRequestOptions;
}

type AttestationResponse = AuthenticatorAttestationResponse & {
  getTransports?: () => string[];
  getAuthenticatorData?: () => ArrayBuffer;
  getPublicKeyAlgorithm?: () => number;
  getPublicKey?: () => ArrayBuffer | null;
};

export function credentialJSON(credential: PublicKeyCredential): PasskeyCredentialJson {
  const withToJSON = credential as PublicKeyCredential & { toJSON?: () => unknown };
  if (typeof withToJSON.toJSON === "function") {
    try {
      return withToJSON.toJSON() as unknown as PasskeyCredentialJson;
    } catch {
      /* by hand below */
    }
  }
  const r = credential.response;
  const response: Json = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if ("attestationObject" in r) {
    const a = r as AttestationResponse;
    response.attestationObject = toBase64url(a.attestationObject);
    response.transports = typeof a.getTransports === "function" ? a.getTransports() : [];
    if (typeof a.getAuthenticatorData === "function")
      response.authenticatorData = toBase64url(a.getAuthenticatorData());
    if (typeof a.getPublicKeyAlgorithm === "function") response.publicKeyAlgorithm = a.getPublicKeyAlgorithm();
    const publicKey = typeof a.getPublicKey === "function" ? a.getPublicKey() : null;
    if (publicKey) response.publicKey = toBase64url(publicKey);
  } else {
    const s = r as AuthenticatorAssertionResponse;
    response.authenticatorData = toBase64url(s.authenticatorData);
    response.signature = toBase64url(s.signature);
    if (s.userHandle) response.userHandle = toBase64url(s.userHandle);
  }
  const json: Json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  if (credential.authenticatorAttachment) json.authenticatorAttachment = credential.authenticatorAttachment;
  return json as unknown as PasskeyCredentialJson;
}
