// Access tokens for one request: issue, verify (signature and claims), and
// authenticate (verify, then the edge revocation check), bound to the
// service's key set, configuration, clock and revocation list. The
// composition root builds one per request or RPC call.
import type { Clock } from "../../core/clock";
import { InvalidToken } from "../../core/errors";
import type { RevocationList, TokenToCheck } from "../sessions/store";
import { signAccessToken, type IssuedAccessToken, type IssueSettings } from "./issue";
import type { KeySet, PublicJwk } from "./keys";
import type { AccessTokenClaims, AccessTokenSubject, VerifiedAccessToken } from "./types";
import { isRemembered, rememberedRecord, verifiedRecord, verifyAccessToken } from "./verify";

export class AccessTokens {
  constructor(
    private readonly keys: KeySet,
    private readonly settings: IssueSettings,
    private readonly clock: Clock,
    private readonly revocations: Pick<RevocationList, "refuses" | "refusesNow">,
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
  async authenticatedRecord(token: string): Promise<VerifiedAccessToken> {
    const verified = await verifiedRecord(token, this.keys, this.settings, this.clock);
    const toCheck = tokenToCheck(verified);
    if (this.revocations.refusesNow?.(toCheck) ?? (await this.revocations.refuses(toCheck))) throw revoked();
    return verified;
  }

  /**
   * authenticatedRecord with no turn of the event loop, when none is needed: a token the isolate remembers, checked
   * against a revocation copy within its freshness bound. Undefined otherwise (ask authenticatedRecord); it throws
   * as authenticatedRecord does.
   */
  authenticatedRecordNow(token: string): VerifiedAccessToken | undefined {
    const known = rememberedRecord(token, this.keys, this.settings, this.clock);
    if (known === undefined) return undefined;
    const refused = this.revocations.refusesNow?.(tokenToCheck(known));
    if (refused) throw revoked();
    return refused === false ? known : undefined;
  }

  /** Whether `record` is this isolate's remembered record of `token`: the same object on the token's next uses. */
  remembers(token: string, record: VerifiedAccessToken): boolean {
    return isRemembered(token, this.keys, record);
  }

  private async check(verifying: Promise<VerifiedAccessToken>): Promise<VerifiedAccessToken> {
    const verified = await verifying;
    if (await this.revocations.refuses(tokenToCheck(verified))) throw revoked();
    return verified;
  }
}

function revoked(): InvalidToken {
  return new InvalidToken({
    cause: new Error(
      "the token's session has ended, or its user's roles changed (or its organization's) after it was issued",
    ),
  });
}

/** What the revocation list checks; a token with an active organization is also checked for that organization. */
function tokenToCheck({ claims, grantsVersion, orgVersion }: VerifiedAccessToken): TokenToCheck {
  const { sid, sub, org } = claims;
  return org === undefined
    ? { sid, sub, grantsVersion }
    : { sid, sub, grantsVersion, org: { id: org.id, version: orgVersion ?? 0 } };
}
