// A MailOutbox that records every job it takes, in order, as the queue would
// hold them; `refuse` makes it reject like a queue that cannot take a job
// (ServiceUnavailable), recording nothing.
import { ServiceUnavailable } from "../../../src/core/errors";
import type { MailJob, MailOutbox } from "../../../src/features/mail/store";

export class RecordingOutbox implements MailOutbox {
  /** Every job taken, in order. */
  readonly jobs: MailJob[] = [];
  /** While true, enqueue rejects. */
  refuse = false;

  async enqueue(job: MailJob): Promise<void> {
    if (this.refuse) throw new ServiceUnavailable(new Error("queue refused the job"));
    this.jobs.push(structuredClone(job));
  }

  /** The jobs that are mails, optionally of one template. */
  mails(template?: string): Extract<MailJob, { kind: "mail" }>[] {
    return this.jobs.filter(
      (job): job is Extract<MailJob, { kind: "mail" }> =>
        job.kind === "mail" && (template === undefined || job.template === template),
    );
  }

  /** The token in the latest mail's link of this template (the `token` query parameter). */
  lastToken(template: "email_verification" | "password_reset" | "email_change_confirmation"): string {
    const mail = this.mails(template).at(-1);
    if (!mail || !("link" in mail)) throw new Error(`no ${template} mail recorded`);
    const token = new URL(mail.link).searchParams.get("token");
    if (!token) throw new Error(`the ${template} link carries no token`);
    return token;
  }
}
