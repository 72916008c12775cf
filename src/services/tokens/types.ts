// The shape of an access token (API.md "Access tokens", RFC 9068 profile).

export type AccessTokenClaims = {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  client_id: string;
  roles: string[];
  permissions: string[];
};

/** What an access token is issued for. */
export type AccessTokenSubject = {
  userId: string;
  sessionId: string;
  roles: string[];
  permissions: string[];
  /** OAuth client the token was issued to; defaults to "secureauth". */
  clientId?: string;
  /** The user's grants version, read together with `roles` (see users.grants_version); 0 if unset. */
  grantsVersion?: number;
};

/**
 * The private claim carrying the grants version. It is in the signed token
 * but not among the claims API.md defines, so /auth/verify and the RPC do not
 * return it; only the edge's revocation check reads it.
 */
export const GRANTS_VERSION_CLAIM = "gv";
