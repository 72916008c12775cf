// The sessions feature's ports: sessions and refresh tokens in Postgres, and
// the edge's revocation list (the revocation feed, src/adapters/revocation-feed/).
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { AuthMethod, DeviceInfo, Grants, RequestOrigin, SessionProof } from "../../core/domain";
import type { ActiveMembership } from "../../core/active-organization";

/** The audit events this feature writes. */
export type SessionAuditEvent =
  | "auth.refreshed"
  | "auth.refresh_reused"
  | "auth.logged_out"
  | "session.revoked"
  | "session.evicted";

export type SessionRecord = {
  id: string;
  userId: string;
  device: DeviceInfo;
  createdAt: Date;
  lastUsedAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
};

/** A session about to open with its first refresh token (stored as a hash only). */
export type NewSession = {
  id: string;
  device: DeviceInfo;
  refreshTokenHash: string;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  /** How this sign-in was proved; its auth_time is the instant the session opens, unless `authTime` says. */
  amr: AuthMethod[];
  /** A handoff's session: the proof's instant is the hosted pages' session's, not this one's opening. */
  authTime?: Date;
  /** The provider id when a federated sign-in opens the session (its tokens' idp). */
  idp?: string;
};

/**
 * A session a store call ended, and when it was last used (signed in or
 * refreshed): none of its access tokens is newer than that, but for a
 * replay within REFRESH_REUSE_GRACE of it.
 */
export type EndedSession = { id: string; lastUsedAt: Date };

/** How and why sessions end; each ended session gets one audit row of `event`. */
/** A session opened by a sign-in of `userId`, with what the sign-in clears and stores (see openSignIn). */
export type SignInOpening = {
  userId: string;
  session: NewSession;
  origin: RequestOrigin;
  at: Date;
  clearThrottleKey: string;
  rehashedPassword?: string;
  maxSessions: number;
};

/** A refresh token presented for rotation, and its successor's hash (see rotate). */
export type Rotation = {
  tokenHash: string;
  successorHash: string;
  idleTtlSeconds: number;
  requireVerifiedEmail: boolean;
  origin: RequestOrigin;
  at: Date;
};

export type SessionEnd = {
  reason: string;
  event: Extract<SessionAuditEvent, "session.revoked" | "auth.logged_out">;
  /** null: the session's own user. */
  actorId: string | null;
  origin: RequestOrigin;
  at: Date;
};

/**
 * A rotated refresh token: its session and the user's grants, read in the
 * rotating statement; the session's idle expiry as the rotation slid it; and
 * the session's active organization, when it has one the user still belongs to.
 */
export type Rotated = Grants &
  SessionProof & {
    sessionId: string;
    userId: string;
    emailVerified: boolean;
    idleExpiresAt: Date;
    absoluteExpiresAt: Date;
    org?: ActiveMembership;
  };

/** What is known about a presented refresh token that could not be rotated. */
export type TokenLineage = {
  sessionId: string;
  userId: string;
  usedAt: Date | null;
  sessionLive: boolean;
  sessionIdleExpiresAt: Date;
  sessionAbsoluteExpiresAt: Date;
  userActive: boolean;
  userEmailVerified: boolean;
  /** The session's last proof, which a refresh keeps. */
  proof: SessionProof;
  /** The token minted from this one, if any. */
  child: { tokenHash: string; usedAt: Date | null } | null;
};

export interface SessionStore {
  /**
   * Opens a session for an active user with its first refresh token and an
   * auth.login_succeeded row; with it, clears the throttle key and stores a
   * rehashed password. `opened` false (nothing written) when the user is not
   * active. In the same statement, the user's least recently used live
   * sessions beyond `maxSessions` (counting the new one) end, each with a
   * session.evicted row: `evicted`, most recently used first.
   */
  openSignIn(input: SignInOpening): Promise<{ opened: boolean; evicted: string[] }>;
  /** The user's live sessions, most recently used first. */
  listLive(userId: string, now: Date): Promise<SessionRecord[]>;
  /** Ends one live session of the user; false when there was none. */
  end(sessionId: string, userId: string, end: SessionEnd): Promise<boolean>;
  /** Ends the session a refresh token belongs to, whoever's it is; its id, if one ended. */
  endByRefreshTokenHash(tokenHash: string, end: Omit<SessionEnd, "actorId">): Promise<string | undefined>;
  /**
   * Ends every live session of the user but `exceptSessionId`; the ended
   * sessions, most recently used first. In the same statement a new device
   * generation starts (every device token issued before stops counting) and
   * the user's pending email change ends, whether or not a session was live.
   */
  endAllForUser(userId: string, end: SessionEnd, exceptSessionId?: string): Promise<EndedSession[]>;
  /**
   * Records a new proof of a credential for a live session of the user
   * (re-authentication), with an auth.reauthenticated row: the session's
   * expiries and the provider that opened it (kept), and its active organization when the user still belongs to
   * it (read after the user's grants), or undefined (nothing written) when it is not live.
   */
  reauthenticate(input: {
    sessionId: string;
    userId: string;
    amr: AuthMethod[];
    origin: RequestOrigin;
    at: Date;
  }): Promise<{ idleExpiresAt: Date; absoluteExpiresAt: Date; idp?: string; org?: ActiveMembership } | undefined>;
}

export interface RefreshTokenStore {
  /**
   * rotation case 1, as one atomic statement: marks the presented
   * token used if it is its live session's current token, makes the
   * successor current, slides the idle expiry, audits auth.refreshed.
   */
  rotate(input: Rotation): Promise<Rotated | undefined>;
  lineage(tokenHash: string, at: Date): Promise<TokenLineage | undefined>;
  /**
   * The session's active organization, when it has one its user still belongs to (for the grace answer, which
   * reads it after the user's grants, so a change between the two reads leaves the token refused, never too rich).
   */
  activeMembership(sessionId: string, userId: string): Promise<ActiveMembership | undefined>;
  /** Reuse: ends the whole family with an auth.refresh_reused row. False if it had already ended. */
  revokeFamilyForReuse(sessionId: string, origin: RequestOrigin, at: Date): Promise<boolean>;
}

/**
 * What an access token tells the edge's revocation check: its session, user and grants version, and its active
 * organization's id and version when it carries one.
 */
export type TokenToCheck = { sid: string; sub: string; grantsVersion: number; org?: { id: string; version: number } };

/**
 * One revocation, as the edge learns it: a session ended; a user's grants version raised (their tokens carrying a
 * lower one are refused); an organization's version raised.
 */
export type Revocation =
  | { kind: "session"; subject: string }
  | { kind: "user"; subject: string; version: number }
  | { kind: "org"; subject: string; version: number };

/**
 * The edge's revocations (the revocation feed). Postgres records every revoking change itself, in the change's own
 * transaction; publishing after the commit is the fast path that makes it effective at once in this isolate and
 * everywhere within seconds.
 */
export interface RevocationList {
  /** Whether a token must be refused: its session ended, or its user's (or organization's) grants changed. */
  refuses(token: TokenToCheck): Promise<boolean>;
  /**
   * refuses, answered at once when the list can (the feed's copy within its freshness bound), else undefined: ask
   * refuses. A list without it is always asked through refuses.
   */
  refusesNow?(token: TokenToCheck): boolean | undefined;
  /** Publishes what a committed change revoked. Never throws: the change is committed whatever happens here. */
  publish(revocations: readonly Revocation[]): Promise<void>;
}

/** The entries for ended sessions. */
export function endedSessions(sessionIds: readonly string[]): Revocation[] {
  return sessionIds.map((subject) => ({ kind: "session", subject }));
}

/** The entries for raised grants versions. */
export function grantsChanged(changes: readonly { userId: string; grantsVersion: number }[]): Revocation[] {
  return changes.map(({ userId, grantsVersion }) => ({ kind: "user", subject: userId, version: grantsVersion }));
}

/** The entries for raised organization versions (a role redefined or deleted) and deleted organizations. */
export function orgChanged(changes: readonly { orgId: string; version: number }[]): Revocation[] {
  return changes.map(({ orgId, version }) => ({ kind: "org", subject: orgId, version }));
}
