// In-memory PasskeyStore over the memory model (features/passkeys/postgres.ts's rules): a credential id registered
// once, to anyone; removal only by its owner.
import type { PasskeyStore } from "../../../src/features/passkeys/store";
import { endPendingEmailChanges, insertAudit, type MemoryState } from "./memory-model";

export function memoryPasskeyStore(state: MemoryState): PasskeyStore {
  const record = (p: { id: string; name: string | null; createdAt: Date; lastUsedAt: Date | null }) => ({
    id: p.id,
    name: p.name,
    createdAt: new Date(p.createdAt),
    lastUsedAt: p.lastUsedAt && new Date(p.lastUsedAt),
  });
  return {
    async add(input, audit) {
      if ([...state.passkeys.values()].some((p) => p.credentialId === input.credentialId)) return undefined;
      const passkey = {
        ...structuredClone(input),
        id: crypto.randomUUID(),
        createdAt: new Date(audit.at),
        lastUsedAt: null,
      };
      state.passkeys.set(passkey.id, passkey);
      insertAudit(state, {
        event: "passkey.registered",
        userId: input.userId,
        actorId: audit.actorId,
        sessionId: audit.sessionId,
        origin: audit.origin,
        metadata: { passkeyId: passkey.id, name: input.name },
        at: audit.at,
      });
      endPendingEmailChanges(state, input.userId, "factor_changed", audit.at);
      return record(passkey);
    },
    async list(userId) {
      return [...state.passkeys.values()]
        .filter((p) => p.userId === userId)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .map(record);
    },
    async credentialsOf(userId) {
      return [...state.passkeys.values()]
        .filter((p) => p.userId === userId)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .map((p) => ({ credentialId: p.credentialId, transports: [...p.transports] }));
    },
    async findByCredentialId(credentialId) {
      const found = [...state.passkeys.values()].find((p) => p.credentialId === credentialId);
      return found && structuredClone(found);
    },
    async markUsed(id, { counter, backedUp, at }) {
      const p = state.passkeys.get(id);
      if (p) Object.assign(p, { counter, backedUp, lastUsedAt: new Date(at) });
    },
    async remove(id, userId, audit) {
      const p = state.passkeys.get(id);
      if (!p || p.userId !== userId) return false;
      state.passkeys.delete(id);
      insertAudit(state, {
        event: "passkey.removed",
        userId,
        actorId: audit.actorId,
        sessionId: audit.sessionId,
        origin: audit.origin,
        metadata: { passkeyId: id },
        at: audit.at,
      });
      endPendingEmailChanges(state, userId, "factor_changed", audit.at);
      return true;
    },
  };
}
