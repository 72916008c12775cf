// The mail feature's ports: the queue's jobs, the outbox that takes them and
// the transport that sends rendered mail.

/** The audit events this feature writes. */
export type MailAuditEvent = "mail.delivery_failed";

/**
 * A message on the mail queue (docs/account-lifecycle.md, mail through the queue). The only secret one may carry
 * is the one-time link its recipient must get. `password_reset_request` is
 * what forgot-password enqueues for every email alike: the queue consumer,
 * not the request, looks the address up and, for an active account, mints
 * the reset token and enqueues its `password_reset` mail. Its `network` is a
 * SHA-256 (hex) of the requesting client network, never the address itself
 * (absent in a job queued before it existed). Notices carry no link:
 * `email_change_notice` tells the old address a change was asked for,
 * `email_changed_notice` that it was made, and `email_in_use_notice` tells
 * an address already in use (`userId`: its holder) that someone tried to
 * make it their account's. `email_code_request` is what POST /auth/email/code
 * enqueues for every address alike (the request's row id, never the address,
 * and whether EMAIL_SIGN_UP was on when it was asked for): the consumer
 * mints the code and enqueues its `email_sign_in_code` mail,
 * which carries the code and the magic link (`userId` absent for an address
 * with no account yet); `identity_linked_notice` tells the account that a
 * sign-in provider was linked to it; `reauthentication_code` carries the
 * code a signed-in account without a password confirms it is itself with.
 */
export type MailJob =
  | {
      kind: "mail";
      template: "email_verification" | "password_reset" | "email_change_confirmation";
      to: string;
      userId: string;
      link: string;
    }
  | {
      kind: "mail";
      template: "email_change_notice" | "email_changed_notice";
      to: string;
      userId: string;
      newEmail: string;
    }
  | { kind: "mail"; template: "email_in_use_notice"; to: string; userId: string }
  | { kind: "mail"; template: "email_sign_in_code"; to: string; userId?: string; code: string; link: string }
  /** A re-authentication code (POST /auth/reauthenticate/email): the code alone, no link. */
  | { kind: "mail"; template: "reauthentication_code"; to: string; userId: string; code: string }
  /** A provider (its display name) was linked to the account: sign-ins through it now open the account. */
  | { kind: "mail"; template: "identity_linked_notice"; to: string; userId: string; provider: string }
  /**
   * An invitation to join an organization (its name) by the link `APP_URL/accept-invitation?token=`; the address
   * may have no account yet, so no `userId`.
   */
  | { kind: "mail"; template: "organization_invitation"; to: string; userId?: string; orgName: string; link: string }
  | { kind: "password_reset_request"; email: string; network?: string }
  | { kind: "email_code_request"; id: string; signUp: boolean };

export type MailTemplate = Extract<MailJob, { kind: "mail" }>["template"];

/** The request kinds: jobs the consumer turns into mail, deciding itself whether there is anyone to mail. */
export type MailRequestKind = Exclude<MailJob, { kind: "mail" }>["kind"];

/** Rendered mail, ready for a transport: the text part holds the whole link. */
export type OutgoingMail = { to: string; subject: string; text: string; html: string };

/** Sends one message (SMTP, an HTTP email API); rejects when the provider refused it or could not be reached. */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
}

/** Puts a job on the mail queue; rejects (a ServiceUnavailable) when the queue cannot take it. */
export interface MailOutbox {
  enqueue(job: MailJob): Promise<void>;
}
