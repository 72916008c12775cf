// The account lifecycle's port: the one-time tokens its mailed links carry.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { RequestOrigin } from "../../core/domain";
import type { AuditEventName } from "../activity/store";

/** The audit events this feature writes. */
export type LifecycleAuditEvent =
  | "user.email_verification_sent"
  | "user.email_verified"
  | "user.password_reset_requested"
  | "user.password_reset"
  | "user.email_change_requested"
  | "user.email_changed"
  | "user.deleted"
  | "user.updated"
  | "user.claimed_by_proof";

export type OneTimePurpose = "email_verification" | "password_reset" | "email_change";

/**
 * How an address was first proven by a route through which its owner takes
 * the account over (UserStore.claimByProof): a completed password reset, or
 * a verified email sign-in code or magic link; a sign-in through a provider
 * that asserts the address verified.
 */
export type AddressProof = "password_reset" | "email_code" | "federated_sign_in";

/**
 * What a one-time token is, bound to: its purpose, its user, the address it was mailed to, and (email change) the new
 * address.
 */
export type NewOneTimeToken = {
  purpose: OneTimePurpose;
  userId: string;
  /** SHA-256 of the token: the token itself is never stored. */
  tokenHash: string;
  email: string;
  newEmail?: string;
  /**
   * A hash of the client network that asked for it (password reset): the
   * hourly limit then counts only the user's tokens of this purpose asked
   * for from that network.
   */
  requesterNetwork?: string;
  expiresAt: Date;
  /**
   * Stored already ended, with this reason: a request that counts toward the
   * hourly limit and ends the earlier tokens of its purpose like any other,
   * but whose link is never mailed (an email change to an address in use).
   */
  endedReason?: string;
};

export type OneTimeIssue = { issued: true } | { issued: false; retryAfterSeconds: number };

export type SpentOneTimeToken = { userId: string; email: string; newEmail: string | null };

export interface OneTimeTokenStore {
  /**
   * Stores a token, ending the user's earlier live tokens of its purpose,
   * with the audit row `audit.event`, all in one statement, if the user has
   * been sent fewer than `maxPerHour` of this purpose in the hour before
   * `at` (with `requesterNetwork`: from that network); otherwise writes
   * nothing and says when the next may be sent.
   */
  issue(input: {
    token: NewOneTimeToken;
    maxPerHour: number;
    audit: { event: AuditEventName; actorId: string | null; sessionId?: string | null; origin: RequestOrigin };
    at: Date;
  }): Promise<OneTimeIssue>;
  /**
   * Spends a live token of this purpose (unused, unexpired) whose user is
   * active and still has the address it was mailed to: marks it used and
   * answers what it was bound to. Undefined, with nothing written, for
   * any other token.
   */
  spend(input: { tokenHash: string; purpose: OneTimePurpose; at: Date }): Promise<SpentOneTimeToken | undefined>;
}
