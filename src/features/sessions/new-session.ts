// A new session's first refresh token and its expiries, as of one instant:
// the idle expiry never past the absolute one (docs/sessions.md).
import type { AuthMethod, DeviceInfo } from "../../core/domain";
import type { NewSession } from "./store";
import type { RefreshTokenCodec } from "./refresh-token";

export type SessionLifetimes = { refreshIdleTtl: number; refreshAbsoluteTtl: number };

/** The session to store (token hashed) and the refresh token to hand out. */
export function newSession(
  codec: RefreshTokenCodec,
  lifetimes: SessionLifetimes,
  device: DeviceInfo,
  at: Date,
  amr: AuthMethod[],
  /** A handoff's proof instant (the hosted pages' session's), and the provider of a federated sign-in. */
  proof: { authTime?: Date; idp?: string } = {},
): { session: NewSession; refreshToken: string } {
  const id = crypto.randomUUID();
  const refreshToken = codec.mint(id);
  const absoluteExpiresAt = new Date(at.getTime() + lifetimes.refreshAbsoluteTtl * 1000);
  const idleExpiresAt = new Date(Math.min(at.getTime() + lifetimes.refreshIdleTtl * 1000, absoluteExpiresAt.getTime()));
  return {
    session: {
      id,
      device,
      refreshTokenHash: codec.hash(refreshToken),
      idleExpiresAt,
      absoluteExpiresAt,
      amr,
      ...(proof.authTime ? { authTime: proof.authTime } : {}),
      ...(proof.idp ? { idp: proof.idp } : {}),
    },
    refreshToken,
  };
}
