// In-memory fakes for unit tests: every store port over one model, a
// recording revocation list, a recording mail outbox, and a clock that only
// moves when told to.
export { testClock, FIXED_NOW, type TestClock } from "./clock";
export { MemoryStores } from "./memory-stores";
export {
  SEEDED_ROLES,
  type MemoryAuditRow,
  type MemoryOneTimeToken,
  type MemorySession,
  type MemoryState,
  type MemoryToken,
} from "./memory-model";
export { RecordingOutbox } from "./outbox";
export { CountingRateLimit } from "./rate-limit";
export { RecordingRevocationList } from "./revocation-list";
export * from "./service-kit";
