// The MailOutbox over the mail queue (Cloudflare Queues, binding MAIL_QUEUE):
// a request enqueues and the same Worker's queue handler sends, so a slow or
// failing provider never changes an HTTP answer. Only a queue that cannot
// take the job does: ServiceUnavailable, like any store that does not answer.
import { ServiceUnavailable } from "../../core/errors";
import type { MailJob, MailOutbox } from "../../features/mail/store";

export class QueueOutbox implements MailOutbox {
  constructor(private readonly queue: Queue<MailJob> | undefined) {}

  async enqueue(job: MailJob): Promise<void> {
    if (!this.queue) throw new ServiceUnavailable(new Error("MAIL_QUEUE binding is missing"));
    try {
      await this.queue.send(job, { contentType: "json" });
    } catch (error) {
      throw new ServiceUnavailable(error);
    }
  }
}
