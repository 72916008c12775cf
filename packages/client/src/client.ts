// AuthClient: the session (session.ts) plus every operation of the account's
// lifecycle a user performs, one method per API operation, named after its
// operationId, typed with the request and response bodies generated from the
// service's OpenAPI document (api.ts). Each method answers the API's JSON as
// it is, and rejects with an AuthApiError carrying the problem details.
//
// Operations that need a session send the access token (refreshed once if
// refused, as `fetch` does); the others (the links' tokens, a forgotten
// password) need none. An action that needs a recent sign-in rejects with
// reauthentication_required: `reauthenticate` with one of its `methods`,
// then try again.

import type { EmailCodeRequest, HandoffAnswer, HandoffRequest, Identity, Providers, SignedInNew } from "./handtyped.js";
import { SessionClient } from "./session.js";
import { AuthApiError, type RequestBody, type ResponseBody } from "./types.js";

const id = (value: string) => encodeURIComponent(value);

export class AuthClient extends SessionClient {
  // Email proof, password reset, email change: the mailed links carry a `token`.

  /** POST /auth/email/verification: mails a new verification link to the caller's address (202; 429 past 5 an hour). */
  sendEmailVerification(): Promise<ResponseBody<"sendEmailVerification">> {
    return this.call("POST", "/auth/email/verification");
  }

  /** POST /auth/email/verify: the verification link's token; answers the user, now verified. No session needed. */
  verifyEmail(input: RequestBody<"verifyEmail">): Promise<ResponseBody<"verifyEmail">> {
    return this.post("/auth/email/verify", input);
  }

  /** POST /auth/password/forgot: 202 whatever the address; an account's address gets a reset link. */
  forgotPassword(input: RequestBody<"forgotPassword">): Promise<ResponseBody<"forgotPassword">> {
    return this.post("/auth/password/forgot", input);
  }

  /** POST /auth/password/reset: the reset link's token and the new password; ends every session of the user. */
  resetPassword(input: RequestBody<"resetPassword">): Promise<void> {
    return this.post("/auth/password/reset", input);
  }

  /** POST /auth/password: changes the password; every other session of the user ends, this one stays. */
  changePassword(input: RequestBody<"changePassword">): Promise<void> {
    return this.call("POST", "/auth/password", input);
  }

  /** POST /me/email: asks to move the account to `newEmail` (recent sign-in, a verified address); 202 always. */
  requestEmailChange(input: RequestBody<"requestEmailChange">): Promise<ResponseBody<"requestEmailChange">> {
    return this.call("POST", "/me/email", input);
  }

  /** POST /auth/email/change: the email-change link's token; answers the user with the new address. */
  confirmEmailChange(input: RequestBody<"confirmEmailChange">): Promise<ResponseBody<"confirmEmailChange">> {
    return this.post("/auth/email/change", input);
  }

  // Profile.

  /** GET /me: the signed-in user. */
  getMe(): Promise<ResponseBody<"getMe">> {
    return this.call("GET", "/me");
  }

  /** PATCH /me: changes the display name (null or empty clears it). */
  updateMe(input: RequestBody<"updateMe">): Promise<ResponseBody<"updateMe">> {
    return this.call("PATCH", "/me", input);
  }

  /** GET /me/activity: the caller's own security events, newest first; pass `nextCursor` on for more. */
  listMyActivity(query: { cursor?: string; limit?: number } = {}): Promise<ResponseBody<"listMyActivity">> {
    const params = new URLSearchParams();
    if (query.cursor !== undefined) params.set("cursor", query.cursor);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    const search = params.toString();
    return this.call("GET", search ? `/me/activity?${search}` : "/me/activity");
  }

  /**
   * DELETE /me: deletes the account (recent sign-in) with its sessions,
   * tokens and factors. The session ends here and in the tabs sharing it
   * (onSessionEnded("logged_out")).
   */
  async deleteMe(input: RequestBody<"deleteMe">): Promise<void> {
    const sessionId = await this.currentSessionId();
    await this.call<void>("DELETE", "/me", input);
    await this.ended(sessionId);
  }

  // Sessions.

  /** GET /sessions: the caller's live sessions; `current` marks this one. */
  listSessions(): Promise<ResponseBody<"listSessions">> {
    return this.call("GET", "/sessions");
  }

  /** DELETE /sessions/{id}: ends one of the caller's sessions; ending this client's own signs it out here too. */
  async revokeSession(sessionId: string): Promise<void> {
    const own = (await this.currentSessionId()) === sessionId;
    await this.call<void>("DELETE", `/sessions/${id(sessionId)}`);
    if (own) await this.ended(sessionId);
  }

  /** DELETE /sessions: ends every session of the caller but this one. */
  revokeOtherSessions(): Promise<void> {
    return this.call("DELETE", "/sessions");
  }

  // TOTP and recovery codes.

  /** POST /me/mfa/totp: starts (or restarts) enrolment (recent sign-in): the secret and its otpauth URI. */
  startTotpEnrolment(): Promise<ResponseBody<"startTotpEnrolment">> {
    return this.call("POST", "/me/mfa/totp");
  }

  /** GET /me/mfa/totp/qr: the pending enrolment's otpauth URI as an SVG QR code (recent sign-in). */
  pendingTotpQrCode(): Promise<ResponseBody<"pendingTotpQrCode">> {
    return this.call("GET", "/me/mfa/totp/qr");
  }

  /** POST /me/mfa/totp/confirm: a code from the app confirms the enrolment; answers the recovery codes, once. */
  confirmTotpEnrolment(input: RequestBody<"confirmTotpEnrolment">): Promise<ResponseBody<"confirmTotpEnrolment">> {
    return this.call("POST", "/me/mfa/totp/confirm", input);
  }

  /** DELETE /me/mfa/totp: removes TOTP and the recovery codes (recent sign-in). */
  removeTotp(): Promise<void> {
    return this.call("DELETE", "/me/mfa/totp");
  }

  /** POST /me/mfa/recovery-codes: new recovery codes (recent sign-in); the earlier ones stop working. */
  regenerateRecoveryCodes(): Promise<ResponseBody<"regenerateRecoveryCodes">> {
    return this.call("POST", "/me/mfa/recovery-codes");
  }

  // Passkeys: the options go to the browser's WebAuthn (or @simplewebauthn/browser), its answer comes back here.

  /** POST /me/passkeys/options: creation options for a new passkey (recent sign-in, a verified address). */
  passkeyRegistrationOptions(): Promise<ResponseBody<"passkeyRegistrationOptions">> {
    return this.call("POST", "/me/passkeys/options");
  }

  /** POST /me/passkeys: the browser's new credential for those options, and a name for it. */
  registerPasskey(input: RequestBody<"registerPasskey">): Promise<ResponseBody<"registerPasskey">> {
    return this.call("POST", "/me/passkeys", input);
  }

  /** GET /me/passkeys: the caller's passkeys. */
  listPasskeys(): Promise<ResponseBody<"listPasskeys">> {
    return this.call("GET", "/me/passkeys");
  }

  /** DELETE /me/passkeys/{id}: removes one of the caller's passkeys (recent sign-in). */
  removePasskey(passkeyId: string): Promise<void> {
    return this.call("DELETE", `/me/passkeys/${id(passkeyId)}`);
  }

  /** POST /auth/passkey/options: request options for a passkey sign-in (discoverable credentials without an email). */
  passkeySignInOptions(input: RequestBody<"passkeySignInOptions"> = {}): Promise<ResponseBody<"passkeySignInOptions">> {
    return this.post("/auth/passkey/options", input);
  }

  /** POST /auth/reauthenticate/options: request options listing the caller's passkeys, for `reauthenticate`. */
  reauthenticationPasskeyOptions(): Promise<ResponseBody<"reauthenticationPasskeyOptions">> {
    return this.call("POST", "/auth/reauthenticate/options");
  }

  // v3: providers, email codes, the hosted pages' handoff, linked identities. Hand-typed from the contract until
  // the service's routes are generated into api.ts (handtyped.ts).

  /** GET /auth/providers: the provider buttons to draw, and whether email codes are on. */
  getProviders(): Promise<Providers> {
    return this.getPublic("/auth/providers");
  }

  /** POST /auth/email/code: mails a 6-digit sign-in code (202 whatever the address); then `verifyEmailCode`. */
  sendEmailCode(input: EmailCodeRequest): Promise<Record<string, never>> {
    return this.post("/auth/email/code", input);
  }

  /**
   * POST /auth/handoff: the signed-in session (the hosted pages' own) turned into a one-time code for the app that
   * sent the browser to /sign-in; answers where to send the browser (`redirectTo?code=...&state=...`).
   */
  handoff(input: HandoffRequest): Promise<HandoffAnswer> {
    return this.call("POST", "/auth/handoff", input);
  }

  /** GET /me/identities: the provider identities linked to the caller's account. */
  listIdentities(): Promise<{ identities: Identity[] }> {
    return this.call("GET", "/me/identities");
  }

  /** DELETE /me/identities/{id}: unlinks one (recent sign-in; 409 last_credential when it is the only way in). */
  unlinkIdentity(identityId: string): Promise<void> {
    return this.call("DELETE", `/me/identities/${id(identityId)}`);
  }

  /** POST /auth/reauthenticate/email: mails a code that re-authenticates an account without a password. */
  sendReauthenticationEmail(): Promise<void> {
    return this.call("POST", "/auth/reauthenticate/email");
  }

  /**
   * The app's half of the hosted sign-in page: sends the browser to the service's /sign-in with a PKCE challenge
   * and a fresh `state`, keeping the verifier (and `returnTo`, the app's own place to come back to) in
   * sessionStorage under that state. `redirectTo` must be one of the service's REDIRECT_URLS exactly; the page
   * comes back there with `?code=...&state=...`, which `handleRedirect` spends.
   */
  async redirectToSignIn(options: {
    redirectTo: string;
    returnTo?: string;
    storage?: KeyValueStorage;
    /** Where the browser goes: location.assign by default. */
    navigate?: (url: string) => void;
  }): Promise<void> {
    const storage = options.storage ?? browser().sessionStorage;
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const challenge = base64url(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
    );
    storage.setItem(`${PKCE_KEY}${state}`, JSON.stringify({ verifier, returnTo: options.returnTo ?? null }));
    const url = new URL(`${this.serviceUrl}/sign-in`);
    url.searchParams.set("redirect_to", options.redirectTo);
    url.searchParams.set("code_challenge", challenge);
    url.searchParams.set("code_challenge_method", "S256");
    url.searchParams.set("state", state);
    (options.navigate ?? ((target: string) => browser().location.assign(target)))(url.toString());
  }

  /**
   * On the page `redirectToSignIn` named: reads `code` and `state` (or `error`) from the address, removes them
   * from the address bar, and exchanges the code with the verifier kept under that state (POST /auth/exchange).
   * Answers null when the address carries neither; rejects with an AuthApiError for an `error` the service sent
   * back, an unknown state (invalid_one_time_token: nothing is exchanged), or the exchange's refusal
   * (mfa_required included: finish with completeMfa or loginWithPasskey).
   */
  async handleRedirect(
    options: { url?: string; storage?: KeyValueStorage } = {},
  ): Promise<(SignedInNew & { returnTo: string | null }) | null> {
    const storage = options.storage ?? browser().sessionStorage;
    const url = new URL(options.url ?? browser().location.href);
    const code = url.searchParams.get("code");
    const state = url.searchParams.get("state") ?? "";
    const error = url.searchParams.get("error");
    if (!code && !error) return null;
    for (const name of ["code", "state", "error", "error_description"]) url.searchParams.delete(name);
    if (!options.url) browser().history.replaceState(null, "", url.toString());
    const kept = storage.getItem(`${PKCE_KEY}${state}`);
    storage.removeItem(`${PKCE_KEY}${state}`);
    if (error) {
      const title = url.searchParams.get("error_description") || error;
      throw new AuthApiError({ type: "about:blank", title, status: 400, code: error } as never);
    }
    if (!kept) {
      throw new AuthApiError({
        type: "about:blank",
        title: "This sign-in was not started here, or was already used",
        status: 400,
        code: "invalid_one_time_token",
      });
    }
    const { verifier, returnTo } = JSON.parse(kept) as { verifier: string; returnTo: string | null };
    const signedIn = await this.exchangeCode({ code: code!, codeVerifier: verifier });
    return { ...signedIn, returnTo };
  }
}

const PKCE_KEY = "secureauth:pkce:";

/** Where the PKCE verifier waits for the browser's return: sessionStorage by default. */
export type KeyValueStorage = {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
};

/** The browser's globals the redirect helpers use (the package is typed for Workers and Node too). */
function browser(): {
  sessionStorage: KeyValueStorage;
  location: { href: string; assign(url: string): void };
  history: { replaceState(data: unknown, unused: string, url: string): void };
} {
  return globalThis as never;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
