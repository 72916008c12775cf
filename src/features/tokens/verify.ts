// Verifying access tokens. Everything that could let a token choose how it is
// checked is pinned here: the algorithm list, issuer, audience and typ, and
// the key, which is looked up by kid in the service's own key set only. Key
// carrying headers (jwk, jku, x5u, x5c) are never read. Any failure is an
// InvalidToken whose `cause` holds the reason, for logs, never for clients.
import { type JWTHeaderParameters, jwtVerify, type JWTPayload } from "jose";
import type { Clock } from "../../core/clock";
import { InvalidToken } from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { KeySet } from "./keys";
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  CLOCK_TOLERANCE_SECONDS,
  GRANTS_VERSION_CLAIM,
  MAX_ACCESS_TOKEN_LENGTH,
  ORG_VERSION_CLAIM,
  type AccessTokenClaims,
  type VerifiedAccessToken,
} from "./types";

/** What verification checks tokens against. */
export type VerificationSettings = { issuer: string; audience: string; accessTokenTtl: number };

const REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "jti"];

/**
 * Tokens this isolate has already verified, per key set. A client presents
 * the same access token on every request for its whole lifetime, and the
 * signature and claim checks depend only on the token's exact bytes, the keys
 * and the config, so they are done once; the time checks run on every use.
 */
const verified = new WeakMap<KeySet, Map<string, VerifiedAccessToken>>();
const MAX_VERIFIED = 10_000;

/**
 * Tokens verified once, each by a number drawn from its signature: a token is
 * remembered (above) from its second verification on. A client presents its
 * token again and again, so it is remembered from its second request; a token
 * seen once (a stream of sessions new to this isolate, a forgery) leaves a
 * number in a set, not itself and its claims in memory for the garbage
 * collector to carry (`npm run bench`'s never-seen verify). Two tokens
 * sharing a number only make the second one remembered at once, after its own
 * full verification: the set decides what is kept, never what is valid.
 */
const verifiedOnce = new Set<number>();
const MAX_VERIFIED_ONCE = 65_536;

/** A number from the token's last characters (its signature's), kept below 2^30 so the set holds it inline. */
function signatureTag(token: string): number {
  let tag = 0;
  for (let i = Math.max(0, token.length - 8); i < token.length; i++)
    tag = (tag * 31 + token.charCodeAt(i)) & 0x3fffffff;
  return tag;
}

/** Signature and claims, no revocation check: exactly the claims the API contract defines, and the grants version. */
export async function verifyAccessToken(
  token: string,
  keys: KeySet,
  config: VerificationSettings,
  clock: Clock,
): Promise<VerifiedAccessToken> {
  return copy(await verifiedRecord(token, keys, config, clock));
}

/**
 * verifyAccessToken without the copy: the isolate's own record of the token, the same object for every use of it
 * while it is remembered. Only for a caller that reads it and hands none of it on (the verify fast path, which keys
 * its prepared answers by this object); anyone else gets verifyAccessToken's copies.
 */
export async function verifiedRecord(
  token: string,
  keys: KeySet,
  config: VerificationSettings,
  clock: Clock,
): Promise<VerifiedAccessToken> {
  const known = rememberedRecord(token, keys, config, clock);
  if (known) return known;
  const result = await verifyUncached(token, keys, config, clock);
  const tag = signatureTag(token);
  if (!verifiedOnce.has(tag)) {
    if (verifiedOnce.size >= MAX_VERIFIED_ONCE) verifiedOnce.clear();
    verifiedOnce.add(tag);
    return result;
  }
  let cache = verified.get(keys);
  if (!cache) verified.set(keys, (cache = new Map()));
  if (cache.size >= MAX_VERIFIED) cache.clear();
  cache.set(token, result);
  return result;
}

/**
 * verifiedRecord's answer when the isolate remembers the token, with no turn of the event loop: its record after
 * the time checks (which throw as verifiedRecord's do), or undefined when it must be verified (verifiedRecord).
 */
export function rememberedRecord(
  token: string,
  keys: KeySet,
  config: VerificationSettings,
  clock: Clock,
): VerifiedAccessToken | undefined {
  if (typeof token !== "string") throw new InvalidToken({ cause: new TypeError("token is not a string") });
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) {
    throw new InvalidToken({ cause: new Error(`token is longer than ${MAX_ACCESS_TOKEN_LENGTH} characters`) });
  }
  const known = verified.get(keys)?.get(token);
  if (known === undefined || known.claims.iss !== config.issuer || known.claims.aud !== config.audience) {
    return undefined;
  }
  checkTimes(known.claims, config, clock);
  return known;
}

/** Whether `record` is the isolate's remembered record of `token` (verifiedRecord keeps it from its second use). */
export function isRemembered(token: string, keys: KeySet, record: VerifiedAccessToken): boolean {
  return verified.get(keys)?.get(token) === record;
}

/** Callers get their own arrays, so none can change what the next one gets. */
function copy({ claims, grantsVersion, orgVersion }: VerifiedAccessToken): VerifiedAccessToken {
  const { org } = claims;
  return {
    claims: {
      ...claims,
      roles: [...claims.roles],
      permissions: [...claims.permissions],
      amr: [...claims.amr],
      ...(org === undefined ? {} : { org: { ...org, roles: [...org.roles], permissions: [...org.permissions] } }),
    },
    grantsVersion,
    ...(orgVersion === undefined ? {} : { orgVersion }),
  };
}

/**
 * A refusal with its reason, for logs. A module function, not a closure made on each verify: the bundle keeps
 * function names (wrangler.toml), which costs a closure a defineProperty call each time it is made.
 */
function invalid(reason: string): InvalidToken {
  return new InvalidToken({ cause: new Error(reason) });
}

/** The time rules jose applied at first verification, re-applied for a cached token. */
function checkTimes(claims: AccessTokenClaims, config: VerificationSettings, clock: Clock): void {
  const now = Math.floor(clock().getTime() / 1000);
  if (claims.exp <= now - CLOCK_TOLERANCE_SECONDS) throw invalid('"exp" claim timestamp check failed');
  const age = now - claims.iat;
  if (age < -CLOCK_TOLERANCE_SECONDS) throw invalid('"iat" claim timestamp check failed (it should be in the past)');
  if (age - CLOCK_TOLERANCE_SECONDS > config.accessTokenTtl)
    throw invalid('"iat" claim timestamp check failed (too far in the past)');
}

async function verifyUncached(
  token: string,
  keys: KeySet,
  config: VerificationSettings,
  clock: Clock,
): Promise<VerifiedAccessToken> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, (header: JWTHeaderParameters) => ownKey(keys, header), {
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      issuer: config.issuer,
      audience: config.audience,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: REQUIRED_CLAIMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: clock(),
      // No token outlives the configured lifetime, whatever its exp says, so
      // the revocation list (kept for that lifetime) always covers it; this
      // also refuses an iat in the future.
      maxTokenAge: config.accessTokenTtl,
    }));
  } catch (error) {
    throw new InvalidToken({ cause: error });
  }
  const active = activeOrganizationOf(payload);
  const claims = accessTokenClaims(payload);
  if (active === undefined) return { claims, grantsVersion: grantsVersionOf(payload) };
  return {
    claims: { ...claims, org: active.org },
    grantsVersion: grantsVersionOf(payload),
    orgVersion: active.version,
  };
}

/** A token without the claim predates grants versions: version 0. */
function grantsVersionOf(payload: JWTPayload): number {
  const value = (payload as Record<string, unknown>)[GRANTS_VERSION_CLAIM];
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new InvalidToken({ cause: new Error("gv must be a whole number") });
  return value as number;
}

/**
 * The `org` claim and its version `ov`, narrowed strictly: both or neither; `org` exactly `{id, slug, roles,
 * permissions}` with non-empty strings and arrays of strings, `ov` a whole number. Anything else makes the token
 * invalid: the claim decides what an organization lets its holder do, so a token that says it oddly says nothing.
 */
function activeOrganizationOf(
  payload: JWTPayload,
): { org: NonNullable<AccessTokenClaims["org"]>; version: number } | undefined {
  const { org, [ORG_VERSION_CLAIM]: version } = payload as Record<string, unknown>;
  if (org === undefined && version === undefined) return undefined;
  if (org === undefined || version === undefined) throw invalid("org and ov come together");
  if (!Number.isSafeInteger(version) || (version as number) < 0) throw invalid("ov must be a whole number");
  if (typeof org !== "object" || org === null || Array.isArray(org)) throw invalid("org must be an object");
  const { id, slug, roles, permissions, ...rest } = org as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid("org has members of its own");
  if (typeof id !== "string" || !isUuid(id)) throw invalid("org id must be a UUID");
  if (typeof slug !== "string" || slug.length === 0) throw invalid("org slug must be a non-empty string");
  if (!isStringArray(roles) || !isStringArray(permissions))
    throw invalid("org roles and permissions must be arrays of strings");
  return { org: { id, slug, roles: [...roles], permissions: [...permissions] }, version: version as number };
}

function ownKey(keys: KeySet, header: JWTHeaderParameters): CryptoKey {
  const key = typeof header.kid === "string" ? keys.verifying.get(header.kid) : undefined;
  if (!key) throw new Error("kid does not name a key of this service");
  return key;
}

/** The verified payload narrowed to the claims the API contract defines, and nothing else. */
function accessTokenClaims(payload: JWTPayload): AccessTokenClaims {
  const { iss, aud, sub, sid, jti, iat, exp, client_id, roles, permissions, auth_time, amr, email_verified, idp } =
    payload as Record<string, unknown>;
  if (typeof iss !== "string" || typeof aud !== "string") throw invalid("iss and aud must be strings");
  nonEmptyString("sub", sub);
  nonEmptyString("sid", sid);
  nonEmptyString("jti", jti);
  nonEmptyString("client_id", client_id);
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw invalid("iat and exp must be whole numbers");
  if (!isStringArray(roles) || !isStringArray(permissions))
    throw invalid("roles and permissions must be arrays of strings");
  // Tokens issued before the claim existed lack it: they say nothing was verified.
  if (email_verified !== undefined && typeof email_verified !== "boolean")
    throw invalid("email_verified must be a boolean");
  // Tokens from before auth_time and amr existed (they live ACCESS_TOKEN_TTL at most): a password
  // proved at some unknown time, so auth_time 0, never recent.
  if (auth_time !== undefined && !Number.isSafeInteger(auth_time)) throw invalid("auth_time must be a whole number");
  if (amr !== undefined && !isStringArray(amr)) throw invalid("amr must be an array of strings");
  // Absent after any sign-in but a provider's; present, it must be what issue.ts signs.
  if (idp !== undefined && (typeof idp !== "string" || idp.length === 0))
    throw invalid("idp must be a non-empty string");
  return {
    iss,
    aud,
    sub: sub as string,
    sid: sid as string,
    jti: jti as string,
    iat: iat as number,
    exp: exp as number,
    client_id: client_id as string,
    // The payload is jose's own parse of this token, held by nothing else: its arrays are taken, not copied.
    roles,
    permissions,
    auth_time: auth_time === undefined ? 0 : (auth_time as number),
    amr: amr === undefined ? ["pwd"] : (amr as string[]),
    email_verified: email_verified === true,
    ...(idp === undefined ? {} : { idp: idp as string }),
  };
}

function nonEmptyString(name: string, value: unknown): void {
  if (typeof value !== "string" || value.length === 0) throw invalid(`${name} must be a non-empty string`);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
