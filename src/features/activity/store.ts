// The audit trail's port, and every audit event name: each feature declares
// its own, combined here once.
import type { AuditEvent, KeysetCursor, Page, RequestOrigin } from "../../core/domain";
import type { AccountAuditEvent } from "../accounts/store";
import type { SignInAuditEvent } from "../sign-in/store";
import type { SessionAuditEvent } from "../sessions/store";
import type { AdminAuditEvent } from "../admin/store";
import type { LifecycleAuditEvent } from "../lifecycle/store";
import type { MailAuditEvent } from "../mail/store";
import type { MfaAuditEvent } from "../mfa/store";
import type { PasskeyAuditEvent } from "../passkeys/store";
import type { EmailSignInAuditEvent } from "../email-sign-in/store";
import type { FederationAuditEvent } from "../federation/store";
import type { OrganizationAuditEvent } from "../organizations/store";
import type { ActiveOrganizationAuditEvent } from "../active-organization/store";

/** Every audit event: the union of each feature's own names. */
export type AuditEventName =
  | AccountAuditEvent
  | SignInAuditEvent
  | SessionAuditEvent
  | AdminAuditEvent
  | LifecycleAuditEvent
  | MailAuditEvent
  | MfaAuditEvent
  | PasskeyAuditEvent
  | EmailSignInAuditEvent
  | FederationAuditEvent
  | OrganizationAuditEvent
  | ActiveOrganizationAuditEvent;

export type AuditEventInput = {
  event: AuditEventName;
  userId?: string | null;
  actorId?: string | null;
  sessionId?: string | null;
  /** The organization the event concerns (its own audit log, GET /orgs/{id}/audit-logs); also `orgId` in metadata. */
  orgId?: string | null;
  origin: RequestOrigin;
  metadata?: Record<string, unknown>;
  at: Date;
};

export interface AuditLog {
  record(event: AuditEventInput): Promise<void>;
  /** Newest first; `orgId`: only the events of that organization. */
  page(filter: {
    userId?: string;
    orgId?: string;
    event?: string;
    cursor?: KeysetCursor;
    limit: number;
  }): Promise<Page<AuditEvent>>;
}
