// The providers' HTTP, behind the IdentityProviders port: OpenID Connect
// through oauth4webapi (discovery, once per issuer and isolate; PKCE; the
// authorization response; the code exchange; the ID token's claims and
// nonce) and jose (the ID token's signature against the provider's JWKS),
// GitHub's OAuth and REST API (github.ts), and Apple's client secret, which
// the service mints itself (apple-secret.ts). Every request has a deadline;
// no provider token leaves this file but Apple's refresh token.
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import * as oauth from "oauth4webapi";
import { IdentityProviderError } from "../../core/errors";
import { appleClientSecret } from "./apple-secret";
import { appleNameOf, assertsVerifiedEmail, emailOf, nameOf } from "./claims";
import { githubIdentity } from "./github";
import type {
  AuthorizationRequest,
  Callback,
  IdentityProviders,
  ProviderAssertion,
  ProviderSettings,
} from "./protocol";

/** How long any one request to a provider may take. */
const PROVIDER_TIMEOUT_MS = 10_000;

/** The signature algorithms an ID token may use: asymmetric only (never `none`, never a shared-secret HMAC). */
const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** oauth4webapi's hooks for issuers that are no single URL (Microsoft's multi-tenant one); not in its types. */
const hooks = oauth as unknown as { _nodiscoverycheck: symbol; _expectedIssuer: symbol };

/** Microsoft's tenant ids: GUIDs. */
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Server = { as: oauth.AuthorizationServer; jwks?: ReturnType<typeof createRemoteJWKSet> };

/** Discovery documents (and their JWKS), per issuer, for the life of the isolate; a failed one is retried. */
const servers = new Map<string, Promise<Server>>();

const insecure = (url: string) => new URL(url).protocol === "http:";

function requestOptions(url: string) {
  return { [oauth.allowInsecureRequests]: insecure(url), signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) };
}

/**
 * The issuer a Microsoft token must carry: the discovery document's
 * `https://login.microsoftonline.com/{tenantid}/v2.0` with the token's own
 * `tid`, as Microsoft documents for multi-tenant apps.
 */
export function microsoftIssuer(template: string, tid: unknown): string {
  if (typeof tid !== "string" || !TENANT_ID.test(tid)) throw new IdentityProviderError("ID token has no tenant id");
  return template.replace("{tenantid}", tid);
}

/**
 * Microsoft's issuer is a template until the ID token names its tenant: an
 * `iss` response parameter (RFC 9207) is checked against the template's
 * shape here and left out, and the ID token's own `iss` is validated with its `tid`.
 */
function withoutTenantIssuer(as: oauth.AuthorizationServer, params: URLSearchParams): URLSearchParams {
  const iss = params.get("iss");
  if (iss === null) return params;
  const [before, after] = as.issuer.split("{tenantid}");
  const tenant =
    iss.startsWith(before!) && iss.endsWith(after!) ? iss.slice(before!.length, iss.length - after!.length) : "";
  if (!TENANT_ID.test(tenant)) throw new IdentityProviderError("the callback names another issuer");
  const rest = new URLSearchParams(params);
  rest.delete("iss");
  return rest;
}

async function discover(provider: ProviderSettings): Promise<Server> {
  if (provider.quirks === "github") {
    return {
      as: {
        issuer: provider.issuer,
        authorization_endpoint: `${provider.issuer}/login/oauth/authorize`,
        token_endpoint: `${provider.issuer}/login/oauth/access_token`,
      },
    };
  }
  // Microsoft: the multi-tenant ("common") metadata, whose issuer is a template.
  const issuer = new URL(provider.quirks === "microsoft" ? `${provider.issuer}/common/v2.0` : provider.issuer);
  const response = await oauth.discoveryRequest(issuer, requestOptions(issuer.href));
  const as = await oauth.processDiscoveryResponse(
    (provider.quirks === "microsoft" ? hooks._nodiscoverycheck : issuer) as URL,
    response,
  );
  if (provider.quirks === "microsoft") {
    const template = as.issuer;
    (as as unknown as Record<symbol, unknown>)[hooks._expectedIssuer] = (result: { claims: JWTPayload }) =>
      microsoftIssuer(template, result.claims.tid);
  }
  if (!as.jwks_uri) throw new IdentityProviderError("the provider's discovery document names no jwks_uri");
  return { as, jwks: createRemoteJWKSet(new URL(as.jwks_uri), { timeoutDuration: PROVIDER_TIMEOUT_MS }) };
}

function serverOf(provider: ProviderSettings): Promise<Server> {
  const key = `${provider.quirks}:${provider.issuer}`;
  let server = servers.get(key);
  if (!server) {
    server = discover(provider).catch((error: unknown) => {
      servers.delete(key);
      throw error instanceof IdentityProviderError ? error : new IdentityProviderError("provider discovery", error);
    });
    servers.set(key, server);
  }
  return server;
}

async function clientAuth(provider: ProviderSettings): Promise<oauth.ClientAuth> {
  if (provider.apple) return oauth.ClientSecretPost(await appleClientSecret(provider.clientId, provider.apple));
  return provider.clientSecret ? oauth.ClientSecretPost(provider.clientSecret) : oauth.None();
}

/** Google's tokens may name their issuer without the scheme. */
function acceptedIssuers(provider: ProviderSettings, as: oauth.AuthorizationServer, claims: JWTPayload): string[] {
  if (provider.quirks === "microsoft") return [microsoftIssuer(as.issuer, claims.tid)];
  if (provider.quirks === "google" && as.issuer === "https://accounts.google.com")
    return [as.issuer, "accounts.google.com"];
  return [as.issuer];
}

/**
 * The ID token's signature against the provider's JWKS, and its issuer,
 * audience and expiry (jose); the claims it carries.
 */
async function verifySignature(
  provider: ProviderSettings,
  server: Server,
  idToken: string,
  audiences: string[],
): Promise<JWTPayload> {
  if (!server.jwks) throw new IdentityProviderError("the provider publishes no keys");
  let unverified: JWTPayload;
  try {
    unverified = JSON.parse(new TextDecoder().decode(oauthPayload(idToken))) as JWTPayload;
  } catch (error) {
    throw new IdentityProviderError("ID token is malformed", error);
  }
  try {
    const { payload } = await jwtVerify(idToken, server.jwks, {
      issuer: acceptedIssuers(provider, server.as, unverified),
      audience: audiences,
      algorithms: ID_TOKEN_ALGORITHMS,
      requiredClaims: ["sub", "exp", "iat"],
      clockTolerance: 30,
    });
    return payload;
  } catch (error) {
    throw error instanceof IdentityProviderError ? error : new IdentityProviderError("ID token does not verify", error);
  }
}

/** The payload segment of a compact JWS, decoded (unverified). */
function oauthPayload(jwt: string): Uint8Array {
  const part = jwt.split(".")[1];
  if (!part || jwt.length > 16_384) throw new TypeError("not a compact JWS");
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/** The identity an OpenID provider's verified claims name. */
function identityOf(provider: ProviderSettings, issuer: string, claims: JWTPayload, name: string | null) {
  if (typeof claims.sub !== "string" || claims.sub.length === 0 || claims.sub.length > 255)
    throw new IdentityProviderError("ID token has no usable subject");
  const record = claims as Record<string, unknown>;
  return {
    provider: provider.id,
    // Microsoft's issuer is the token's tenant's (verified); Google's, written either way, is one.
    issuer: provider.quirks === "microsoft" && typeof claims.iss === "string" ? claims.iss : issuer,
    subject: claims.sub,
    email: emailOf(record.email),
    emailVerified: assertsVerifiedEmail(provider.quirks, record),
    name: name ?? nameOf(record),
  };
}

export class HttpIdentityProviders implements IdentityProviders {
  async authorizationUrl(provider: ProviderSettings, request: AuthorizationRequest): Promise<string> {
    const { as } = await serverOf(provider);
    if (!as.authorization_endpoint) throw new IdentityProviderError("the provider names no authorization endpoint");
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set("client_id", provider.clientId);
    url.searchParams.set("redirect_uri", request.redirectUri);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("scope", provider.scopes.join(" "));
    url.searchParams.set("state", request.state);
    url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(request.codeVerifier));
    url.searchParams.set("code_challenge_method", "S256");
    if (request.nonce) url.searchParams.set("nonce", request.nonce);
    // Apple sends name and email scopes' answers only by form_post.
    if (provider.quirks === "apple") url.searchParams.set("response_mode", "form_post");
    return url.href;
  }

  async redeem(provider: ProviderSettings, callback: Callback): Promise<ProviderAssertion> {
    const server = await serverOf(provider);
    const { as } = server;
    const client: oauth.Client = { client_id: provider.clientId };
    let params: URLSearchParams;
    try {
      params =
        provider.quirks === "microsoft"
          ? oauth.validateAuthResponse(
              { ...as, authorization_response_iss_parameter_supported: false },
              client,
              withoutTenantIssuer(as, callback.params),
              callback.state,
            )
          : oauth.validateAuthResponse(as, client, callback.params, callback.state);
    } catch (error) {
      throw new IdentityProviderError(
        error instanceof oauth.AuthorizationResponseError ? "the provider refused the sign-in" : "callback refused",
        error,
      );
    }
    let result: oauth.TokenEndpointResponse;
    try {
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        await clientAuth(provider),
        params,
        callback.redirectUri,
        callback.codeVerifier,
        requestOptions(as.token_endpoint!),
      );
      result =
        provider.kind === "oidc"
          ? await oauth.processAuthorizationCodeResponse(as, client, response, {
              expectedNonce: callback.nonce ?? undefined,
              requireIdToken: true,
            })
          : await oauth.processAuthorizationCodeResponse(as, client, response);
    } catch (error) {
      throw error instanceof IdentityProviderError ? error : new IdentityProviderError("code exchange", error);
    }
    if (provider.quirks === "github") {
      return { ...(await githubIdentity(provider, result.access_token, PROVIDER_TIMEOUT_MS)), appleRefreshToken: null };
    }
    // oauth4webapi checked the claims (iss, aud, exp, nonce); jose checks the signature too.
    const claims = await verifySignature(provider, server, result.id_token!, [provider.clientId]);
    if (claims.nonce !== callback.nonce) throw new IdentityProviderError("ID token nonce does not match");
    const name = provider.quirks === "apple" ? appleNameOf(callback.params.get("user")) : null;
    return {
      ...identityOf(provider, as.issuer, claims, name),
      appleRefreshToken:
        provider.quirks === "apple" && typeof result.refresh_token === "string" ? result.refresh_token : null,
    };
  }

  async verifyIdToken(
    provider: ProviderSettings,
    idToken: string,
    expectedNonce: string,
  ): Promise<{ assertion: ProviderAssertion; expiresAt: Date }> {
    const server = await serverOf(provider);
    const claims = await verifySignature(provider, server, idToken, [provider.clientId, ...provider.nativeClientIds]);
    if (typeof claims.nonce !== "string" || claims.nonce !== expectedNonce)
      throw new IdentityProviderError("ID token nonce does not match");
    return {
      assertion: { ...identityOf(provider, server.as.issuer, claims, null), appleRefreshToken: null },
      expiresAt: new Date(claims.exp! * 1000),
    };
  }

  async revokeAppleGrant(provider: ProviderSettings, refreshToken: string): Promise<void> {
    if (!provider.apple) throw new TypeError("revokeAppleGrant is for Apple");
    const { as } = await serverOf(provider);
    const endpoint = as.revocation_endpoint ?? `${provider.issuer}/auth/revoke`;
    const body = new URLSearchParams({
      client_id: provider.clientId,
      client_secret: await appleClientSecret(provider.clientId, provider.apple),
      token: refreshToken,
      token_type_hint: "refresh_token",
    });
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (!response.ok) throw new IdentityProviderError(`Apple answered ${response.status} to the revocation`);
  }
}
