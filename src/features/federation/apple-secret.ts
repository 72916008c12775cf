// Apple's client secret is a JWT the app signs itself (ES256, with the Sign
// in with Apple key), valid at most six months. The service mints it from
// the team id, key id and private key, for an hour at a time, and renews it
// before it lapses, so it never expires on an operator.
import { importPKCS8, SignJWT } from "jose";

/** What Apple's client secret is minted from (APPLE_TEAM_ID, APPLE_KEY_ID, APPLE_PRIVATE_KEY). */
export type AppleSigningKey = { teamId: string; keyId: string; privateKey: string };

/** The audience Apple requires in a client secret, whatever host the endpoints are reached at. */
export const APPLE_AUDIENCE = "https://appleid.apple.com";

const LIFETIME_SECONDS = 3600;
/** A secret this close to its expiry is renewed rather than sent. */
const RENEW_BEFORE_SECONDS = 300;

const minted = new Map<string, { secret: string; expiresAt: number }>();
const keys = new Map<string, Promise<CryptoKey>>();

/** A client secret for `clientId`, reused while it has more than five minutes left (per isolate). */
export async function appleClientSecret(
  clientId: string,
  key: AppleSigningKey,
  now: () => number = Date.now,
): Promise<string> {
  const cacheKey = `${key.teamId}:${key.keyId}:${clientId}`;
  const seconds = Math.floor(now() / 1000);
  const cached = minted.get(cacheKey);
  if (cached && cached.expiresAt - seconds > RENEW_BEFORE_SECONDS) return cached.secret;
  let privateKey = keys.get(key.privateKey);
  if (!privateKey) {
    privateKey = importPKCS8(key.privateKey.replace(/\\n/g, "\n"), "ES256");
    keys.set(key.privateKey, privateKey);
    privateKey.catch(() => keys.delete(key.privateKey));
  }
  const expiresAt = seconds + LIFETIME_SECONDS;
  const secret = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: key.keyId })
    .setIssuer(key.teamId)
    .setSubject(clientId)
    .setAudience(APPLE_AUDIENCE)
    .setIssuedAt(seconds)
    .setExpirationTime(expiresAt)
    .sign(await privateKey);
  minted.set(cacheKey, { secret, expiresAt });
  return secret;
}
