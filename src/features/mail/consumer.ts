// The mail queue's consumer (docs/account-lifecycle.md, mail through the queue). Each message stands alone: it
// is acked when its job is done and retried, with exponential back-off, when
// it throws, whatever the others in the batch do. A body that is not a
// MailJob is logged and acked, never retried forever. On the dead-letter
// queue every job is recorded as undeliverable and acked. Log lines name the
// template or job kind, the attempt and the error's class, never the link,
// the token or the address.
import { describeError } from "../../core/errors";
import type { MailJob, MailOutbox } from "./store";

type Mail = Extract<MailJob, { kind: "mail" }>;

export type MailConsumerDeps = {
  deliver(job: Mail): Promise<void>;
  /**
   * The password_reset mail for this address, asked for from `network` (a hash), or undefined when it belongs to no
   * active account or that network's hourly budget is spent.
   */
  mintPasswordReset(email: string, network?: string): Promise<MailJob | undefined>;
  /**
   * The email_sign_in_code mail for the request row `id`, or undefined when its address may not be sent one (a
   * disabled account, an unknown address with sign-up off) or the request was minted already.
   */
  mintEmailCode(id: string, signUp: boolean): Promise<MailJob | undefined>;
  outbox: MailOutbox;
  /** Records a job the queue gave up on after `attempts` tries. */
  deadLetter(job: MailJob, attempts: number): Promise<void>;
  isDeadLetterQueue: boolean;
};

/**
 * Tries a message gets on the mail queue before it moves to the dead-letter
 * queue: wrangler.toml's `max_retries = 5`, plus the first. (A message on the
 * dead-letter queue counts its attempts there afresh.)
 */
export const MAIL_QUEUE_ATTEMPTS = 6;

/** Whether a batch comes from a dead-letter queue: by wrangler.toml's naming, `secureauth-mail-dlq`. */
export const isDeadLetterQueue = (queueName: string): boolean => queueName.endsWith("-dlq");

/** Seconds before the next try after `attempts` tries: 30, 60, 120, ... up to 15 minutes. */
export function backoff(attempts: number): number {
  return Math.min(30 * 2 ** (Math.max(attempts, 1) - 1), 900);
}

export async function handleMailBatch(batch: MessageBatch<MailJob>, deps: MailConsumerDeps): Promise<void> {
  // One at a time: a batch is at most 10, and each SMTP send holds a socket.
  for (const message of batch.messages) await handle(message, deps);
}

async function handle(message: Message<MailJob>, deps: MailConsumerDeps): Promise<void> {
  const job: unknown = message.body;
  if (!isMailJob(job)) {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "mail queue: not a mail job; dropped",
        queue: deps.isDeadLetterQueue ? "dead-letter" : "mail",
        messageId: message.id,
      }),
    );
    message.ack();
    return;
  }
  try {
    if (deps.isDeadLetterQueue) {
      await deps.deadLetter(job, MAIL_QUEUE_ATTEMPTS);
    } else if (job.kind === "password_reset_request") {
      const mail = await deps.mintPasswordReset(job.email, job.network);
      if (mail) await deps.outbox.enqueue(mail);
    } else if (job.kind === "email_code_request") {
      const mail = await deps.mintEmailCode(job.id, job.signUp);
      if (mail) await deps.outbox.enqueue(mail);
    } else {
      await deps.deliver(job);
    }
    message.ack();
  } catch (error) {
    const delaySeconds = backoff(message.attempts);
    console.error(
      JSON.stringify({
        level: "error",
        msg: deps.isDeadLetterQueue
          ? "mail queue: recording an undelivered job failed; retrying"
          : "mail queue: job failed; retrying",
        template: job.kind === "mail" ? job.template : job.kind,
        attempt: message.attempts,
        retryInSeconds: delaySeconds,
        error: describeError(error),
      }),
    );
    message.retry({ delaySeconds });
  }
}

const LINK_TEMPLATES: readonly string[] = [
  "email_verification",
  "password_reset",
  "email_change_confirmation",
] satisfies Mail["template"][];

function isMailJob(body: unknown): body is MailJob {
  if (typeof body !== "object" || body === null) return false;
  const job = body as Record<string, unknown>;
  const text = (name: string) => typeof job[name] === "string" && job[name] !== "";
  if (job.kind === "password_reset_request") return text("email") && (job.network === undefined || text("network"));
  if (job.kind === "email_code_request") return text("id") && typeof job.signUp === "boolean";
  if (job.kind === "mail" && job.template === "email_sign_in_code")
    return text("to") && text("code") && text("link") && (job.userId === undefined || text("userId"));
  if (job.kind === "mail" && job.template === "organization_invitation")
    return text("to") && text("orgName") && text("link") && job.userId === undefined;
  if (job.kind !== "mail" || !text("to") || !text("userId")) return false;
  if (job.template === "email_change_notice" || job.template === "email_changed_notice") return text("newEmail");
  if (job.template === "email_in_use_notice") return true;
  if (job.template === "identity_linked_notice") return text("provider");
  if (job.template === "reauthentication_code") return text("code");
  return typeof job.template === "string" && LINK_TEMPLATES.includes(job.template) && text("link");
}
