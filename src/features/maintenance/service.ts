// Data retention, run daily by the Cron Trigger: ended sessions (with their
// refresh tokens) after `endedSessionDays`, unlocked throttle rows past the
// failure window, one-time tokens and email sign-in codes a day after expiry,
// provider flows, codes and nonces a day after theirs, organization invitations a
// day after they expired or were accepted or revoked: each is refused (or
// starts from nothing) either way, so deleting it changes no answer. A live session's tokens are never
// deleted (rotation needs them to recognise reuse); audit rows are kept
// (docs/operations.md). Deletes go in bounded batches.
import type { MaintenanceStore } from "./store";

export type RetentionPolicy = {
  /** Days an ended session (and its refresh tokens) is kept after it ended. */
  endedSessionDays: number;
  /** Seconds after its last failure that an unlocked throttle row is kept; at least the 1 h failure window. */
  loginThrottleSeconds: number;
  /** Rows per delete statement. */
  batchSize: number;
  /** Delete statements per kind of row per run. */
  maxBatchesPerRun: number;
};

export const DEFAULT_RETENTION: RetentionPolicy = {
  endedSessionDays: 30,
  loginThrottleSeconds: 3600,
  batchSize: 1000,
  maxBatchesPerRun: 100,
};

/** How long past its expiry a one-time token row is kept. */
const ONE_TIME_TOKEN_KEEP_MS = 24 * 3600 * 1000;
/**
 * How long a revocation log row is kept: past the longest access-token lifetime (ACCESS_TOKEN_TTL is at most a
 * day; the feed reads the log back that far) no token it refuses still verifies.
 */
const REVOCATION_LOG_KEEP_MS = (24 * 3600 + 3600) * 1000;

export type MaintenanceReport = {
  refreshTokens: number;
  sessions: number;
  loginThrottles: number;
  oneTimeTokens: number;
  /** Email sign-in codes and requests. */
  emailCodes: number;
  /** Per-address quotas of email codes with no request in the last hour. */
  emailCodeQuotas: number;
  /** mfaTokens and WebAuthn challenges. */
  challenges: number;
  revocationLog: number;
  /** Provider sign-in flows, their one-time codes, native ID tokens' nonces. */
  providerState: number;
  /** Organization invitations expired, accepted or revoked. */
  invitations: number;
  /** False when a kind hit maxBatchesPerRun: more is left for the next run. */
  complete: boolean;
};

export class MaintenanceService {
  private readonly policy: RetentionPolicy;

  constructor(
    private readonly store: MaintenanceStore,
    policy: Partial<RetentionPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_RETENTION, ...policy };
    const { endedSessionDays, loginThrottleSeconds, batchSize, maxBatchesPerRun } = this.policy;
    if (!(endedSessionDays >= 0) || !(loginThrottleSeconds >= 3600) || !(batchSize >= 1) || !(maxBatchesPerRun >= 1)) {
      throw new TypeError(
        "retention policy: endedSessionDays >= 0, loginThrottleSeconds >= 3600, batchSize and maxBatchesPerRun >= 1",
      );
    }
  }

  /** Prunes as of `at` (the scheduled time of the cron event). */
  async run(at: Date): Promise<MaintenanceReport> {
    const { endedSessionDays, loginThrottleSeconds } = this.policy;
    const sessionCutoff = new Date(at.getTime() - endedSessionDays * 24 * 3600 * 1000);
    const throttleCutoff = new Date(at.getTime() - loginThrottleSeconds * 1000);
    // Tokens first, so deleting their sessions cascades to nothing and every
    // statement stays within one batch.
    const refreshTokens = await this.drain((limit) => this.store.deleteTokensOfEndedSessions(sessionCutoff, limit));
    const sessions = await this.drain((limit) => this.store.deleteEndedSessions(sessionCutoff, limit));
    const loginThrottles = await this.drain((limit) => this.store.deleteStaleLoginThrottles(throttleCutoff, at, limit));
    const tokenCutoff = new Date(at.getTime() - ONE_TIME_TOKEN_KEEP_MS);
    const oneTimeTokens = await this.drain((limit) => this.store.deleteExpiredOneTimeTokens(tokenCutoff, limit));
    // They live 10 minutes; kept as long as one-time tokens. A quota matters for an hour after its last request.
    const emailCodes = await this.drain((limit) => this.store.deleteExpiredEmailCodes(tokenCutoff, limit));
    const emailCodeQuotas = await this.drain((limit) =>
      this.store.deleteStaleEmailCodeQuotas(new Date(at.getTime() - 3600_000), limit),
    );
    // They live 5 minutes; an hour's margin keeps the rows of attempts still being looked at.
    const challenges = await this.drain((limit) =>
      this.store.deleteExpiredChallenges(new Date(at.getTime() - 3600_000), limit),
    );
    const revocationLog = await this.drain((limit) =>
      this.store.deleteOldRevocationLog(new Date(at.getTime() - REVOCATION_LOG_KEEP_MS), limit),
    );
    // Flows live 10 minutes, codes 60 s, nonces as long as their ID token; a replayed code finds its row for a day.
    const providerState = await this.drain((limit) =>
      this.store.deleteExpiredProviderState(new Date(at.getTime() - ONE_TIME_TOKEN_KEEP_MS), limit),
    );
    // An invitation lives 7 days; once spent its link answers as an unknown one would.
    const invitations = await this.drain((limit) =>
      this.store.deleteSpentInvitations(new Date(at.getTime() - ONE_TIME_TOKEN_KEEP_MS), limit),
    );
    return {
      refreshTokens: refreshTokens.deleted,
      sessions: sessions.deleted,
      loginThrottles: loginThrottles.deleted,
      oneTimeTokens: oneTimeTokens.deleted,
      emailCodes: emailCodes.deleted,
      emailCodeQuotas: emailCodeQuotas.deleted,
      challenges: challenges.deleted,
      revocationLog: revocationLog.deleted,
      providerState: providerState.deleted,
      invitations: invitations.deleted,
      complete:
        refreshTokens.drained &&
        sessions.drained &&
        loginThrottles.drained &&
        oneTimeTokens.drained &&
        emailCodes.drained &&
        emailCodeQuotas.drained &&
        challenges.drained &&
        revocationLog.drained &&
        providerState.drained &&
        invitations.drained,
    };
  }

  private async drain(deleteBatch: (limit: number) => Promise<number>): Promise<{ deleted: number; drained: boolean }> {
    const { batchSize, maxBatchesPerRun } = this.policy;
    let deleted = 0;
    for (let batch = 0; batch < maxBatchesPerRun; batch++) {
      const n = await deleteBatch(batchSize);
      deleted += n;
      if (n < batchSize) return { deleted, drained: true };
    }
    return { deleted, drained: false };
  }
}
