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

import { beginFlow, memoryFlowStorage, takeFlow, type FlowStorage } from "./flows.js";
import { SessionClient } from "./session.js";
import { AuthApiError, type AuthClientOptions, type ErrorCode, type RequestBody, type ResponseBody } from "./types.js";

/** What `handleRedirect` did with a return from a provider. */
export type RedirectResult =
  | { kind: "signed_in"; result: ResponseBody<"exchangeSignInCode"> }
  | { kind: "linked"; identity: ResponseBody<"completeIdentityLink">["identity"] };

const id = (value: string) => encodeURIComponent(value);

/** `path` with the query's defined values. */
function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

export class AuthClient extends SessionClient {
  private readonly flows: FlowStorage;

  constructor(options: AuthClientOptions) {
    super(options);
    this.flows = options.flowStorage ?? memoryFlowStorage();
  }

  // Sign-in through a provider (Google, GitHub, Apple, Microsoft, your OpenID providers).

  /** GET /auth/providers: the providers configured, for a sign-in page's buttons, and whether email sign-in is on. */
  listSignInProviders(): Promise<ResponseBody<"listSignInProviders">> {
    return this.get("/auth/providers");
  }

  /**
   * Starts a sign-in through `provider`: makes the PKCE verifier and a
   * state, keeps them in `flowStorage` (in a browser, pass sessionStorage:
   * the page is left for the provider), and answers the URL to send the
   * browser to. `redirectTo` must be one of the service's REDIRECT_URLS
   * exactly; call `handleRedirect()` on that page.
   */
  async signInWithProvider(provider: string, options: { redirectTo: string }): Promise<string> {
    const { state, challenge } = await beginFlow(this.flows, "sign_in");
    const url = new URL(`${this.baseUrl}/auth/oauth/${id(provider)}`);
    url.searchParams.set("redirect_to", options.redirectTo);
    url.searchParams.set("code_challenge", challenge);
    url.searchParams.set("code_challenge_method", "S256");
    url.searchParams.set("state", state);
    return url.href;
  }

  /**
   * POST /me/identities/{provider}: starts linking a provider to the
   * signed-in account (recent sign-in, a verified address); answers the URL
   * to send the browser to. `handleRedirect()` on `redirectTo` completes it.
   */
  async linkProvider(provider: string, options: { redirectTo: string }): Promise<string> {
    const { state, challenge } = await beginFlow(this.flows, "link");
    const { url } = await this.call<ResponseBody<"startIdentityLink">>("POST", `/me/identities/${id(provider)}`, {
      redirectTo: options.redirectTo,
      codeChallenge: challenge,
      state,
    });
    return url;
  }

  /**
   * On the page a provider flow returns to: exchanges the code of a sign-in
   * (signing in) or completes a link, with the verifier this tab kept for
   * the returned state. Answers null when the URL carries no return of a
   * flow this tab started; rejects with an AuthApiError for `?error=`
   * (identity_provider_error, account_link_required, invalid_credentials)
   * and as exchangeSignInCode does (mfa_required for a second factor).
   */
  async handleRedirect(url: string | URL): Promise<RedirectResult | null> {
    const params = new URL(url).searchParams;
    const flow = takeFlow(this.flows, params.get("state"));
    if (!flow) return null;
    const error = params.get("error");
    if (error) {
      const detail = params.get("error_description") ?? error;
      throw new AuthApiError({
        // The service's code, as its redirect carried it; no problem document came with it.
        type: "about:blank",
        title: detail,
        status: 400,
        code: error as ErrorCode,
        detail,
      });
    }
    const code = params.get("code");
    if (!code) return null;
    if (flow.kind === "link") {
      const { identity } = await this.completeIdentityLink({ code, codeVerifier: flow.verifier });
      return { kind: "linked", identity };
    }
    return { kind: "signed_in", result: await this.exchangeSignInCode({ code, codeVerifier: flow.verifier }) };
  }

  /** POST /me/identities/complete: links the identity a link flow proved (what handleRedirect calls). */
  completeIdentityLink(input: RequestBody<"completeIdentityLink">): Promise<ResponseBody<"completeIdentityLink">> {
    return this.call("POST", "/me/identities/complete", input);
  }

  /** GET /me/identities: the providers linked to the caller's account. */
  listIdentities(): Promise<ResponseBody<"listIdentities">> {
    return this.call("GET", "/me/identities");
  }

  /** DELETE /me/identities/{id}: unlinks one (recent sign-in); 409 last_credential when it is the only way in. */
  unlinkIdentity(identityId: string): Promise<void> {
    return this.call("DELETE", `/me/identities/${id(identityId)}`);
  }
  // Email proof, password reset, email change: the mailed links carry a `token`.

  /** POST /auth/email/verification: mails a new verification link to the caller's address (202; 429 past 5 an hour). */
  sendEmailVerification(): Promise<ResponseBody<"sendEmailVerification">> {
    return this.call("POST", "/auth/email/verification");
  }

  /** POST /auth/email/verify: the verification link's token; answers the user, now verified. No session needed. */
  verifyEmail(input: RequestBody<"verifyEmail">): Promise<ResponseBody<"verifyEmail">> {
    return this.post("/auth/email/verify", input);
  }

  /**
   * POST /auth/email/code: mails a 6-digit sign-in code and a magic link to the address (202 whatever the address);
   * sign in with verifyEmailCode. `redirectTo`, one of the service's REDIRECT_URLS exactly, is where the link opens.
   */
  requestEmailCode(input: RequestBody<"requestEmailCode">): Promise<ResponseBody<"requestEmailCode">> {
    return this.post("/auth/email/code", input);
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
  async deleteMe(input: RequestBody<"deleteMe"> = {}): Promise<void> {
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

  /**
   * POST /auth/reauthenticate/email: for an account without a password (`hasPassword` false), mails a 6-digit code
   * to its verified address for this session; send it to `reauthenticate` as `{emailCode}`.
   */
  requestReauthenticationCode(): Promise<ResponseBody<"reauthenticationEmailCode">> {
    return this.call("POST", "/auth/reauthenticate/email");
  }

  /** POST /auth/reauthenticate/options: request options listing the caller's passkeys, for `reauthenticate`. */
  reauthenticationPasskeyOptions(): Promise<ResponseBody<"reauthenticationPasskeyOptions">> {
    return this.call("POST", "/auth/reauthenticate/options");
  }

  // Organizations: the caller's, their members and roles, invitations, their audit log. A non-member gets 404 for
  // any organization, as for one that does not exist; a member lacking the permission a call needs, 403.

  /** POST /orgs: creates an organization (the caller is its owner; a verified email is needed). */
  createOrganization(input: RequestBody<"createOrganization">): Promise<ResponseBody<"createOrganization">> {
    return this.call("POST", "/orgs", input);
  }

  /** GET /orgs: the caller's organizations, with the caller's roles in each. */
  listOrganizations(): Promise<ResponseBody<"listOrganizations">> {
    return this.call("GET", "/orgs");
  }

  /** GET /orgs/{id}: an organization the caller belongs to. */
  getOrganization(orgId: string): Promise<ResponseBody<"getOrganization">> {
    return this.call("GET", `/orgs/${id(orgId)}`);
  }

  /** PATCH /orgs/{id}: renames or re-slugs it (org:update). */
  updateOrganization(
    orgId: string,
    input: RequestBody<"updateOrganization">,
  ): Promise<ResponseBody<"updateOrganization">> {
    return this.call("PATCH", `/orgs/${id(orgId)}`, input);
  }

  /** DELETE /orgs/{id}: deletes it (org:delete, recent sign-in). */
  deleteOrganization(orgId: string): Promise<void> {
    return this.call("DELETE", `/orgs/${id(orgId)}`);
  }

  /** GET /orgs/{id}/members: a page of members (members:read), oldest first; pass `nextCursor` on for more. */
  listOrganizationMembers(
    orgId: string,
    query: { cursor?: string; limit?: number } = {},
  ): Promise<ResponseBody<"listOrganizationMembers">> {
    return this.call("GET", withQuery(`/orgs/${id(orgId)}/members`, query));
  }

  /** PUT /orgs/{id}/members/{userId}/roles: replaces a member's roles (members:roles; only roles you could grant). */
  setOrganizationMemberRoles(
    orgId: string,
    userId: string,
    input: RequestBody<"setOrganizationMemberRoles">,
  ): Promise<ResponseBody<"setOrganizationMemberRoles">> {
    return this.call("PUT", `/orgs/${id(orgId)}/members/${id(userId)}/roles`, input);
  }

  /** DELETE /orgs/{id}/members/{userId}: removes a member (members:remove); the caller's own id leaves. */
  removeOrganizationMember(orgId: string, userId: string): Promise<void> {
    return this.call("DELETE", `/orgs/${id(orgId)}/members/${id(userId)}`);
  }

  /** PUT /orgs/{id}/roles/{name}: defines or redefines a custom role (owners). */
  defineOrganizationRole(
    orgId: string,
    name: string,
    input: RequestBody<"defineOrganizationRole">,
  ): Promise<ResponseBody<"defineOrganizationRole">> {
    return this.call("PUT", `/orgs/${id(orgId)}/roles/${id(name)}`, input);
  }

  /** DELETE /orgs/{id}/roles/{name}: deletes a custom role nobody holds (owners). */
  deleteOrganizationRole(orgId: string, name: string): Promise<void> {
    return this.call("DELETE", `/orgs/${id(orgId)}/roles/${id(name)}`);
  }

  /** POST /orgs/{id}/invitations: invites an address with roles (members:invite); the link goes by mail. */
  createInvitation(orgId: string, input: RequestBody<"createInvitation">): Promise<ResponseBody<"createInvitation">> {
    return this.call("POST", `/orgs/${id(orgId)}/invitations`, input);
  }

  /** GET /orgs/{id}/invitations: the pending invitations (members:invite). */
  listInvitations(orgId: string): Promise<ResponseBody<"listInvitations">> {
    return this.call("GET", `/orgs/${id(orgId)}/invitations`);
  }

  /** DELETE /orgs/{id}/invitations/{invitationId}: revokes a pending invitation; its link stops working. */
  revokeInvitation(orgId: string, invitationId: string): Promise<void> {
    return this.call("DELETE", `/orgs/${id(orgId)}/invitations/${id(invitationId)}`);
  }

  /** POST /invitations/accept: joins with the token of an invitation's link (the invited, verified address). */
  acceptInvitation(input: RequestBody<"acceptInvitation">): Promise<ResponseBody<"acceptInvitation">> {
    return this.call("POST", "/invitations/accept", input);
  }

  /** GET /orgs/{id}/audit-logs: the organization's events, newest first (org:audit:read). */
  listOrganizationAuditLogs(
    orgId: string,
    query: { event?: string; cursor?: string; limit?: number } = {},
  ): Promise<ResponseBody<"listOrganizationAuditLogs">> {
    return this.call("GET", withQuery(`/orgs/${id(orgId)}/audit-logs`, query));
  }

  // The hosted pages: the app's half of the handoff, and the pages' own calls.

  /**
   * Starts a sign-in on the service's hosted page: makes the PKCE verifier
   * and a state, keeps them in `flowStorage` (in a browser, pass
   * sessionStorage: the page is left for the service's), and answers the
   * /sign-in URL to send the browser to. `redirectTo` must be one of the
   * service's REDIRECT_URLS exactly; the page comes back there with
   * `?code=...&state=...`, which `handleRedirect()` exchanges.
   */
  async redirectToSignIn(options: { redirectTo: string }): Promise<string> {
    const { state, challenge } = await beginFlow(this.flows, "sign_in");
    const url = new URL(`${this.baseUrl}/sign-in`);
    url.searchParams.set("redirect_to", options.redirectTo);
    url.searchParams.set("code_challenge", challenge);
    url.searchParams.set("code_challenge_method", "S256");
    url.searchParams.set("state", state);
    return url.href;
  }

  /**
   * POST /auth/handoff: the signed-in session (the hosted pages' own) turned
   * into a one-time code for the app that sent the browser to /sign-in;
   * answers where to send the browser (`redirectTo?code=...&state=...`).
   */
  handoff(input: RequestBody<"handoff">): Promise<ResponseBody<"handoff">> {
    return this.call("POST", "/auth/handoff", input);
  }
}
