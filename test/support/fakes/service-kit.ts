// The real collaborators the services take, built for unit tests: a cheap
// but real argon2id, the refresh-token codec, AccessTokens over the test
// signing keys with the test issuer, audience and lifetime, and the base URL
// of mailed links.
import type { Clock } from "../../../src/core/clock";
import type { Config } from "../../../src/config";
import type { DeviceInfo, RequestOrigin } from "../../../src/core/domain";
import type { NewSession, RevocationList } from "../../../src/features/sessions/store";
import { DeviceTokenCodec } from "../../../src/features/sign-in/device-tokens";
import { PasswordHasher } from "../../../src/features/accounts/passwords";
import { newSession, RefreshTokenCodec } from "../../../src/features/sessions";
import { AccessTokens, loadKeySet } from "../../../src/features/tokens";
import { TEST_SECRETS, TEST_SIGNING_KEYS } from "../../setup/secrets";
import { orgPermissionCatalog } from "../../../src/core/permissions";

export const CHEAP_ARGON2 = { memoryKib: 64, iterations: 1, parallelism: 1 };
export const UNIT_REFRESH_SECRET = "unit-test refresh secret, 32+ characters long";
export const LIFETIMES = { refreshIdleTtl: 7 * 24 * 3600, refreshAbsoluteTtl: 30 * 24 * 3600 };
export const TOKEN_SETTINGS = {
  issuer: TEST_SECRETS.JWT_ISSUER,
  audience: TEST_SECRETS.JWT_AUDIENCE,
  accessTokenTtl: Number(TEST_SECRETS.ACCESS_TOKEN_TTL),
  organizations: { permissions: orgPermissionCatalog(TEST_SECRETS.ORG_PERMISSIONS.split(",")) },
};
export const ORIGIN: RequestOrigin = { ip: "198.51.100.4", userAgent: "vitest" };
export const USER_PERMISSIONS = ["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"];
/** The mail settings the services take: the app whose pages the links open. */
export const MAIL_SETTINGS = { appUrl: TEST_SECRETS.APP_URL };

/** One array for the suite: loadKeySet imports a key list once. */
const signingKeys = TEST_SIGNING_KEYS as unknown as Config["signingKeys"];

export async function testAccessTokens(
  clock: Clock,
  revocations: Pick<RevocationList, "refuses">,
): Promise<AccessTokens> {
  return new AccessTokens(await loadKeySet({ signingKeys } as Config), TOKEN_SETTINGS, clock, revocations);
}

export const testHasher = () => new PasswordHasher(CHEAP_ARGON2);
export const testCodec = () => new RefreshTokenCodec(UNIT_REFRESH_SECRET);
export const testDeviceTokens = () => new DeviceTokenCodec(UNIT_REFRESH_SECRET);

/** A session as sign-in would open it at `at`, with its first refresh token. */
export function testSession(at: Date, device: DeviceInfo = {}): { session: NewSession; refreshToken: string } {
  return newSession(testCodec(), LIFETIMES, device, at, ["pwd"]);
}
