// The pieces of a provider flow that need no I/O: the exact redirect-URL
// rule, the app's PKCE (S256 only), the secrets a flow mints, the binding
// cookie's name, the callback URL, and the return to the app.
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { serviceOrigin } from "../../core/config/providers";
import { ConfigError, ValidationFailed } from "../../core/errors";
import { base64url } from "../../core/encoding";

/** A flow between the service and the provider lives this long. */
export const FLOW_TTL_SECONDS = 600;
/** The one-time code the app exchanges lives this long. */
export const CODE_TTL_SECONDS = 60;
/** The app's `state`, handed back unchanged: at most this many characters. */
export const MAX_APP_STATE = 512;

/** A base64url PKCE value of 43 characters: the S256 of a verifier, or a 32-byte verifier. */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636's verifier: 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** The binding cookie of flow `flowId`: one per flow, so two tabs signing in at once both work. */
export const bindingCookieName = (flowId: string) => `__Host-sa_oauth_${flowId}`;

/** `bytes` random bytes as base64url: states, verifiers, nonces, codes, flow ids. */
export function randomSecret(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 PKCE challenge of a verifier. */
export function pkceChallenge(verifier: string): string {
  return base64url(sha256(utf8ToBytes(verifier)));
}

/** Whether `verifier` is a well-formed verifier whose S256 is `challenge`. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  return VERIFIER.test(verifier) && pkceChallenge(verifier) === challenge;
}

/** The app's code_challenge: S256 only; else validation_failed on `field`. */
export function checkCodeChallenge(challenge: string, method: string | undefined, field: string): string {
  if (method !== undefined && method !== "S256")
    throw new ValidationFailed([{ path: `${field}_method`, message: "Only S256 is supported" }]);
  if (!CHALLENGE.test(challenge))
    throw new ValidationFailed([{ path: field, message: "Must be the base64url S256 of a PKCE verifier" }]);
  return challenge;
}

/**
 * `url` if it is exactly one of REDIRECT_URLS (scheme, host, port and path,
 * no query or fragment); else validation_failed on `field`, and the browser
 * is sent nowhere: a code landing on any other page of an origin can be stolen.
 */
export function exactRedirect(url: string, allowed: readonly string[], field: string): string {
  const parsed = URL.parse(url);
  // Compared as written, or as a bare origin without the "/" its parsed form gains.
  const written = parsed !== null && (parsed.href === url || `${url}/` === parsed.href);
  if (written && !url.includes("?") && !url.includes("#") && allowed.includes(parsed.href)) return parsed.href;
  throw new ValidationFailed([{ path: field, message: "Must be one of the redirect URLs the service allows" }]);
}

/** The app's state: at most MAX_APP_STATE characters. */
export function checkAppState(state: string | undefined, field: string): string | null {
  if (state === undefined || state === "") return null;
  if (state.length > MAX_APP_STATE)
    throw new ValidationFailed([{ path: field, message: `At most ${MAX_APP_STATE} characters` }]);
  return state;
}

/**
 * The callback URL registered with providers: PUBLIC_URL's, or on a
 * loopback host the request's own origin.
 */
export function callbackUrl(publicUrl: string | undefined, requestUrl: string, provider: string): string {
  const base = serviceOrigin(publicUrl, requestUrl);
  if (!base) throw new ConfigError("PUBLIC_URL", "is not set, and the request's host is not a loopback host");
  return `${base}/auth/oauth/${provider}/callback`;
}

/** The app's return URL with these parameters, and its state, appended (the URL has no query of its own). */
export function returnTo(redirectTo: string, params: Record<string, string>, appState: string | null): string {
  const url = new URL(redirectTo);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  if (appState !== null) url.searchParams.set("state", appState);
  return url.href;
}
