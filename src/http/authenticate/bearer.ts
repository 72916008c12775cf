// Reading a Bearer credential from an Authorization header (RFC 6750 2.1).
// Framework-free: it knows nothing about Hono or about tokens' contents.

// The scheme is case-insensitive (RFC 9110 11.1); the credential is a b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The token from `Bearer <token>`, or undefined when the header is absent or not a Bearer credential. */
export function parseBearerToken(authorization: string | null | undefined): string | undefined {
  if (!authorization) return undefined;
  return BEARER.exec(authorization)?.[1];
}
