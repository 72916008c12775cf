// The last step every way of signing in shares (password, password and a
// second factor, passkey): open the session with how it was proved, end the
// sessions beyond the cap at the edge, and answer the token pair and the
// device token. The access tokens of a session carry its last proof
// (auth_time, amr), which a refresh keeps.
import type { Clock } from "../../core/clock";
import { InvalidCredentials } from "../../core/errors";
import type { DeviceTokenCodec } from "./device-tokens";
import type { AuthMethod, DeviceInfo, Grants, RequestOrigin, SessionProof, UserRecord } from "../../core/domain";
import { endedSessions, type RevocationList, type SessionStore } from "../sessions/store";
import { issueTokenPair, newSession, type RefreshTokenCodec, type SessionLifetimes, type TokenPair } from "../sessions";
import type { AccessTokens, AccessTokenSubject } from "../tokens";

export type SignedIn = { user: UserRecord; tokens: TokenPair };

/** A sign-in also answers the device token for this account on this device. */
export type LoggedIn = SignedIn & { deviceToken: string };

export type SignInDeps = {
  sessions: Pick<SessionStore, "openSignIn">;
  settings: SessionLifetimes & { maxSessionsPerUser: number };
  clock: Clock;
  codec: RefreshTokenCodec;
  deviceTokens: DeviceTokenCodec;
  tokens: AccessTokens;
  revocations: Pick<RevocationList, "publish">;
};

export type SignInProof = {
  amr: AuthMethod[];
  /** When the proof was given, if before now (a handoff: the hosted pages' session's auth_time). */
  authTime?: Date;
  /** The provider id, when a federated sign-in (or the second step after one) opens the session. */
  idp?: string;
  device: DeviceInfo;
  origin: RequestOrigin;
  /** The throttle bucket the sign-in counted in: cleared with the session's opening. */
  clearThrottleKey: string;
  rehashedPassword?: string;
  /**
   * A device token the client presented that still names this account (answered back); else a new one is issued in
   * the account's current generation.
   */
  deviceToken?: string;
};

/**
 * Opens the session for an active user; the same answer as a failed sign-in when the account was disabled meanwhile.
 */
export async function openSignedInSession(deps: SignInDeps, user: UserRecord, proof: SignInProof): Promise<LoggedIn> {
  const { settings, clock } = deps;
  const at = clock();
  const { session, refreshToken } = newSession(deps.codec, settings, proof.device, at, proof.amr, {
    ...(proof.authTime ? { authTime: proof.authTime } : {}),
    ...(proof.idp ? { idp: proof.idp } : {}),
  });
  const { opened, evicted } = await deps.sessions.openSignIn({
    userId: user.id,
    session,
    origin: proof.origin,
    at,
    clearThrottleKey: proof.clearThrottleKey,
    rehashedPassword: proof.rehashedPassword,
    maxSessions: settings.maxSessionsPerUser,
  });
  if (!opened) throw new InvalidCredentials("account disabled during sign-in");
  // Sessions the cap ended: their access tokens stop now.
  if (evicted.length > 0) await deps.revocations.publish(endedSessions(evicted));
  const subject = subjectOf(user, session.id, {
    authTime: proof.authTime ?? at,
    amr: proof.amr,
    ...(proof.idp ? { idp: proof.idp } : {}),
  });
  const tokens = await issueTokenPair(deps.tokens, at, subject, {
    token: refreshToken,
    idleExpiresAt: session.idleExpiresAt,
    absoluteExpiresAt: session.absoluteExpiresAt,
  });
  return { user, tokens, deviceToken: proof.deviceToken ?? deps.deviceTokens.issue(user.id, user.deviceGeneration) };
}

/** What an access token of this user's session says. */
export function subjectOf(
  user: Grants & { id: string; emailVerified: boolean },
  sessionId: string,
  proof: SessionProof,
): AccessTokenSubject {
  return {
    userId: user.id,
    sessionId,
    roles: user.roles,
    permissions: user.permissions,
    grantsVersion: user.grantsVersion,
    emailVerified: user.emailVerified,
    authTime: proof.authTime,
    amr: proof.amr,
    ...(proof.idp === undefined ? {} : { idp: proof.idp }),
  };
}
