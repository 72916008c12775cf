// The whole check an access token passes before anything trusts it: a valid
// signature and claims, then a session that has not been revoked at the
// edge. The authenticate middleware and the AuthService RPC both use this.
import type { Config } from "../../config";
import type { Clock } from "../../context";
import { InvalidToken } from "../../errors";
import type { SessionRevocationList } from "../revocation";
import { loadKeySet } from "./keys";
import type { AccessTokenClaims } from "./types";
import { verifyAccessTokenWithGrants } from "./verify";

export type AccessTokenCheck = {
  config: Config;
  clock: Clock;
  revocations: SessionRevocationList;
};

export async function authenticateAccessToken(token: string, check: AccessTokenCheck): Promise<AccessTokenClaims> {
  const keys = await loadKeySet(check.config);
  const { claims, grantsVersion } = await verifyAccessTokenWithGrants(token, keys, check.config, check.clock);
  if (await check.revocations.refuses({ sid: claims.sid, sub: claims.sub, grantsVersion })) {
    throw new InvalidToken({ cause: new Error("the token's session has ended, or its user's roles changed after it was issued") });
  }
  return claims;
}
