// Issuing access tokens: the claims of the API contract, signed with the newest key.
import { SignJWT } from "jose";
import { orgClaimOf } from "../../core/active-organization";
import type { KeySet } from "./keys";
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  DEFAULT_CLIENT_ID,
  GRANTS_VERSION_CLAIM,
  MAX_ACCESS_TOKEN_LENGTH,
  ORG_VERSION_CLAIM,
  type AccessTokenClaims,
  type AccessTokenSubject,
} from "./types";

export type IssuedAccessToken = { accessToken: string; expiresIn: number; claims: AccessTokenClaims };

/** What issuing needs besides the keys: the claims' iss, aud and lifetime, and the organization permission catalog. */
export type IssueSettings = {
  issuer: string;
  audience: string;
  accessTokenTtl: number;
  /** Every organization permission of this deployment (`config.organizations.permissions`). */
  organizations: { permissions: readonly string[] };
};

export async function signAccessToken(
  subject: AccessTokenSubject,
  keys: KeySet,
  settings: IssueSettings & { now: Date },
): Promise<IssuedAccessToken> {
  const iat = Math.floor(settings.now.getTime() / 1000);
  const claims: AccessTokenClaims = {
    iss: settings.issuer,
    aud: settings.audience,
    sub: subject.userId,
    sid: subject.sessionId,
    jti: crypto.randomUUID(),
    iat,
    exp: iat + settings.accessTokenTtl,
    client_id: DEFAULT_CLIENT_ID,
    roles: [...subject.roles],
    permissions: [...subject.permissions],
    auth_time: Math.floor(subject.authTime.getTime() / 1000),
    amr: [...subject.amr],
    email_verified: subject.emailVerified,
    // Only after a federated sign-in: the claim's absence says no provider was involved.
    ...(subject.idp === undefined ? {} : { idp: subject.idp }),
    // Only while the session acts in an organization, computed from the membership read with the grants.
    ...(subject.org === undefined ? {} : { org: orgClaimOf(subject.org, settings.organizations.permissions) }),
  };
  const versions = {
    [GRANTS_VERSION_CLAIM]: subject.grantsVersion,
    ...(subject.org === undefined ? {} : { [ORG_VERSION_CLAIM]: subject.org.version }),
  };
  const accessToken = await new SignJWT({ ...claims, ...versions })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: keys.signing.kid, typ: ACCESS_TOKEN_TYPE })
    .sign(keys.signing.key);
  // Verification refuses longer tokens before parsing them; issuing one
  // would lock the user out, so fail loudly here instead.
  if (accessToken.length > MAX_ACCESS_TOKEN_LENGTH) {
    throw new RangeError(
      `access token of ${accessToken.length} characters exceeds ${MAX_ACCESS_TOKEN_LENGTH}: too many roles or ` +
        `permissions`,
    );
  }
  return { accessToken, expiresIn: settings.accessTokenTtl, claims };
}
