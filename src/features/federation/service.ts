// Federated sign-in (docs/federation.md): the browser flow with PKCE twice
// (the app to the service, the service to the provider), a binding cookie
// per flow against login CSRF, the one-time code the app exchanges, and
// native apps' ID tokens. The provider is a first factor like a password:
// the session opens through the sign-in attempt (active user, second factor
// when enrolled: mfa_required), with amr ["fed"].
import type { Clock } from "../../core/clock";
import type { DeviceInfo, RequestOrigin, SessionProof, UserRecord } from "../../core/domain";
import { constantTimeEqual, sha256Hex } from "../../core/encoding";
import {
  AuthError,
  describeError,
  EmailNotVerified,
  IdentityProviderError,
  InvalidCredentials,
  InvalidOAuthState,
  InvalidOneTimeToken,
  NotFound,
  ValidationFailed,
} from "../../core/errors";
import type { FederationSettings } from "../../core/config/types";
import type { Stores } from "../../stores";
import { SecondFactorService } from "../mfa/service";
import { endedSessions, type RevocationList } from "../sessions/store";
import type { DeviceTokenCodec } from "../sign-in/device-tokens";
import { openSignedInSession, type LoggedIn, type SignInDeps } from "../sign-in/service";
import { verifyFirstFactor } from "../sign-in/attempt";
import {
  bindingCookieName,
  callbackUrl,
  checkAppState,
  checkCodeChallenge,
  CODE_TTL_SECONDS,
  exactRedirect,
  FLOW_TTL_SECONDS,
  randomSecret,
  returnTo,
  verifierMatches,
} from "./flows";
import { accountFor, PROVIDER_PROOF, type Decided, type LinkingDeps } from "./linking";
import type { IdentityProviders, ProviderSettings } from "./protocol";
import type { Flow, SpentCode } from "./store";

export type FederationDeps = SignInDeps &
  LinkingDeps & {
    stores: Pick<Stores, "users" | "federation" | "audit" | "sessions">;
    settings: SignInDeps["settings"] & { requireVerifiedEmail: boolean; federation: FederationSettings };
    clock: Clock;
    providers: IdentityProviders;
    deviceTokens: DeviceTokenCodec;
    revocations: Pick<RevocationList, "publish">;
    secondFactor: Pick<SecondFactorService, "requireSecondFactor">;
  };

/** A sign-in answer: as login's, and whether this sign-in created the account. */
export type FederatedSignIn = LoggedIn & { isNewUser: boolean };

/** Where to send the browser, and the binding cookie to set (none for a link flow). */
export type FlowStart = { url: string; cookie: { name: string; value: string } | null };

/** The browser flow's start, as the app asks for it. */
export type StartRequest = {
  redirectTo: string;
  codeChallenge: string;
  codeChallengeMethod?: string;
  state?: string;
  /** The request's URL: its origin is the callback's on a loopback host without PUBLIC_URL. */
  requestUrl: string;
};

/** The error codes a callback sends back to the app; anything unexpected is answered as internal_error. */
type ReturnedError = { code: string; description: string };

export class FederationService {
  constructor(private readonly deps: FederationDeps) {}

  /** The configured providers, in order, for a sign-in page's buttons. */
  providers(): { id: string; name: string; kind: "oauth" | "oidc" }[] {
    return this.deps.settings.federation.providers.map(({ id, name, kind }) => ({ id, name, kind }));
  }

  /** A configured provider; 404 for any other id. */
  provider(id: string): ProviderSettings {
    const found = this.deps.settings.federation.providers.find((p) => p.id === id);
    if (!found) throw new NotFound("No such sign-in provider");
    return found;
  }

  /** GET /auth/oauth/{provider}: a flow bound to this browser by its cookie. */
  startSignIn(providerId: string, request: StartRequest): Promise<FlowStart> {
    return this.start(this.provider(providerId), request, null);
  }

  /** A flow, stored hashed; the browser is sent to the provider with the service's own state, PKCE and nonce. */
  async start(provider: ProviderSettings, request: StartRequest, linkUserId: string | null): Promise<FlowStart> {
    const { settings, clock, stores } = this.deps;
    const field = linkUserId ? { redirect: "redirectTo", challenge: "codeChallenge", state: "state" } : PARAMS;
    const redirectTo = exactRedirect(request.redirectTo, settings.federation.redirectUrls, field.redirect);
    const codeChallenge = checkCodeChallenge(request.codeChallenge, request.codeChallengeMethod, field.challenge);
    const appState = checkAppState(request.state, field.state);
    const redirectUri = callbackUrl(settings.federation.publicUrl, request.requestUrl, provider.id);
    const state = randomSecret();
    const codeVerifier = randomSecret();
    const nonce = provider.kind === "oidc" ? randomSecret() : null;
    const flowId = randomSecret(16);
    const binding = linkUserId ? null : randomSecret();
    const url = await this.deps.providers.authorizationUrl(provider, { redirectUri, state, codeVerifier, nonce });
    const at = clock();
    await stores.federation.createFlow(
      {
        stateHash: sha256Hex(state),
        flowId,
        bindingHash: binding && sha256Hex(binding),
        provider: provider.id,
        codeVerifier,
        nonce,
        redirectTo,
        appState,
        codeChallenge,
        linkUserId,
        expiresAt: new Date(at.getTime() + FLOW_TTL_SECONDS * 1000),
      },
      at,
    );
    return { url, cookie: binding ? { name: bindingCookieName(flowId), value: binding } : null };
  }

  /**
   * The provider's return (GET query, or Apple's form body). Without a live
   * state bound to this browser there is no redirect_to to trust: 400
   * invalid_oauth_state, answered directly. Past that, every outcome goes
   * back to the app: a one-time code, or an error code.
   */
  async callback(
    providerId: string,
    params: URLSearchParams,
    cookie: (name: string) => string | undefined,
    requestUrl: string,
    origin: RequestOrigin,
  ): Promise<{ location: string; clearCookie: string | null }> {
    const provider = this.provider(providerId);
    const flow = await this.spendFlow(provider, params, cookie);
    const clearCookie = flow.bindingHash ? bindingCookieName(flow.flowId) : null;
    try {
      const assertion = await this.deps.providers.redeem(provider, {
        params,
        state: params.get("state")!,
        codeVerifier: flow.codeVerifier,
        nonce: flow.nonce,
        redirectUri: callbackUrl(this.deps.settings.federation.publicUrl, requestUrl, provider.id),
      });
      const code = randomSecret();
      const at = this.deps.clock();
      const expiresAt = new Date(at.getTime() + CODE_TTL_SECONDS * 1000);
      if (flow.linkUserId) {
        // Only POST /me/identities/complete by the same user decides and links it.
        const { appleRefreshToken, ...identity } = assertion;
        await this.deps.stores.federation.createCode(
          {
            codeHash: sha256Hex(code),
            kind: "link",
            userId: flow.linkUserId,
            provider: provider.id,
            codeChallenge: flow.codeChallenge,
            isNewUser: false,
            identity: { ...identity, refreshTokenCiphertext: await this.deps.seal(appleRefreshToken, flow.linkUserId) },
            proof: null,
            expiresAt,
          },
          at,
        );
      } else {
        const decided = await accountFor(this.deps, provider, assertion, origin);
        await this.deps.stores.federation.createCode(
          {
            codeHash: sha256Hex(code),
            kind: "sign_in",
            userId: decided.user.id,
            provider: provider.id,
            codeChallenge: flow.codeChallenge,
            isNewUser: decided.isNewUser,
            identity: null,
            proof: null,
            expiresAt,
          },
          at,
        );
        await this.recordFederatedLogin(decided, provider, origin);
      }
      return { location: returnTo(flow.redirectTo, { code }, flow.appState), clearCookie };
    } catch (error) {
      const returned = returnedError(error, flow);
      return {
        location: returnTo(
          flow.redirectTo,
          { error: returned.code, error_description: returned.description },
          flow.appState,
        ),
        clearCookie,
      };
    }
  }

  /** The live flow this callback's state names, bound to this browser by its cookie (a link flow by its caller). */
  private async spendFlow(
    provider: ProviderSettings,
    params: URLSearchParams,
    cookie: (name: string) => string | undefined,
  ): Promise<Flow> {
    const state = params.get("state");
    if (!state || state.length > 128) throw new InvalidOAuthState(new Error("no state"));
    const flow = await this.deps.stores.federation.spendFlow(sha256Hex(state), this.deps.clock());
    if (!flow || flow.provider !== provider.id)
      throw new InvalidOAuthState(new Error("state unknown, expired, used or another provider's"));
    if (flow.bindingHash !== null) {
      const presented = cookie(bindingCookieName(flow.flowId));
      if (!presented || !constantTimeEqual(sha256Hex(presented), flow.bindingHash))
        throw new InvalidOAuthState(new Error("the flow's binding cookie is missing or wrong"));
    }
    return flow;
  }

  /**
   * POST /auth/exchange: the one-time code and the verifier of the
   * code_challenge the flow started with. A code presented again ends the
   * session its first exchange opened (RFC 6749 section 4.1.2).
   */
  async exchange(
    input: { code: string; codeVerifier: string; deviceToken?: string | null },
    device: DeviceInfo,
    origin: RequestOrigin,
  ): Promise<FederatedSignIn> {
    const { stores, clock } = this.deps;
    if (input.code.length > 128) throw new InvalidOneTimeToken(new Error("not a code of ours"));
    const codeHash = sha256Hex(input.code);
    const spend = await stores.federation.spendSignInCode(codeHash, clock());
    if (!spend) throw new InvalidOneTimeToken(new Error("code unknown or expired"));
    if ("replayed" in spend) {
      const { userId, sessionId } = spend.replayed;
      if (sessionId) await this.endReplayedSession(userId, sessionId, origin);
      throw new InvalidOneTimeToken(new Error("code presented again: its session ended"));
    }
    // A wrong verifier spends the code too: a stolen code is good for one guess at most.
    if (!verifierMatches(input.codeVerifier, spend.spent.codeChallenge))
      throw new InvalidOneTimeToken(new Error("wrong code verifier"));
    if (spend.spent.kind === "handoff") {
      const signedIn = await this.openHandedOffSession(spend.spent, input.deviceToken, device, origin);
      await stores.federation.recordCodeSession(codeHash, signedIn.tokens.sessionId);
      return { ...signedIn, isNewUser: false };
    }
    const user = await verifyFirstFactor(
      { audit: stores.audit, clock },
      await stores.users.findById(spend.spent.userId),
      PROVIDER_PROOF,
      origin,
    );
    const signedIn = await this.openSession(user, spend.spent.provider, input.deviceToken, device, origin);
    await stores.federation.recordCodeSession(codeHash, signedIn.tokens.sessionId);
    return { ...signedIn, isNewUser: spend.spent.isNewUser };
  }

  /**
   * POST /auth/handoff: the hosted pages' signed-in session hands the app
   * that sent the browser to /sign-in a one-time code (60 s, single use,
   * bound to the app's S256 code_challenge), exchanged at POST
   * /auth/exchange for a session of the app's own with this session's proof
   * (amr, auth_time, and idp when a provider opened it). `redirectTo` must be
   * exactly one of REDIRECT_URLS.
   */
  async handoff(
    caller: { userId: string; proof: SessionProof },
    input: { redirectTo: string; codeChallenge: string; state?: string },
  ): Promise<{ redirect: string }> {
    const { settings, clock, stores } = this.deps;
    const redirectTo = exactRedirect(input.redirectTo, settings.federation.redirectUrls, "redirectTo");
    const codeChallenge = checkCodeChallenge(input.codeChallenge, undefined, "codeChallenge");
    const appState = checkAppState(input.state, "state");
    const code = randomSecret();
    const at = clock();
    await stores.federation.createCode(
      {
        codeHash: sha256Hex(code),
        kind: "handoff",
        userId: caller.userId,
        provider: HANDOFF_PROVIDER,
        codeChallenge,
        isNewUser: false,
        identity: null,
        proof: caller.proof,
        expiresAt: new Date(at.getTime() + CODE_TTL_SECONDS * 1000),
      },
      at,
    );
    return { redirect: returnTo(redirectTo, { code }, appState) };
  }

  /**
   * A handoff code's session: the user still active (a disabled or deleted
   * account is refused as a sign-in is), its proof the hosted pages'
   * session's, so no second step again (that session made it, when due).
   */
  private async openHandedOffSession(
    spent: SpentCode,
    deviceToken: string | null | undefined,
    device: DeviceInfo,
    origin: RequestOrigin,
  ): Promise<LoggedIn> {
    const { stores, clock } = this.deps;
    const proof = spent.proof;
    if (!proof) throw new InvalidOneTimeToken(new Error("a handoff code without its proof"));
    const user = await verifyFirstFactor(
      { audit: stores.audit, clock },
      await stores.users.findById(spent.userId),
      // The hosted pages' session proved the user when the code was made; the account must still be active.
      PROVIDER_PROOF,
      origin,
    );
    const presented = deviceToken ? this.deps.deviceTokens.check(deviceToken) : undefined;
    const known =
      presented && presented.userId === user.id && presented.generation === user.deviceGeneration
        ? presented.token
        : undefined;
    return openSignedInSession({ ...this.deps, sessions: stores.sessions }, user, {
      amr: proof.amr,
      authTime: proof.authTime,
      ...(proof.idp === undefined ? {} : { idp: proof.idp }),
      device,
      origin,
      clearThrottleKey: `handoff:${user.id}`,
      deviceToken: known,
    });
  }

  /**
   * POST /auth/oauth/{provider}/id-token: a native app's ID token whose
   * nonce is the SHA-256 of the raw nonce sent here; each nonce once.
   */
  async signInWithIdToken(
    providerId: string,
    input: { idToken: string; nonce: string; deviceToken?: string | null },
    device: DeviceInfo,
    origin: RequestOrigin,
  ): Promise<FederatedSignIn> {
    const { stores, clock } = this.deps;
    const provider = this.provider(providerId);
    if (provider.kind !== "oidc" || (provider.quirks === "generic" && provider.nativeClientIds.length === 0))
      throw new NotFound("This provider takes no native ID tokens");
    let verified: Awaited<ReturnType<IdentityProviders["verifyIdToken"]>>;
    try {
      verified = await this.deps.providers.verifyIdToken(provider, input.idToken, sha256Hex(input.nonce));
    } catch (error) {
      if (!(error instanceof IdentityProviderError)) throw error;
      await this.recordRefusedToken(provider, origin, error.detail ?? "ID token refused");
      throw new InvalidCredentials(error);
    }
    // Accepted once: a leaked ID token cannot be replayed with its nonce.
    if (!(await stores.federation.acceptNonce(sha256Hex(`native:${input.nonce}`), verified.expiresAt, clock()))) {
      await this.recordRefusedToken(provider, origin, "nonce already used");
      throw new InvalidCredentials(new Error("nonce already used"));
    }
    const decided = await accountFor(this.deps, provider, verified.assertion, origin);
    await this.recordFederatedLogin(decided, provider, origin);
    const signedIn = await this.openSession(decided.user, provider.id, input.deviceToken, device, origin);
    return { ...signedIn, isNewUser: decided.isNewUser };
  }

  /**
   * As login: a second factor enrolled answers mfa_required (the provider was one factor), else the session opens;
   * either way the session carries the provider's id (`idp`).
   */
  private async openSession(
    user: UserRecord,
    idp: string,
    deviceToken: string | null | undefined,
    device: DeviceInfo,
    origin: RequestOrigin,
  ): Promise<LoggedIn> {
    const { settings, stores } = this.deps;
    if (settings.requireVerifiedEmail && !user.emailVerified) throw new EmailNotVerified();
    const presented = deviceToken ? this.deps.deviceTokens.check(deviceToken) : undefined;
    const known =
      presented && presented.userId === user.id && presented.generation === user.deviceGeneration
        ? presented.token
        : undefined;
    const throttleKey = `fed:${user.id}`;
    if (SecondFactorService.methodsOf(user).length > 0)
      return this.deps.secondFactor.requireSecondFactor(user, { throttleKey, device, firstFactor: "fed", idp });
    return openSignedInSession({ ...this.deps, sessions: stores.sessions }, user, {
      amr: ["fed"],
      idp,
      device,
      origin,
      clearThrottleKey: throttleKey,
      deviceToken: known,
    });
  }

  /**
   * A deleted account's Apple grants revoked at Apple (App Store rule
   * 5.1.1(v)), after the deletion committed: each is tried, a failure is
   * logged, and none fails the deletion.
   */
  async revokeGrants(userId: string, sealed: readonly string[]): Promise<void> {
    const apple = this.deps.settings.federation.providers.find((p) => p.quirks === "apple");
    for (const grant of sealed) {
      try {
        if (!apple) throw new Error("Apple is no longer configured");
        await this.deps.providers.revokeAppleGrant(apple, await this.deps.unseal(grant, userId));
      } catch (error) {
        console.error(
          JSON.stringify({ level: "error", msg: "Apple grant not revoked", userId, error: describeError(error) }),
        );
      }
    }
  }

  private async endReplayedSession(userId: string, sessionId: string, origin: RequestOrigin): Promise<void> {
    const ended = await this.deps.stores.sessions.end(sessionId, userId, {
      reason: "code_replayed",
      event: "session.revoked",
      actorId: null,
      origin,
      at: this.deps.clock(),
    });
    if (ended) await this.deps.revocations.publish(endedSessions([sessionId]));
  }

  private recordFederatedLogin(decided: Decided, provider: ProviderSettings, origin: RequestOrigin): Promise<void> {
    return this.deps.stores.audit.record({
      event: "auth.federated_login",
      userId: decided.user.id,
      actorId: decided.user.id,
      origin,
      metadata: { provider: provider.id, identityId: decided.identity.id, isNewUser: decided.isNewUser },
      at: this.deps.clock(),
    });
  }

  private recordRefusedToken(provider: ProviderSettings, origin: RequestOrigin, reason: string): Promise<void> {
    return this.deps.stores.audit.record({
      event: "auth.login_failed",
      userId: null,
      actorId: null,
      origin,
      metadata: { reason: "id_token_refused", provider: provider.id, detail: reason },
      at: this.deps.clock(),
    });
  }
}

/** The provider column of a handoff's code: no provider took part. */
export const HANDOFF_PROVIDER = "hosted_pages";

/** The query parameters GET /auth/oauth/{provider} names its fields by. */
const PARAMS = { redirect: "redirect_to", challenge: "code_challenge", state: "state" };

/** What a failed callback tells the app: a contract error code and a safe description, never a secret. */
function returnedError(error: unknown, flow: Flow): ReturnedError {
  if (error instanceof AuthError) {
    const code = error.code === "account_link_required" || error.code === "invalid_credentials" ? error.code : null;
    if (code) return { code, description: error.detail ?? error.message };
    if (error.code === "identity_provider_error")
      return { code: error.code, description: error.detail ?? "The provider refused or failed" };
  }
  console.error(
    JSON.stringify({
      level: "error",
      msg: "provider callback failed",
      provider: flow.provider,
      error: describeError(error),
    }),
  );
  if (error instanceof ValidationFailed) return { code: "identity_provider_error", description: "Unusable answer" };
  return { code: error instanceof AuthError ? error.code : "internal_error", description: "The sign-in failed" };
}
