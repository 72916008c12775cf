// Access tokens for one request: issue, verify (signature and claims), and
// authenticate (verify, then the edge revocation check), bound to the
// service's key set, configuration, clock and revocation list. The
// composition root builds one per request or RPC call.
import type { Clock } from "../../core/clock";
import { InvalidToken } from "../../core/errors";
import type { RevocationList } from "../sessions/store";
import { signAccessToken, type IssuedAccessToken, type IssueSettings } from "./issue";
import type { KeySet, PublicJwk } from "./keys";
import type { AccessTokenClaims, AccessTokenSubject, VerifiedAccessToken } from "./types";
import { verifiedRecord, verifyAccessToken } from "./verify";

export class AccessTokens {
  constructor(
    private readonly keys: KeySet,
    private readonly settings: IssueSettings,
    private readonly clock: Clock,
    private readonly revocations: Pick<RevocationList, "refuses">,
  ) {}

  issue(subject: AccessTokenSubject): Promise<IssuedAccessToken> {
    return signAccessToken(subject, this.keys, { ...this.settings, now: this.clock() });
  }

  /** The public halves of every key that verifies, for /.well-known/jwks.json. */
  jwks(): { keys: PublicJwk[] } {
    return this.keys.jwks;
  }

  /** Signature and claims only: for logout, where an already ended session is fine. */
  verify(token: string): Promise<VerifiedAccessToken> {
    return verifyAccessToken(token, this.keys, this.settings, this.clock);
  }

  /** The whole check before anything trusts a token: valid, and its session and grants not revoked at the edge. */
  async authenticate(token: string): Promise<AccessTokenClaims> {
    return (await this.check(verifyAccessToken(token, this.keys, this.settings, this.clock))).claims;
  }

  /**
   * authenticate, answering the isolate's own record of the token instead of a copy (verifiedRecord): the same
   * object on every use while the isolate remembers the token. For a caller that only reads it (the verify fast
   * path); the revocation check runs on every call all the same.
   */
  authenticatedRecord(token: string): Promise<VerifiedAccessToken> {
    return this.check(verifiedRecord(token, this.keys, this.settings, this.clock));
  }

  private async check(verifying: Promise<VerifiedAccessToken>): Promise<VerifiedAccessToken> {
    const verified = await verifying;
    const { claims, grantsVersion } = verified;
    if (await this.revocations.refuses({ sid: claims.sid, sub: claims.sub, grantsVersion, ...orgToCheck(verified) })) {
      throw new InvalidToken({
        cause: new Error(
          "the token's session has ended, or its user's roles changed (or its organization's) after it was issued",
        ),
      });
    }
    return verified;
  }
}

/** A token with an active organization is also checked against the feed's entries for that organization. */
function orgToCheck({ claims, orgVersion }: VerifiedAccessToken): { org?: { id: string; version: number } } {
  return claims.org === undefined ? {} : { org: { id: claims.org.id, version: orgVersion ?? 0 } };
}
