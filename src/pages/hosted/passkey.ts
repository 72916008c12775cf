// The browser's passkey ceremonies around the service's options (JSON in,
// JSON out; ./webauthn.ts converts): a sign-in or re-authentication
// assertion, the autofill (conditional) one, and a new passkey.
import type { PasskeyCredentialJson, PasskeyOptionsJson } from "../../../packages/client/src/index";
import { creationOptions, credentialJSON, requestOptions } from "./webauthn";

const unavailable = () => Object.assign(new Error("passkeys unavailable"), { name: "NotSupportedError" });

/** Options from the service, then the browser's modal passkey prompt: the assertion as JSON. */
export async function passkeyAssertion(options: () => Promise<PasskeyOptionsJson>): Promise<PasskeyCredentialJson> {
  if (!window.PublicKeyCredential || !navigator.credentials) throw unavailable();
  const credential = await navigator.credentials.get({ publicKey: requestOptions(await options()) });
  if (!credential) throw Object.assign(new Error("no passkey"), { name: "NotAllowedError" });
  return credentialJSON(credential as PublicKeyCredential);
}

/**
 * Passkeys offered in the email field's autofill, where the browser has conditional mediation: resolves with the
 * assertion the user picks, or null when the browser cannot (then the button is the way).
 */
export async function conditionalPasskey(
  options: () => Promise<PasskeyOptionsJson>,
  signal: AbortSignal,
): Promise<PasskeyCredentialJson | null> {
  const available = (
    window.PublicKeyCredential as unknown as { isConditionalMediationAvailable?: () => Promise<boolean> } | undefined
  )?.isConditionalMediationAvailable;
  if (typeof available !== "function" || !(await available())) return null;
  const publicKey = requestOptions(await options());
  const credential = await navigator.credentials.get({
    mediation: "conditional" as CredentialMediationRequirement,
    publicKey,
    signal,
  });
  return credential ? credentialJSON(credential as PublicKeyCredential) : null;
}

/** A new passkey for the service's creation options: the credential as JSON. */
export async function createPasskey(options: Record<string, unknown>): Promise<PasskeyCredentialJson> {
  if (!window.PublicKeyCredential || !navigator.credentials) throw unavailable();
  const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
  if (!credential) throw Object.assign(new Error("no passkey"), { name: "NotAllowedError" });
  return credentialJSON(credential as PublicKeyCredential);
}
