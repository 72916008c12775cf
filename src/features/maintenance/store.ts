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
  /** mfaTokens and WebAuthn challenges that expired before `cutoff` (used or not). */
  deleteExpiredChallenges(cutoff: Date, limit: number): Promise<number>;
  /** Provider sign-in flows, their one-time codes and native ID tokens' nonces that expired before `cutoff`. */
  deleteExpiredProviderState(cutoff: Date, limit: number): Promise<number>;
}
