// Issuing access tokens: the API.md claims, signed with the newest key.
import { SignJWT } from "jose";
import type { Config } from "../../config";
import type { Clock } from "../../context";
import { ACCESS_TOKEN_ALGORITHM, type KeySet } from "./keys";
import { GRANTS_VERSION_CLAIM, type AccessTokenClaims, type AccessTokenSubject } from "./types";
import { ACCESS_TOKEN_TYPE, MAX_ACCESS_TOKEN_LENGTH } from "./verify";

export const DEFAULT_CLIENT_ID = "secureauth";

export type IssuedAccessToken = { accessToken: string; expiresIn: number; claims: AccessTokenClaims };

export class AccessTokenIssuer {
  constructor(
    private readonly keys: KeySet,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {}

  async issue(subject: AccessTokenSubject): Promise<IssuedAccessToken> {
    const iat = Math.floor(this.clock().getTime() / 1000);
    const claims: AccessTokenClaims = {
      iss: this.config.issuer,
      aud: this.config.audience,
      sub: subject.userId,
      sid: subject.sessionId,
      jti: crypto.randomUUID(),
      iat,
      exp: iat + this.config.accessTokenTtl,
      client_id: subject.clientId ?? DEFAULT_CLIENT_ID,
      roles: [...subject.roles],
      permissions: [...subject.permissions],
    };
    const accessToken = await new SignJWT({ ...claims, [GRANTS_VERSION_CLAIM]: subject.grantsVersion ?? 0 })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: this.keys.signing.kid, typ: ACCESS_TOKEN_TYPE })
      .sign(this.keys.signing.key);
    // Verification refuses longer tokens before parsing them; issuing one
    // would lock the user out, so fail loudly here instead.
    if (accessToken.length > MAX_ACCESS_TOKEN_LENGTH) {
      throw new RangeError(`access token of ${accessToken.length} characters exceeds ${MAX_ACCESS_TOKEN_LENGTH}: too many roles or permissions`);
    }
    return { accessToken, expiresIn: this.config.accessTokenTtl, claims };
  }
}
