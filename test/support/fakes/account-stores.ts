// The in-memory stores behind sign-in and sessions: users, the login
// throttle, registration, sessions and refresh tokens (one-time tokens are in
// one-time-tokens.ts). Each method decides
// what the Postgres statement of the same name decides (each feature's postgres.ts),
// and, like one statement, either makes all its changes or none.
import type { EndedSession, RefreshTokenStore, SessionEnd, SessionStore } from "../../../src/features/sessions/store";
import type { LoginThrottleStore, ThrottleAttempt, Admission } from "../../../src/features/sign-in/store";
import type { RegistrationStore, UserStore } from "../../../src/features/accounts/store";
import { ENDED_PASSWORD_HASH } from "../../../src/core/domain";
import {
  ATTEMPT_WINDOW_SECONDS,
  DEFAULT_ROLE,
  endOneTimeTokens,
  endPendingEmailChanges,
  insertAudit,
  insertOneTimeToken,
  insertSessionWithFirstToken,
  isLive,
  lockFrom,
  sessionRecord,
  userRecord,
  type MemorySession,
  type MemoryState,
} from "./memory-model";

export function userStore(state: MemoryState): UserStore {
  const byEmail = (email: string) => [...state.users.values()].find((u) => u.email === email);
  return {
    async findById(id) {
      const user = state.users.get(id);
      return user && userRecord(state, user);
    },
    async findByEmail(email) {
      const user = byEmail(email);
      return user && userRecord(state, user);
    },
    async setPasswordHash(id, passwordHash, at) {
      const user = state.users.get(id);
      if (!user) return;
      Object.assign(user, { passwordHash, updatedAt: new Date(at) });
      // A reset link dies with the password it was for, and so does a pending email change.
      endOneTimeTokens(state, id, "password_changed", at, ["password_reset", "email_change"]);
      // So do sign-ins waiting for their second step.
      for (const c of state.challenges.values())
        if (c.userId === id && c.kind === "mfa_sign_in" && c.usedAt === null) c.usedAt = new Date(at);
    },
    async claimByProof({ userId, proof, endPassword, origin, at }) {
      const user = state.users.get(userId);
      if (!user || user.emailVerifiedAt !== null) return undefined;
      Object.assign(user, {
        emailVerifiedAt: new Date(at),
        updatedAt: new Date(at),
        deviceGeneration: user.deviceGeneration + 1,
      });
      if (endPassword) user.passwordHash = ENDED_PASSWORD_HASH;
      const ended = endSessions(state, (s) => s.userId === userId, {
        reason: proof,
        event: "session.revoked",
        actorId: null,
        origin,
        at,
      });
      const oneTimeTokens = endOneTimeTokens(state, userId, "claimed_by_proof", at);
      const totp = state.totpFactors.delete(userId) ? 1 : 0;
      const codes = [...state.recoveryCodes.values()].filter((c) => c.userId === userId);
      for (const code of codes) state.recoveryCodes.delete(code.codeHash);
      const passkeys = [...state.passkeys.values()].filter((p) => p.userId === userId);
      for (const passkey of passkeys) state.passkeys.delete(passkey.id);
      const challenges = [...state.challenges.values()].filter(
        (c) => c.userId === userId && c.usedAt === null && c.expiresAt > at,
      );
      for (const challenge of challenges) challenge.usedAt = new Date(at);
      const metadata = {
        proof,
        sessions: ended.length,
        oneTimeTokens,
        totp,
        recoveryCodes: codes.length,
        passkeys: passkeys.length,
        identities: 0,
        challenges: challenges.length,
        passwordEnded: endPassword,
      };
      insertAudit(state, {
        event: "user.claimed_by_proof",
        userId,
        actorId: userId,
        sessionId: null,
        origin,
        metadata,
        at,
      });
      return ended;
    },
    async markEmailVerified(id, at) {
      const user = state.users.get(id);
      if (user) Object.assign(user, { emailVerifiedAt: user.emailVerifiedAt ?? new Date(at), updatedAt: new Date(at) });
    },
    async changeEmail(id, newEmail, at) {
      const user = state.users.get(id);
      const taken = byEmail(newEmail);
      if (!user || (taken && taken.id !== id)) return false;
      Object.assign(user, { email: newEmail, emailVerifiedAt: new Date(at), updatedAt: new Date(at) });
      endOneTimeTokens(state, id, "email_changed", at);
      return true;
    },
    async updateName(id, name, at) {
      const user = state.users.get(id);
      if (!user) return undefined;
      Object.assign(user, { name, updatedAt: new Date(at) });
      return userRecord(state, user);
    },
    async delete(id) {
      if (!state.users.delete(id)) return false;
      // The foreign keys cascade: roles, sessions (and their refresh tokens), one-time tokens. Audit rows and throttles
      // have none.
      state.userRoles.delete(id);
      const sessionIds = new Set([...state.sessions.values()].filter((s) => s.userId === id).map((s) => s.id));
      for (const sessionId of sessionIds) state.sessions.delete(sessionId);
      for (const token of [...state.refreshTokens.values()].filter((t) => sessionIds.has(t.sessionId)))
        state.refreshTokens.delete(token.tokenHash);
      for (const token of [...state.oneTimeTokens.values()].filter((t) => t.userId === id))
        state.oneTimeTokens.delete(token.tokenHash);
      return true;
    },
  };
}

export function throttleStore(state: MemoryState): LoginThrottleStore {
  function admit({ key, maxAttempts, at, audit }: ThrottleAttempt): Admission {
    const row = state.throttles.get(key);
    if (!row) {
      state.throttles.set(key, {
        key,
        failures: 1,
        lastFailureAt: new Date(at),
        lockedUntil: lockFrom(1, maxAttempts, at),
        auditedLockUntil: null,
      });
      return { admitted: true };
    }
    if (row.lockedUntil !== null && row.lockedUntil > at) {
      // One auth.throttled row per lock: the first refusal writes it and marks the lock.
      if (row.auditedLockUntil?.getTime() !== row.lockedUntil.getTime()) {
        insertAudit(state, {
          event: "auth.throttled",
          userId: audit.userId,
          actorId: audit.userId,
          origin: audit.origin,
          metadata: { scope: audit.scope },
          at,
        });
        row.auditedLockUntil = new Date(row.lockedUntil);
      }
      return { admitted: false, lockedUntil: new Date(row.lockedUntil) };
    }
    const next = row.lastFailureAt.getTime() < at.getTime() - ATTEMPT_WINDOW_SECONDS * 1000 ? 1 : row.failures + 1;
    Object.assign(row, { failures: next, lastFailureAt: new Date(at), lockedUntil: lockFrom(next, maxAttempts, at) });
    return { admitted: true };
  }
  return {
    async admit(attempt) {
      return admit(attempt);
    },
    async admitAndFindUser({ email, audit, device, ...attempt }) {
      const user = [...state.users.values()].find((u) => u.email === email);
      const deviceCounts =
        device !== undefined && user?.id === device.userId && user.deviceGeneration === device.generation;
      const counted = deviceCounts
        ? { key: device.key, scope: "device" as const }
        : { key: attempt.key, scope: "account" as const };
      const admission = admit({
        ...attempt,
        key: counted.key,
        audit: { ...audit, scope: counted.scope, userId: user?.id ?? null },
      });
      return { admission, user: user && userRecord(state, user), counted };
    },
    async clear(key) {
      state.throttles.delete(key);
    },
    async clearAccount(accountKey) {
      for (const key of [...state.throttles.keys()]) {
        if (key === accountKey || key.startsWith(`device:${accountKey}:`)) state.throttles.delete(key);
      }
    },
  };
}

export function registrationStore(state: MemoryState): RegistrationStore {
  return {
    async register({ email, passwordHash, name, session, verification, origin, at }) {
      if ([...state.users.values()].some((u) => u.email === email)) return undefined;
      const id = crypto.randomUUID();
      const user = {
        id,
        email,
        name,
        status: "active" as const,
        passwordHash,
        emailVerifiedAt: null,
        createdAt: new Date(at),
        updatedAt: new Date(at),
        grantsVersion: 0,
        deviceGeneration: 0,
      };
      state.users.set(id, user);
      state.userRoles.set(id, new Set([DEFAULT_ROLE]));
      if (session) insertSessionWithFirstToken(state, id, session, at);
      const sessionId = session?.id ?? null;
      insertAudit(state, { event: "user.registered", userId: id, actorId: id, sessionId, origin, at });
      // Only what the SQL stores: the hash, the expiry and (never, here) a new address; not the token the caller may
      // pass along.
      const { tokenHash, expiresAt, newEmail } = verification;
      insertOneTimeToken(state, id, email, { purpose: "email_verification", tokenHash, expiresAt, newEmail }, at);
      insertAudit(state, { event: "user.email_verification_sent", userId: id, actorId: id, sessionId, origin, at });
      return userRecord(state, user);
    },
  };
}

/** Ends the live sessions `which` picks, one audit row each (sessions.ts endWhere); most recently used first. */
function endSessions(state: MemoryState, which: (s: MemorySession) => boolean, end: SessionEnd): EndedSession[] {
  const ended = [...state.sessions.values()].filter((s) => which(s) && isLive(s, end.at));
  for (const session of ended) {
    Object.assign(session, { revokedAt: new Date(end.at), revokedReason: end.reason });
    insertAudit(state, {
      event: end.event,
      userId: session.userId,
      actorId: end.actorId ?? session.userId,
      sessionId: session.id,
      origin: end.origin,
      metadata: { reason: end.reason },
      at: end.at,
    });
  }
  return [...ended].sort(mostRecentlyUsedFirst).map((s) => ({ id: s.id, lastUsedAt: new Date(s.lastUsedAt) }));
}

export function sessionStore(state: MemoryState): SessionStore {
  const endWhere = (which: (s: MemorySession) => boolean, end: SessionEnd) => endSessions(state, which, end);
  return {
    async openSignIn({ userId, session, origin, at, clearThrottleKey, rehashedPassword, maxSessions }) {
      const user = state.users.get(userId);
      if (user?.status !== "active") return { opened: false, evicted: [] };
      // The cap, as the SQL: the live sessions after the (maxSessions - 1) most recently used, as they were before the
      // new one.
      const beyondCap = [...state.sessions.values()]
        .filter((s) => s.userId === userId && isLive(s, at))
        .sort(mostRecentlyUsedFirst)
        .slice(Math.max(0, maxSessions - 1));
      insertSessionWithFirstToken(state, userId, session, at);
      insertAudit(state, {
        event: "auth.login_succeeded",
        userId,
        actorId: userId,
        sessionId: session.id,
        origin,
        metadata: { amr: session.amr },
        at,
      });
      state.throttles.delete(clearThrottleKey);
      if (rehashedPassword !== undefined)
        Object.assign(user, { passwordHash: rehashedPassword, updatedAt: new Date(at) });
      for (const evicted of beyondCap) {
        Object.assign(evicted, { revokedAt: new Date(at), revokedReason: "evicted" });
        insertAudit(state, {
          event: "session.evicted",
          userId,
          actorId: userId,
          sessionId: evicted.id,
          origin,
          metadata: { reason: "evicted" },
          at,
        });
      }
      return { opened: true, evicted: beyondCap.map((s) => s.id) };
    },
    async listLive(userId, now) {
      return [...state.sessions.values()]
        .filter((s) => s.userId === userId && isLive(s, now))
        .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime() || (a.id < b.id ? 1 : -1))
        .map(sessionRecord);
    },
    async end(sessionId, userId, end) {
      return endWhere((s) => s.id === sessionId && s.userId === userId, end).length > 0;
    },
    async endByRefreshTokenHash(tokenHash, end) {
      const sessionId = state.refreshTokens.get(tokenHash)?.sessionId;
      return endWhere((s) => s.id === sessionId, { ...end, actorId: null })[0]?.id;
    },
    async endAllForUser(userId, end, exceptSessionId) {
      const user = state.users.get(userId);
      // A new device generation, whether or not any session was live.
      if (user) user.deviceGeneration += 1;
      endPendingEmailChanges(state, userId, "sessions_ended", end.at);
      return endWhere((s) => s.userId === userId && s.id !== exceptSessionId, end);
    },
    async reauthenticate({ sessionId, userId, amr, origin, at }) {
      const session = state.sessions.get(sessionId);
      if (!session || session.userId !== userId || !isLive(session, at)) return undefined;
      Object.assign(session, { authTime: new Date(at), amr: [...amr] });
      insertAudit(state, {
        event: "auth.reauthenticated",
        userId,
        actorId: userId,
        sessionId,
        origin,
        metadata: { amr },
        at,
      });
      return { idleExpiresAt: new Date(session.idleExpiresAt), absoluteExpiresAt: new Date(session.absoluteExpiresAt) };
    },
  };
}

/** The order of sessions.ts: last used, newest first, then id, descending. */
function mostRecentlyUsedFirst(a: MemorySession, b: MemorySession): number {
  return b.lastUsedAt.getTime() - a.lastUsedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function refreshTokenStore(state: MemoryState): RefreshTokenStore {
  return {
    async rotate({ tokenHash, successorHash, idleTtlSeconds, requireVerifiedEmail, origin, at }) {
      const token = state.refreshTokens.get(tokenHash);
      const session = token && state.sessions.get(token.sessionId);
      const user = session && state.users.get(session.userId);
      if (!token || !session || !user || !isLive(session, at) || user.status !== "active") return undefined;
      if (requireVerifiedEmail && user.emailVerifiedAt === null) return undefined;
      if (token.usedAt !== null || !(token.expiresAt > at)) return undefined;
      if (state.refreshTokens.has(successorHash)) throw new Error("unique violation: refresh token hash");
      const idleUntil = new Date(Math.min(at.getTime() + idleTtlSeconds * 1000, session.absoluteExpiresAt.getTime()));
      token.usedAt = new Date(at);
      state.refreshTokens.set(successorHash, {
        tokenHash: successorHash,
        sessionId: session.id,
        parentHash: tokenHash,
        createdAt: new Date(at),
        usedAt: null,
        expiresAt: idleUntil,
      });
      Object.assign(session, { lastUsedAt: new Date(at), idleExpiresAt: new Date(idleUntil) });
      if (origin.ip) session.device = { ...session.device, ip: origin.ip };
      insertAudit(state, {
        event: "auth.refreshed",
        userId: user.id,
        actorId: user.id,
        sessionId: session.id,
        origin,
        at,
      });
      const { roles, permissions, grantsVersion, emailVerified } = userRecord(state, user);
      return {
        sessionId: session.id,
        userId: user.id,
        roles,
        permissions,
        grantsVersion,
        emailVerified,
        idleExpiresAt: new Date(session.idleExpiresAt),
        absoluteExpiresAt: new Date(session.absoluteExpiresAt),
        authTime: new Date(session.authTime),
        amr: [...session.amr],
      };
    },
    async lineage(tokenHash, at) {
      const token = state.refreshTokens.get(tokenHash);
      const session = token && state.sessions.get(token.sessionId);
      const user = session && state.users.get(session.userId);
      if (!token || !session || !user) return undefined;
      const child = [...state.refreshTokens.values()].find((t) => t.parentHash === tokenHash);
      return {
        sessionId: session.id,
        userId: user.id,
        usedAt: token.usedAt && new Date(token.usedAt),
        sessionLive: isLive(session, at),
        sessionIdleExpiresAt: new Date(session.idleExpiresAt),
        sessionAbsoluteExpiresAt: new Date(session.absoluteExpiresAt),
        userActive: user.status === "active",
        userEmailVerified: user.emailVerifiedAt !== null,
        proof: { authTime: new Date(session.authTime), amr: [...session.amr] },
        child: child ? { tokenHash: child.tokenHash, usedAt: child.usedAt && new Date(child.usedAt) } : null,
      };
    },
    // The memory model has no organizations: no session of it acts in one.
    async activeMembership() {
      return undefined;
    },
    async revokeFamilyForReuse(sessionId, origin, at) {
      const session = state.sessions.get(sessionId);
      if (!session || session.revokedAt !== null) return false;
      Object.assign(session, { revokedAt: new Date(at), revokedReason: "refresh_token_reused" });
      insertAudit(state, {
        event: "auth.refresh_reused",
        userId: session.userId,
        actorId: null,
        sessionId,
        origin,
        metadata: { reason: "rotated refresh token presented again" },
        at,
      });
      return true;
    },
  };
}
