// The port between the federation service and the providers' HTTP: building
// the authorization request, redeeming a callback (the code exchanged with
// the service's PKCE verifier, the ID token verified, or GitHub's user read),
// verifying a native app's ID token, and revoking Apple's grant. The service
// decides accounts; this side only proves who the provider says the user is.
import type { ProviderSettings } from "../../core/config/providers";
import type { ProviderIdentity } from "./store";

export type { ProviderSettings };

/** What the provider proved: the identity, and Apple's refresh token (kept sealed, for revocation). */
export type ProviderAssertion = ProviderIdentity & { appleRefreshToken: string | null };

export type AuthorizationRequest = {
  redirectUri: string;
  state: string;
  codeVerifier: string;
  /** OpenID providers only. */
  nonce: string | null;
};

export type Callback = AuthorizationRequest & {
  /** The callback's parameters: the query, or Apple's form body. */
  params: URLSearchParams;
};

export interface IdentityProviders {
  /** Where to send the browser: the provider's authorization endpoint with this flow's parameters. */
  authorizationUrl(provider: ProviderSettings, request: AuthorizationRequest): Promise<string>;
  /**
   * The identity a callback proves. Throws IdentityProviderError when the
   * provider answered an error, refused the code, or its answer does not verify.
   */
  redeem(provider: ProviderSettings, callback: Callback): Promise<ProviderAssertion>;
  /**
   * A native app's ID token: signature (the provider's JWKS), issuer,
   * audience among clientId and nativeClientIds, expiry, and `nonce` equal
   * to `expectedNonce`. Answers the identity and the token's expiry; throws
   * IdentityProviderError when it does not verify.
   */
  verifyIdToken(
    provider: ProviderSettings,
    idToken: string,
    expectedNonce: string,
  ): Promise<{ assertion: ProviderAssertion; expiresAt: Date }>;
  /** Revokes the app's grant at Apple (the refresh token); throws when Apple does not confirm. */
  revokeAppleGrant(provider: ProviderSettings, refreshToken: string): Promise<void>;
}
