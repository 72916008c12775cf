// The daily retention run's port.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.

export interface MaintenanceStore {
  deleteTokensOfEndedSessions(cutoff: Date, limit: number): Promise<number>;
  deleteEndedSessions(cutoff: Date, limit: number): Promise<number>;
  deleteStaleLoginThrottles(lastFailureBefore: Date, at: Date, limit: number): Promise<number>;
  /** One-time tokens that expired before `cutoff` (used or not). */
  deleteExpiredOneTimeTokens(cutoff: Date, limit: number): Promise<number>;
  /** Email sign-in codes (and unminted requests) that expired before `cutoff` (used or not). */
  deleteExpiredEmailCodes(cutoff: Date, limit: number): Promise<number>;
  /** Per-address email code quotas with no request since `before` (the cap counts only the last hour). */
  deleteStaleEmailCodeQuotas(before: Date, limit: number): Promise<number>;
  /** mfaTokens and WebAuthn challenges that expired before `cutoff` (used or not). */
  deleteExpiredChallenges(cutoff: Date, limit: number): Promise<number>;
  /** Revocation log rows written before `cutoff`: no token they could refuse still verifies. */
  deleteOldRevocationLog(cutoff: Date, limit: number): Promise<number>;
  /** Organization invitations that expired, were accepted or were revoked before `cutoff`. */
  deleteSpentInvitations(cutoff: Date, limit: number): Promise<number>;
  /** Provider sign-in flows, their one-time codes and native ID tokens' nonces that expired before `cutoff`. */
  deleteExpiredProviderState(cutoff: Date, limit: number): Promise<number>;
}
