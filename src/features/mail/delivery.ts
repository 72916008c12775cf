// What the mail queue's consumer does with a job (docs/account-lifecycle.md, mail through the queue): render it
// and hand it to the configured transport, and, for a job that ran out of
// retries, leave an audit row saying which mail a user never got. Neither
// the log line nor the audit row names the link or the address.
import type { Clock } from "../../core/clock";
import type { Brand } from "../../core/config";
import type { AuditLog } from "../activity/store";
import type { MailJob, MailTransport } from "./store";
import { renderMail } from "./templates";

export type MailDeliveryDeps = {
  /** Undefined: no transport configured; mail is logged as not sent. */
  transport: MailTransport | undefined;
  audit: Pick<AuditLog, "record">;
  clock: Clock;
  /** The mails' brand (BRAND_*); the default brand when absent. */
  brand?: Brand;
};

export class MailDelivery {
  constructor(private readonly deps: MailDeliveryDeps) {}

  /** Rejects when the transport does: the queue retries the job. */
  async deliver(job: Extract<MailJob, { kind: "mail" }>): Promise<void> {
    if (!this.deps.transport) {
      console.warn(
        JSON.stringify({ level: "warn", msg: "mail not sent: no transport configured", template: job.template }),
      );
      return;
    }
    await this.deps.transport.send(renderMail(job, this.deps.brand));
  }

  /**
   * A job the queue gave up on after `attempts` tries: `mail.delivery_failed`, with the template (or job kind) and
   * the count only.
   */
  async deadLetter(job: MailJob, attempts: number): Promise<void> {
    await this.deps.audit.record({
      event: "mail.delivery_failed",
      userId: job.kind === "mail" ? (job.userId ?? null) : null,
      origin: { ip: null, userAgent: null },
      metadata: { template: job.kind === "mail" ? job.template : job.kind, attempts },
      at: this.deps.clock(),
    });
  }
}
