// Whether a request carries an access token, from its headers alone: an
// Authorization header (authenticate reads the Bearer credential there) or,
// without one, the access cookie of cookie mode. Framework-free, so the edge
// can ask it of every request before and whatever any route does.

/** The access token's cookie in cookie mode (`__Host-` prefix: Secure, Path=/, no Domain). */
export const ACCESS_TOKEN_COOKIE = "__Host-sa_at";

const ACCESS_COOKIE_PRESENT = new RegExp(`(?:^|;)\\s*${ACCESS_TOKEN_COOKIE}=`);

/**
 * True when the request presents an access token, valid or not: its answer holds, or was refused for, someone's
 * session.
 */
export function carriesAccessToken(headers: Headers): boolean {
  if (headers.has("Authorization")) return true;
  const cookie = headers.get("Cookie");
  return cookie !== null && ACCESS_COOKIE_PRESENT.test(cookie);
}
