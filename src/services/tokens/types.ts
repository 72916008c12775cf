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
};
