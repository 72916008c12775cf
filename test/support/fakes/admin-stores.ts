// The in-memory stores behind administration and operations: the audit log,
// the admin's view of users, roles, the health probe and retention (expired
// one-time tokens among what it deletes). Each
// method decides what the Postgres statement of the same name decides.
import type { AdminUserStore, RoleStore } from "../../../src/features/admin/store";
import type { AuditEvent } from "../../../src/core/domain";
import type { AuditLog } from "../../../src/features/activity/store";
import type { HealthProbe } from "../../../src/features/health/store";
import type { MaintenanceStore } from "../../../src/features/maintenance/store";
import {
  compareKeys,
  cursorTimestamp,
  insertAudit,
  permissionsOf,
  requireUser,
  userRecord,
  type MemoryAuditRow,
  type MemoryState,
} from "./memory-model";

export function auditLog(state: MemoryState): AuditLog {
  return {
    async record(input) {
      insertAudit(state, input);
    },
    async page({ userId, event, cursor, limit }) {
      const keyed = state.audit
        .filter((row) => (!userId || row.userId === userId) && (!event || row.event === event))
        .map((row) => ({ row, key: { createdAt: cursorTimestamp(row.createdAt), id: row.id } }))
        .filter(({ key }) => !cursor || compareKeys(key, cursor) < 0)
        .sort((a, b) => compareKeys(b.key, a.key));
      const page = keyed.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(({ row }) => toAuditEvent(row)),
        nextCursor: keyed.length > limit && last ? last.key : null,
      };
    },
  };
}

function toAuditEvent(row: MemoryAuditRow): AuditEvent {
  return {
    id: row.id,
    event: row.event,
    ...(row.userId ? { userId: row.userId } : {}),
    ...(row.actorId ? { actorId: row.actorId } : {}),
    ...(row.sessionId ? { sessionId: row.sessionId } : {}),
    ...(row.ip ? { ip: row.ip } : {}),
    ...(row.userAgent ? { userAgent: row.userAgent } : {}),
    metadata: structuredClone(row.metadata),
    createdAt: row.createdAt.toISOString(),
  };
}

export function adminUserStore(state: MemoryState): AdminUserStore {
  return {
    async page({ search, cursor, limit }) {
      const needle = search?.toLowerCase();
      const keyed = [...state.users.values()]
        .filter(
          (u) => !needle || u.email.toLowerCase().includes(needle) || (u.name ?? "").toLowerCase().includes(needle),
        )
        .map((user) => ({ user, key: { createdAt: cursorTimestamp(user.createdAt), id: user.id } }))
        .filter(({ key }) => !cursor || compareKeys(key, cursor) > 0)
        .sort((a, b) => compareKeys(a.key, b.key));
      const page = keyed.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(({ user }) => userRecord(state, user)),
        nextCursor: keyed.length > limit && last ? last.key : null,
      };
    },
    async lockActorAndTarget(actorId, targetId) {
      const ids = actorId === null ? [targetId] : [actorId, targetId];
      return new Map(ids.flatMap((id) => (state.users.has(id) ? [[id, state.users.get(id)!.status] as const] : [])));
    },
    async setStatus(id, status, at) {
      const user = state.users.get(id);
      if (user) Object.assign(user, { status, updatedAt: new Date(at) });
    },
    async bumpGrantsVersion(id, at) {
      const user = state.users.get(id);
      if (!user) return 0;
      Object.assign(user, { grantsVersion: user.grantsVersion + 1, updatedAt: new Date(at) });
      return user.grantsVersion;
    },
    async exists(id) {
      return state.users.has(id);
    },
    async findIdByEmail(email) {
      return [...state.users.values()].find((u) => u.email === email)?.id;
    },
  };
}

export function roleStore(state: MemoryState): RoleStore {
  return {
    async existing(names) {
      return [...new Set(names)].filter((name) => state.roles.has(name));
    },
    async permissionsOf(names) {
      return permissionsOf(state, names);
    },
    async replaceForUser(userId, names) {
      requireUser(state, userId);
      const unknown = names.find((name) => !state.roles.has(name));
      if (unknown !== undefined) throw new Error(`foreign key violation: no role ${unknown}`);
      state.userRoles.set(userId, new Set(names));
    },
    async define(name, permissions, at) {
      const existing = state.roles.get(name);
      const before = existing ? [...existing.permissions].sort() : [];
      const after = [...new Set(permissions)].sort();
      if (existing) existing.permissions = after;
      else state.roles.set(name, { description: "", permissions: after });
      const changed = before.length !== after.length || before.some((p, i) => p !== after[i]);
      const holders = changed
        ? [...state.userRoles.entries()]
            .filter(([, names]) => names.has(name))
            .map(([userId]) => userId)
            .sort()
        : [];
      return {
        created: !existing,
        before,
        holders: holders.map((userId) => {
          const user = state.users.get(userId)!;
          Object.assign(user, { grantsVersion: user.grantsVersion + 1, updatedAt: new Date(at) });
          return { userId, grantsVersion: user.grantsVersion };
        }),
      };
    },
    async all() {
      return [...state.roles.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, role]) => ({ name, description: role.description, permissions: permissionsOf(state, [name]) }));
    },
  };
}

export function healthProbe(): HealthProbe {
  return { async ping() {} };
}

export function maintenanceStore(state: MemoryState): MaintenanceStore {
  const endedBefore = (cutoff: Date) => (s: { revokedAt: Date | null; idleExpiresAt: Date; absoluteExpiresAt: Date }) =>
    (s.revokedAt !== null && s.revokedAt < cutoff) || s.idleExpiresAt < cutoff || s.absoluteExpiresAt < cutoff;
  return {
    async deleteTokensOfEndedSessions(cutoff, limit) {
      const ended = endedBefore(cutoff);
      const doomed = [...state.refreshTokens.values()]
        .filter((t) => ended(state.sessions.get(t.sessionId)!))
        .slice(0, limit);
      for (const token of doomed) state.refreshTokens.delete(token.tokenHash);
      return doomed.length;
    },
    async deleteEndedSessions(cutoff, limit) {
      const ended = endedBefore(cutoff);
      const holding = new Set([...state.refreshTokens.values()].map((t) => t.sessionId));
      const doomed = [...state.sessions.values()].filter((s) => ended(s) && !holding.has(s.id)).slice(0, limit);
      for (const session of doomed) state.sessions.delete(session.id);
      return doomed.length;
    },
    async deleteStaleLoginThrottles(lastFailureBefore, at, limit) {
      const doomed = [...state.throttles.values()]
        .filter((t) => t.lastFailureAt < lastFailureBefore && (t.lockedUntil === null || t.lockedUntil <= at))
        .slice(0, limit);
      for (const throttle of doomed) state.throttles.delete(throttle.key);
      return doomed.length;
    },
    // Email sign-in codes are not modelled in memory (memory-stores.ts): there are none to delete.
    async deleteExpiredEmailCodes() {
      return 0;
    },
    // Nor are organizations (organizations.ts).
    async deleteSpentInvitations() {
      return 0;
    },
    async deleteStaleEmailCodeQuotas() {
      return 0;
    },
    async deleteExpiredOneTimeTokens(cutoff, limit) {
      const doomed = [...state.oneTimeTokens.values()].filter((t) => t.expiresAt < cutoff).slice(0, limit);
      for (const token of doomed) state.oneTimeTokens.delete(token.tokenHash);
      return doomed.length;
    },
    async deleteExpiredChallenges(cutoff, limit) {
      const doomed = [...state.challenges.values()].filter((c) => c.expiresAt < cutoff).slice(0, limit);
      for (const challenge of doomed) state.challenges.delete(challenge.keyHash);
      return doomed.length;
    },
    // The log is written by Postgres triggers; the fakes keep none.
    async deleteOldRevocationLog() {
      return 0;
    },
    // Provider flows, codes and nonces are not modelled in memory (fakes/federation.ts): nothing to delete.
    async deleteExpiredProviderState() {
      return 0;
    },
  };
}
