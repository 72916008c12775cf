// The active organization's port: switching a session's organization, in one
// statement that also reads what the new access token carries.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { ActiveMembership } from "../../core/active-organization";
import type { Grants, RequestOrigin, SessionProof } from "../../core/domain";

/** The audit events this feature writes. */
export type ActiveOrganizationAuditEvent = "auth.org_switched";

/** A switch of the caller's own session: to `orgId`, or out of any organization (null). */
export type OrgSwitch = {
  sessionId: string;
  userId: string;
  /** A lower-cased UUID, or null to act in no organization. */
  orgId: string | null;
  origin: RequestOrigin;
  at: Date;
};

/**
 * The switched session, with everything its new access token says, read in the switching statement: the user's
 * grants and the membership of the organization now active (absent when switched out of any).
 */
export type Switched = Grants &
  SessionProof & {
    emailVerified: boolean;
    idleExpiresAt: Date;
    absoluteExpiresAt: Date;
    org?: ActiveMembership;
  };

/**
 * `switched`; `not_member` when `orgId` names no organization the user belongs to (nothing written);
 * `session_ended` when the session is no longer live or its user no longer active (nothing written).
 */
export type SwitchOutcome =
  | { kind: "switched"; session: Switched }
  | { kind: "not_member" }
  | { kind: "session_ended" };

export interface ActiveOrganizationStore {
  /**
   * Sets the live session's active organization, if its user is a member of it (or clears it), with an
   * auth.org_switched row (its org_id the organization switched to), and reads the grants and the membership the
   * session's new access token carries, all in one statement.
   */
  switchTo(input: OrgSwitch): Promise<SwitchOutcome>;
}
