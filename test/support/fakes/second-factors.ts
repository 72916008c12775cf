// In-memory SecondFactorStore and ChallengeStore over the memory model, with
// the rules of features/mfa/postgres.ts and sign-in/challenges.postgres.ts: a TOTP step
// accepted once and only after the last one, recovery codes single use,
// challenges single use and spent by their last allowed failure.
import type { ChallengeStore } from "../../../src/features/sign-in/store";
import type { FactorAudit, SecondFactorStore } from "../../../src/features/mfa/store";
import { endPendingEmailChanges, insertAudit, type MemoryState } from "./memory-model";

function audit(
  state: MemoryState,
  event: Parameters<typeof insertAudit>[1]["event"],
  userId: string,
  a: FactorAudit,
  metadata: Record<string, unknown> = {},
): void {
  insertAudit(state, {
    event,
    userId,
    actorId: a.actorId,
    sessionId: a.sessionId,
    origin: a.origin,
    metadata,
    at: a.at,
  });
}

function replaceCodes(state: MemoryState, userId: string, hashes: readonly string[], at: Date): void {
  for (const [hash, code] of state.recoveryCodes) if (code.userId === userId) state.recoveryCodes.delete(hash);
  for (const codeHash of hashes)
    state.recoveryCodes.set(codeHash, { codeHash, userId, usedAt: null, createdAt: new Date(at) });
}

export function secondFactorStore(state: MemoryState): SecondFactorStore {
  return {
    async totp(userId) {
      const f = state.totpFactors.get(userId);
      return (
        f && { secretCiphertext: f.secretCiphertext, confirmed: f.confirmedAt !== null, lastUsedStep: f.lastUsedStep }
      );
    },
    async putPendingTotp(userId, secretCiphertext, at) {
      const existing = state.totpFactors.get(userId);
      if (existing?.confirmedAt) return false;
      state.totpFactors.set(userId, {
        secretCiphertext,
        confirmedAt: null,
        lastUsedStep: null,
        createdAt: new Date(at),
        failedConfirmations: 0,
      });
      return true;
    },
    async failPendingTotp({ userId, maxFailures, audit: a }) {
      const f = state.totpFactors.get(userId);
      if (!f || f.confirmedAt !== null) return false;
      audit(state, "mfa.challenge_failed", userId, a, { method: "totp", enrolment: true });
      f.failedConfirmations += 1;
      if (f.failedConfirmations < maxFailures) return false;
      state.totpFactors.delete(userId);
      return true;
    },
    async acceptTotpStep({ userId, step, at, confirm }) {
      const f = state.totpFactors.get(userId);
      if (!f || (confirm ? f.confirmedAt !== null : f.confirmedAt === null)) return false;
      if (f.lastUsedStep !== null && f.lastUsedStep >= step) return false;
      f.lastUsedStep = step;
      if (confirm) {
        f.confirmedAt = new Date(at);
        replaceCodes(state, userId, confirm.recoveryCodeHashes, at);
        audit(state, "mfa.totp_enrolled", userId, confirm.audit, { recoveryCodes: confirm.recoveryCodeHashes.length });
        endPendingEmailChanges(state, userId, "factor_changed", at);
      }
      return true;
    },
    async removeTotp(userId, a) {
      const f = state.totpFactors.get(userId);
      if (!f) return false;
      state.totpFactors.delete(userId);
      if (!f.confirmedAt) return false;
      replaceCodes(state, userId, [], a.at);
      audit(state, "mfa.totp_removed", userId, a);
      endPendingEmailChanges(state, userId, "factor_changed", a.at);
      return true;
    },
    async replaceRecoveryCodes(userId, hashes, a) {
      if (!state.totpFactors.get(userId)?.confirmedAt) return false;
      replaceCodes(state, userId, hashes, a.at);
      audit(state, "mfa.recovery_codes_regenerated", userId, a, { recoveryCodes: hashes.length });
      endPendingEmailChanges(state, userId, "factor_changed", a.at);
      return true;
    },
    async spendRecoveryCode({ userId, codeHash, origin, at }) {
      const code = state.recoveryCodes.get(codeHash);
      if (!code || code.userId !== userId || code.usedAt !== null) return false;
      code.usedAt = new Date(at);
      insertAudit(state, {
        event: "mfa.recovery_code_used",
        userId,
        actorId: userId,
        sessionId: null,
        origin,
        metadata: {},
        at,
      });
      return true;
    },
    async removeAll(userId, a) {
      const totp = state.totpFactors.get(userId)?.confirmedAt != null;
      const passkeys = [...state.passkeys.values()].filter((p) => p.userId === userId);
      state.totpFactors.delete(userId);
      replaceCodes(state, userId, [], a.at);
      for (const p of passkeys) state.passkeys.delete(p.id);
      if (!totp && passkeys.length === 0) return false;
      audit(state, "mfa.removed", userId, a);
      endPendingEmailChanges(state, userId, "factor_changed", a.at);
      return true;
    },
  };
}

export function challengeStore(state: MemoryState): ChallengeStore {
  const live = (keyHash: string, at: Date) => {
    const c = state.challenges.get(keyHash);
    return c && c.usedAt === null && c.expiresAt > at ? c : undefined;
  };
  const view = (c: NonNullable<ReturnType<typeof live>>) => ({
    kind: c.kind,
    userId: c.userId,
    throttleKey: c.throttleKey,
    device: structuredClone(c.device ?? {}),
    firstFactor: c.firstFactor,
    failures: c.failures,
    expiresAt: new Date(c.expiresAt),
  });
  return {
    async create(challenge, at, rehashedPassword) {
      if (state.challenges.has(challenge.keyHash)) throw new Error("unique violation: challenge key");
      state.challenges.set(challenge.keyHash, {
        keyHash: challenge.keyHash,
        kind: challenge.kind,
        userId: challenge.userId,
        throttleKey: challenge.throttleKey ?? null,
        device: challenge.device ? structuredClone(challenge.device) : null,
        firstFactor: challenge.firstFactor ?? "pwd",
        failures: 0,
        createdAt: new Date(at),
        expiresAt: new Date(challenge.expiresAt),
        usedAt: null,
      });
      const user = challenge.userId ? state.users.get(challenge.userId) : undefined;
      if (user && rehashedPassword !== undefined)
        Object.assign(user, { passwordHash: rehashedPassword, updatedAt: new Date(at) });
    },
    async find(keyHash, kind, at) {
      const c = live(keyHash, at);
      return c && c.kind === kind ? view(c) : undefined;
    },
    async spend(keyHash, kind, at) {
      const c = live(keyHash, at);
      if (!c || c.kind !== kind) return undefined;
      c.usedAt = new Date(at);
      return view(c);
    },
    async recordFailure(keyHash, maxFailures, at) {
      const c = live(keyHash, at);
      if (!c) return;
      c.failures += 1;
      if (c.failures >= maxFailures) c.usedAt = new Date(at);
    },
  };
}
