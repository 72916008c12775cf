// The in-memory OneTimeTokenStore: what src/features/lifecycle/postgres.ts
// decides in SQL. Issuing counts the user's rows of the purpose created in
// the hour before `at` (used, ended or live), refuses at `maxPerHour` with
// the time until the oldest of them leaves the hour, and otherwise ends the
// user's earlier unused tokens of the purpose, stores the new hash and writes
// the audit row. Spending marks a token used only while it is unused,
// unexpired, of the purpose asked for, and its user is active and still has
// the address it was mailed to.
import type { OneTimeTokenStore } from "../../../src/features/lifecycle/store";
import { endOneTimeTokens, insertAudit, insertOneTimeToken, type MemoryState } from "./memory-model";

const HOUR_MS = 3600_000;

export function oneTimeTokenStore(state: MemoryState): OneTimeTokenStore {
  return {
    async issue({ token, maxPerHour, audit, at }) {
      const windowStart = at.getTime() - HOUR_MS;
      const recent = [...state.oneTimeTokens.values()].filter(
        (t) =>
          t.userId === token.userId &&
          t.purpose === token.purpose &&
          t.createdAt.getTime() > windowStart &&
          (token.requesterNetwork === undefined || t.requesterNetwork === token.requesterNetwork),
      );
      if (!state.users.has(token.userId) || recent.length >= maxPerHour) {
        const oldest = recent.length > 0 ? Math.min(...recent.map((t) => t.createdAt.getTime())) : at.getTime();
        return { issued: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + HOUR_MS - at.getTime()) / 1000)) };
      }
      endOneTimeTokens(state, token.userId, "replaced", at, token.purpose);
      insertOneTimeToken(state, token.userId, token.email, token, at);
      insertAudit(state, {
        event: audit.event,
        userId: token.userId,
        actorId: audit.actorId,
        sessionId: audit.sessionId ?? null,
        origin: audit.origin,
        at,
      });
      return { issued: true };
    },
    async spend({ tokenHash, purpose, at }) {
      const token = state.oneTimeTokens.get(tokenHash);
      const user = token && state.users.get(token.userId);
      if (!token || !user || token.purpose !== purpose || token.usedAt !== null || !(token.expiresAt > at))
        return undefined;
      if (user.status !== "active" || user.email !== token.email) return undefined;
      Object.assign(token, { usedAt: new Date(at), endedReason: "used" });
      return { userId: token.userId, email: token.email, newEmail: token.newEmail };
    },
  };
}
