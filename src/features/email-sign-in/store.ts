// The email sign-in feature's port: the codes it mails and spends.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { RequestOrigin, UserRecord } from "../../core/domain";

/** The audit events this feature writes. */
export type EmailSignInAuditEvent = "auth.email_code_sent" | "auth.email_code_login";

/** A code as it is checked: its row, and the hash the presented code must match (none before it was minted). */
export type LiveEmailCode = { id: string; email: string; codeHash: string };

/** A re-authentication code to store for a signed-in session (POST /auth/reauthenticate/email). */
export type ReauthenticationCodeRequest = {
  id: string;
  sessionId: string;
  userId: string;
  email: string;
  addressKey: string;
  codeHash: string;
  maxPerHour: number;
  expiresAt: Date;
  origin: RequestOrigin;
  at: Date;
};

export interface EmailCodeStore {
  /**
   * Records a request for `email` (whether or not an account has it) if its
   * quota (`addressKey`, a hash of the address) admitted fewer than
   * `maxPerHour` in the hour before `at`, exactly even for requests racing
   * each other: the row the queue consumer will mint the code into. Undefined,
   * nothing written, past the cap. The user's row is never read here.
   */
  request(input: {
    email: string;
    addressKey: string;
    redirectTo: string | null;
    maxPerHour: number;
    expiresAt: Date;
    at: Date;
  }): Promise<{ id: string } | undefined>;
  /**
   * For the queue consumer, in one statement: reads the request and the
   * account with its address; if the address may be sent a code (an active
   * account, or none while `signUp`), ends every other live code of the
   * address (replaced), stores the hashes into the request's row with the
   * auth.email_code_sent row; otherwise ends the request unsent. Answers
   * what to mail, or undefined (nothing to send, or the request is no longer
   * pending: a retried job mints nothing twice).
   */
  mint(input: {
    id: string;
    codeHash: string;
    tokenHash: string;
    signUp: boolean;
    /** When the minted code stops working. */
    expiresAt: Date;
    at: Date;
  }): Promise<{ email: string; redirectTo: string | null; userId: string | null } | undefined>;
  /** The live code (minted, unspent, unexpired, under its failure cap) of this address, if any. */
  findLive(email: string, maxFailures: number, at: Date): Promise<LiveEmailCode | undefined>;
  /** The live code whose link token hashes to `tokenHash`, if any. */
  findByToken(tokenHash: string, maxFailures: number, at: Date): Promise<LiveEmailCode | undefined>;
  /** Counts a wrong code against a live one; the `maxFailures`-th spends it. */
  recordFailure(id: string, maxFailures: number, at: Date): Promise<void>;
  /**
   * Spends a live code: single use, so of two racing spends one wins. False
   * (nothing written) when it is no longer live.
   */
  spend(id: string, maxFailures: number, at: Date): Promise<boolean>;
  /**
   * A new account for a proven address (sign-up by code): email verified, no
   * password, the default role, with its user.registered row. Undefined,
   * nothing written, when an account took the address meanwhile.
   */
  createAccount(input: { email: string; origin: RequestOrigin; at: Date }): Promise<UserRecord | undefined>;
  /**
   * A re-authentication code for the caller's live session (POST /auth/reauthenticate/email), minted by the caller:
   * if the address's hourly quota (the sign-in codes' own, `addressKey`) admits it, ends the session's older live
   * codes (replaced) and stores the code's hash bound to the session, with an auth.email_code_sent row. False,
   * nothing written, past the cap or when the session is not the user's live one.
   */
  requestReauthentication(input: ReauthenticationCodeRequest): Promise<boolean>;
  /** The live re-authentication code of this session, if any; sign-in codes are never answered here. */
  findLiveForSession(sessionId: string, maxFailures: number, at: Date): Promise<LiveEmailCode | undefined>;
}
