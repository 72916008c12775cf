// The accounts feature's store ports: users (read and written by every
// feature through this port) and registration as one statement.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { RequestOrigin, UserRecord } from "../../core/domain";
import type { EndedSession, NewSession } from "../sessions/store";
import type { AddressProof, NewOneTimeToken } from "../lifecycle/store";

/** The audit events this feature writes. */
export type AccountAuditEvent = "user.registered" | "user.password_changed";

export interface UserStore {
  findById(id: string): Promise<UserRecord | undefined>;
  /** By normalised email. */
  findByEmail(email: string): Promise<UserRecord | undefined>;
  /**
   * A new password; in the same statement the user's live password-reset
   * tokens end (a reset link dies with the password it was for), and so do
   * the sign-ins waiting for a second factor and a pending email change
   * (whoever knew the old password may have asked for it).
   */
  setPasswordHash(id: string, passwordHash: string, at: Date): Promise<void>;
  /**
   * The first proof of the address by a route through which its owner takes
   * the account over (`proof`), as one statement: if the address was not
   * verified yet, marks it verified and ends everything its unproven holder
   * set up that could outlive the proof: every live session (session.revoked
   * rows, reason `proof`), every live one-time token (pending email changes
   * among them), the TOTP factor and recovery codes, the passkeys, the live
   * challenges (mfa sign-ins, passkey registrations), the provider
   * identities linked to it, the device tokens (a new device generation) and, with `endPassword`, the password; with one
   * user.claimed_by_proof row holding the counts. Undefined, nothing written,
   * when the address was verified already; else the sessions it ended, most
   * recently used first, for the edge.
   */
  claimByProof(input: {
    userId: string;
    proof: AddressProof;
    endPassword: boolean;
    origin: RequestOrigin;
    at: Date;
  }): Promise<EndedSession[] | undefined>;
  /** Marks the email verified (keeps an earlier verification time). */
  markEmailVerified(id: string, at: Date): Promise<void>;
  /**
   * Makes `newEmail` the user's address, verified, if no account holds it;
   * false (nothing written) when one does. Every live one-time token of the
   * user ends with the old address.
   */
  changeEmail(id: string, newEmail: string, at: Date): Promise<boolean>;
  /** The updated user, or undefined when there is none. */
  updateName(id: string, name: string | null, at: Date): Promise<UserRecord | undefined>;
  /**
   * Deletes the account with its roles, sessions, refresh and one-time tokens; its audit rows stay. False when there
   * was none.
   */
  delete(id: string): Promise<boolean>;
}

export type NewRegistration = {
  email: string;
  passwordHash: string;
  name: string | null;
  /** None when sign-in waits for a verified email (REQUIRE_VERIFIED_EMAIL). */
  session: NewSession | undefined;
  /** The verification token mailed with the welcome, stored with a user.email_verification_sent row. */
  verification: Omit<NewOneTimeToken, "userId" | "email" | "purpose">;
  origin: RequestOrigin;
  at: Date;
};

export interface RegistrationStore {
  /**
   * The user, the default role, the first session and the audit row at once; undefined when the email is taken
   * (nothing written).
   */
  register(input: NewRegistration): Promise<UserRecord | undefined>;
}
