// The second factors' port: the TOTP factor and the recovery codes.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { RequestOrigin } from "../../core/domain";

/** The audit events this feature writes. */
export type MfaAuditEvent =
  | "mfa.totp_enrolled"
  | "mfa.totp_removed"
  | "mfa.recovery_codes_regenerated"
  | "mfa.recovery_code_used"
  | "mfa.challenge_failed"
  | "mfa.removed";

/** A TOTP factor as stored: the secret only encrypted (see services/mfa/secret-box.ts). */
export type TotpFactorRecord = { secretCiphertext: string; confirmed: boolean; lastUsedStep: number | null };

/** Audit context of a second-factor change: who did it, from where, in which session. */
export type FactorAudit = { actorId: string | null; sessionId: string | null; origin: RequestOrigin; at: Date };

/**
 * Every method of SecondFactorStore and PasskeyStore that adds or removes a factor (or replaces recovery codes) also
 * ends the user's pending email change, in its statement.
 */
export interface SecondFactorStore {
  totp(userId: string): Promise<TotpFactorRecord | undefined>;
  /**
   * Stores a pending (unconfirmed) factor with no failed confirmations, replacing a pending one; false (nothing
   * written) when a confirmed one exists.
   */
  putPendingTotp(userId: string, secretCiphertext: string, at: Date): Promise<boolean>;
  /**
   * Accepts the code of time step `step` if it is later than the last
   * accepted one (a code works once), as one conditional UPDATE: two
   * requests racing with one code resolve to one. `confirm` (the pending
   * factor's first code): also confirms it and stores the recovery codes,
   * with an mfa.totp_enrolled row. False, nothing written, otherwise.
   */
  acceptTotpStep(input: {
    userId: string;
    step: number;
    at: Date;
    confirm?: { recoveryCodeHashes: string[]; audit: FactorAudit };
  }): Promise<boolean>;
  /**
   * Counts a wrong code against the user's pending (unconfirmed) factor,
   * with an mfa.challenge_failed row; the `maxFailures`-th deletes the
   * pending factor (a new enrolment must start). True when it ended it.
   */
  failPendingTotp(input: { userId: string; maxFailures: number; audit: FactorAudit }): Promise<boolean>;
  /** Removes the TOTP factor and its recovery codes, with an mfa.totp_removed row; false when there was none. */
  removeTotp(userId: string, audit: FactorAudit): Promise<boolean>;
  /**
   * Replaces the recovery codes of a user with a confirmed TOTP factor, with an mfa.recovery_codes_regenerated row;
   * false (nothing written) without one.
   */
  replaceRecoveryCodes(userId: string, codeHashes: string[], audit: FactorAudit): Promise<boolean>;
  /**
   * Spends an unused recovery code of the user, with an mfa.recovery_code_used row (never the code); false when it is
   * not one.
   */
  spendRecoveryCode(input: { userId: string; codeHash: string; origin: RequestOrigin; at: Date }): Promise<boolean>;
  /**
   * Removes every factor (TOTP, recovery codes, passkeys) with one mfa.removed row; false (and no row) when there
   * were none.
   */
  removeAll(userId: string, audit: FactorAudit): Promise<boolean>;
}
