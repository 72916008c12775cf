// The state behind MemoryStores: one in-memory copy of the tables the Postgres
// stores use (users, roles, sessions, refresh tokens, one-time tokens,
// throttles, audit rows), and the rules their SQL applies that more than one
// store needs: a user's grants, when a session is live, opening a session,
// storing and ending one-time tokens, writing an audit row, the throttle's
// back-off. Rows are plain data, so a snapshot is a structuredClone.
import type { AuditEventName } from "../../../src/features/activity/store";
import type { AuthMethod, DeviceInfo, RequestOrigin, UserRecord } from "../../../src/core/domain";
import type { ChallengeKind } from "../../../src/features/sign-in/store";
import type { NewOneTimeToken, OneTimePurpose } from "../../../src/features/lifecycle/store";
import type { NewSession, SessionRecord } from "../../../src/features/sessions/store";
import type { PasskeyCredential } from "../../../src/features/passkeys/store";

/**
 * A users row: the record without the grants (those are rows of their own),
 * with updated_at, and with email_verified_at where the record has a flag.
 */
export type MemoryUser = Omit<UserRecord, "roles" | "permissions" | "emailVerified" | "mfa"> & {
  emailVerifiedAt: Date | null;
  updatedAt: Date;
  deviceGeneration: number;
};

export type MemorySession = SessionRecord & {
  revokedAt: Date | null;
  revokedReason: string | null;
  authTime: Date;
  amr: AuthMethod[];
};

/** A totp_factors row: the secret only sealed. */
export type MemoryTotpFactor = {
  secretCiphertext: string;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
  createdAt: Date;
  failedConfirmations: number;
};

export type MemoryRecoveryCode = { codeHash: string; userId: string; usedAt: Date | null; createdAt: Date };

export type MemoryChallenge = {
  keyHash: string;
  kind: ChallengeKind;
  userId: string | null;
  throttleKey: string | null;
  firstFactor: "pwd" | "email" | "fed" | null;
  device: DeviceInfo | null;
  failures: number;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
};

export type MemoryToken = {
  tokenHash: string;
  sessionId: string;
  parentHash: string | null;
  createdAt: Date;
  usedAt: Date | null;
  expiresAt: Date;
};

/**
 * A one_time_tokens row: the hash only, never the token. `usedAt` is set when it is spent or ended (`endedReason` says
 * which).
 */
export type MemoryOneTimeToken = {
  tokenHash: string;
  userId: string;
  purpose: OneTimePurpose;
  email: string;
  newEmail: string | null;
  /** A hash of the network that asked for it (password reset). */
  requesterNetwork: string | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  endedReason: string | null;
};

export type MemoryThrottle = {
  key: string;
  failures: number;
  lastFailureAt: Date;
  lockedUntil: Date | null;
  /** The lock whose auth.throttled row is written (login_throttles.audited_lock_until). */
  auditedLockUntil: Date | null;
};

export type MemoryAuditRow = {
  id: string;
  event: string;
  userId: string | null;
  actorId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
};

export type MemoryRole = { description: string; permissions: string[] };

export type MemoryState = {
  users: Map<string, MemoryUser>;
  /** user id -> role names. */
  userRoles: Map<string, Set<string>>;
  roles: Map<string, MemoryRole>;
  sessions: Map<string, MemorySession>;
  /** By token hash. */
  refreshTokens: Map<string, MemoryToken>;
  /** By token hash. */
  oneTimeTokens: Map<string, MemoryOneTimeToken>;
  throttles: Map<string, MemoryThrottle>;
  /** In insertion order. */
  audit: MemoryAuditRow[];
  /** By user id. */
  totpFactors: Map<string, MemoryTotpFactor>;
  /** By code hash. */
  recoveryCodes: Map<string, MemoryRecoveryCode>;
  /** By key hash. */
  challenges: Map<string, MemoryChallenge>;
  /** By passkey id. */
  passkeys: Map<string, PasskeyCredential>;
};

const USER_PERMISSIONS = ["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"];

/** The built-in roles of drizzle/0001_seed_roles.sql. */
export const SEEDED_ROLES: Record<string, MemoryRole> = {
  user: { description: "Every account", permissions: USER_PERMISSIONS },
  admin: {
    description: "Operators of this SecureAuth instance",
    permissions: [...USER_PERMISSIONS, "users:read", "users:write", "roles:assign", "sessions:revoke", "audit:read"],
  },
};

export const DEFAULT_ROLE = "user";

export function emptyState(): MemoryState {
  return {
    users: new Map(),
    userRoles: new Map(),
    roles: new Map(Object.entries(structuredClone(SEEDED_ROLES))),
    sessions: new Map(),
    refreshTokens: new Map(),
    oneTimeTokens: new Map(),
    throttles: new Map(),
    audit: [],
    totpFactors: new Map(),
    recoveryCodes: new Map(),
    challenges: new Map(),
    passkeys: new Map(),
  };
}

/** Database-style ordering: code units, as the ASCII names here sort in Postgres too. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The permissions a set of roles grants together: distinct, sorted. */
export function permissionsOf(state: MemoryState, roleNames: Iterable<string>): string[] {
  const permissions = new Set<string>();
  for (const name of roleNames) for (const p of state.roles.get(name)?.permissions ?? []) permissions.add(p);
  return [...permissions].sort(byText);
}

/** A user with their grants as of now (a copy: changing it changes nothing stored). */
export function userRecord(state: MemoryState, user: MemoryUser): UserRecord {
  const roles = [...(state.userRoles.get(user.id) ?? [])].sort(byText);
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    status: user.status,
    passwordHash: user.passwordHash,
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: new Date(user.createdAt),
    roles,
    permissions: permissionsOf(state, roles),
    grantsVersion: user.grantsVersion,
    deviceGeneration: user.deviceGeneration,
    mfa: {
      totp: (state.totpFactors.get(user.id)?.confirmedAt ?? null) !== null,
      passkeys: [...state.passkeys.values()].filter((p) => p.userId === user.id).length,
    },
  };
}

export function isLive(session: MemorySession, at: Date): boolean {
  return session.revokedAt === null && session.idleExpiresAt > at && session.absoluteExpiresAt > at;
}

export function sessionRecord(session: MemorySession): SessionRecord {
  const {
    revokedAt: _revokedAt,
    revokedReason: _revokedReason,
    authTime: _authTime,
    amr: _amr,
    ...record
  } = structuredClone(session);
  return record;
}

/** A foreign key: writing a row that names a user who does not exist fails, as in Postgres. */
export function requireUser(state: MemoryState, id: string | null | undefined): void {
  if (id != null && !state.users.has(id)) throw new Error(`foreign key violation: no user ${id}`);
}

/** The session and its first refresh token, as fragments.ts insertSessionWithFirstToken. */
export function insertSessionWithFirstToken(state: MemoryState, userId: string, session: NewSession, at: Date): void {
  requireUser(state, userId);
  if (state.sessions.has(session.id)) throw new Error(`unique violation: session ${session.id}`);
  if (state.refreshTokens.has(session.refreshTokenHash)) throw new Error("unique violation: refresh token hash");
  state.sessions.set(session.id, {
    id: session.id,
    userId,
    device: structuredClone(session.device),
    createdAt: at,
    lastUsedAt: at,
    idleExpiresAt: session.idleExpiresAt,
    absoluteExpiresAt: session.absoluteExpiresAt,
    revokedAt: null,
    revokedReason: null,
    authTime: session.authTime ?? at,
    amr: [...session.amr],
  });
  state.refreshTokens.set(session.refreshTokenHash, {
    tokenHash: session.refreshTokenHash,
    sessionId: session.id,
    parentHash: null,
    createdAt: at,
    usedAt: null,
    expiresAt: session.idleExpiresAt,
  });
}

/** A one-time token row for `userId`, as fragments.ts insertOneTimeToken: the hash, never the token. */
export function insertOneTimeToken(
  state: MemoryState,
  userId: string,
  email: string,
  token: Omit<NewOneTimeToken, "userId" | "email">,
  at: Date,
): void {
  requireUser(state, userId);
  if (state.oneTimeTokens.has(token.tokenHash)) throw new Error("unique violation: one-time token hash");
  state.oneTimeTokens.set(token.tokenHash, {
    tokenHash: token.tokenHash,
    userId,
    purpose: token.purpose,
    email,
    newEmail: token.newEmail ?? null,
    requesterNetwork: token.requesterNetwork ?? null,
    createdAt: new Date(at),
    expiresAt: new Date(token.expiresAt),
    usedAt: token.endedReason === undefined ? null : new Date(at),
    endedReason: token.endedReason ?? null,
  });
}

/**
 * Ends the user's unused one-time tokens (of every purpose, or of those named), as fragments.ts endOneTimeTokens; how
 * many.
 */
export function endOneTimeTokens(
  state: MemoryState,
  userId: string,
  reason: string,
  at: Date,
  purpose?: OneTimePurpose | readonly OneTimePurpose[],
): number {
  const purposes = purpose === undefined ? undefined : typeof purpose === "string" ? [purpose] : purpose;
  let ended = 0;
  for (const token of state.oneTimeTokens.values()) {
    if (
      token.userId === userId &&
      token.usedAt === null &&
      (purposes === undefined || purposes.includes(token.purpose))
    ) {
      Object.assign(token, { usedAt: new Date(at), endedReason: reason });
      ended += 1;
    }
  }
  return ended;
}

/** Ends the user's pending email changes, as fragments.ts endPendingEmailChanges. */
export function endPendingEmailChanges(
  state: MemoryState,
  userId: string,
  reason: "password_changed" | "sessions_ended" | "factor_changed",
  at: Date,
): void {
  endOneTimeTokens(state, userId, reason, at, "email_change");
}

/** An audit row. audit_logs has no foreign keys: a deleted account's rows stay, and new ones may name it. */
export function insertAudit(
  state: MemoryState,
  row: {
    event: AuditEventName;
    userId?: string | null;
    actorId?: string | null;
    sessionId?: string | null;
    origin: RequestOrigin;
    metadata?: Record<string, unknown>;
    at: Date;
  },
): void {
  state.audit.push({
    id: crypto.randomUUID(),
    event: row.event,
    userId: row.userId ?? null,
    actorId: row.actorId ?? null,
    sessionId: row.sessionId ?? null,
    ip: row.origin.ip,
    userAgent: row.origin.userAgent,
    metadata: structuredClone(row.metadata ?? {}),
    createdAt: row.at,
  });
}

/** Attempts older than this no longer count (fragments.ts ATTEMPT_WINDOW_SECONDS). */
export const ATTEMPT_WINDOW_SECONDS = 3600;

/** The lock attempt `n` sets: none below the limit, then 15 s doubling up to 15 min (fragments.ts lockFrom). */
export function lockFrom(n: number, maxAttempts: number, at: Date): Date | null {
  if (n < maxAttempts) return null;
  return new Date(at.getTime() + Math.min(900, 15 * 2 ** Math.min(20, n - maxAttempts)) * 1000);
}

/** created_at as Postgres renders it for a keyset cursor, to the microsecond. */
export function cursorTimestamp(at: Date): string {
  return `${at.toISOString().slice(0, 23)}000Z`;
}

/** Compares (created_at, id) pairs in index order. */
export function compareKeys(a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number {
  return byText(a.createdAt, b.createdAt) || byText(a.id, b.id);
}
