// Mail delivery inside workerd, on real parts: the SMTP transport over
// cloudflare:sockets to the suite's SMTP server, the Resend transport over
// fetch to its Resend-shaped capture, and the queue consumer driven with
// real MessageBatches (cloudflare:test), its dead-letter audit row written
// to the real Postgres. What the consumer logs never holds a link or token.
import { connect } from "cloudflare:sockets";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config";
import { ServiceUnavailable } from "../../src/core/errors";
import {
  mailTransportFor,
  QueueOutbox,
  ResendError,
  ResendTransport,
  SmtpError,
  SmtpTransport,
} from "../../src/adapters/mail";
import { backoff, handleMailBatch, type MailConsumerDeps } from "../../src/features/mail/consumer";
import { MailDelivery } from "../../src/features/mail/delivery";
import type { MailJob, OutgoingMail } from "../../src/features/mail/store";
import { TEST_SECRETS } from "../setup/secrets";
import { testEnv } from "../support/db";
import { db, testService, uniqueEmail } from "../support/harness";
import { inbox, refuseNext, resend, tokenIn } from "../support/mail";

type Mail = Extract<MailJob, { kind: "mail" }>;

const service = testService();
const config = loadConfig(service.env);
const FROM = TEST_SECRETS.MAIL_FROM;
const SMTP_URL = new URL((service.env as unknown as { SMTP_URL: string }).SMTP_URL);
const INBOX_URL = (service.env as unknown as { MAIL_INBOX_URL: string }).MAIL_INBOX_URL;

function outgoing(to = uniqueEmail("smtp")): OutgoingMail {
  return {
    to,
    subject: "Verify your email address",
    text: "Open this link:\n\nhttps://app.example.com/verify-email?token=abc\n",
    html: '<p><a href="https://app.example.com/verify-email?token=abc">link</a></p>',
  };
}

function verificationJob(to = uniqueEmail("queue")): Mail & { link: string } {
  const token = crypto.randomUUID().replace(/-/g, "");
  return {
    kind: "mail",
    template: "email_verification",
    to,
    userId: crypto.randomUUID(),
    link: `${TEST_SECRETS.APP_URL}/verify-email?token=${token}`,
  };
}

let messageCounter = 0;
function batchOf(queue: string, jobs: { body: unknown; attempts?: number; id?: string }[]) {
  return createMessageBatch<MailJob>(
    queue,
    jobs.map(({ body, attempts = 1, id = `msg-${++messageCounter}` }) => ({
      id,
      timestamp: new Date(),
      attempts,
      body: body as MailJob,
    })),
  );
}

/**
 * Runs the consumer on a batch, as the Worker's queue handler does: the acks
 * and the retries, each with its delay (getQueueResult reports the retried
 * ids but drops the delay, so retry() is watched here).
 */
async function consume(batch: MessageBatch<MailJob>, deps: MailConsumerDeps) {
  const retries = batch.messages.map((message) => ({ id: message.id, spy: vi.spyOn(message, "retry") }));
  const ctx = createExecutionContext();
  await handleMailBatch(batch, deps);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages.map((r) => r.msgId)).toEqual(
    retries.filter((r) => r.spy.mock.calls.length > 0).map((r) => r.id),
  );
  return {
    explicitAcks: result.explicitAcks,
    retryMessages: retries.flatMap(({ id, spy }) =>
      spy.mock.calls.map(([options]) => ({ msgId: id, delaySeconds: options?.delaySeconds })),
    ),
  };
}

/** The consumer's deps over a real MailDelivery (configured transport, real audit store). */
function realDeps(overrides: Partial<MailConsumerDeps> = {}): { deps: MailConsumerDeps; close(): Promise<void> } {
  const { stores, close } = service.stores();
  const delivery = new MailDelivery({
    transport: mailTransportFor(config.mail),
    audit: stores.audit,
    clock: () => new Date(),
  });
  const deps: MailConsumerDeps = {
    deliver: (job) => delivery.deliver(job),
    deadLetter: (job, attempts) => delivery.deadLetter(job, attempts),
    mintPasswordReset: async () => undefined,
    mintEmailCode: async () => undefined,
    outbox: { enqueue: async () => {} },
    isDeadLetterQueue: false,
    ...overrides,
  };
  return { deps, close };
}

beforeEach(async () => {
  await inbox.clear();
  await refuseNext(0);
  await resend.failNext(0);
});

describe("SmtpTransport", () => {
  const transport = new SmtpTransport(SMTP_URL, FROM);

  it("delivers to the real SMTP server: recipient, from, subject, text and html arrive", async () => {
    const mail = outgoing();
    await transport.send(mail);
    const [received, ...more] = await inbox.all({ to: mail.to });
    expect(more).toEqual([]);
    expect(received!.to).toEqual([mail.to]);
    expect(received!.from).toBe(`"SecureAuth" <no-reply@auth.test.secureauth.dev>`);
    expect(received!.subject).toBe(mail.subject);
    expect(received!.text.trim()).toBe(mail.text.trim());
    expect(received!.html.trim()).toBe(mail.html);
  });

  it("sends in the clear on smtp:// when the server offers no STARTTLS", async () => {
    // The suite's server offers none: ask it, on a socket of our own.
    const socket = connect({ hostname: SMTP_URL.hostname, port: Number(SMTP_URL.port) });
    const writer = socket.writable.getWriter();
    const reader = socket.readable.pipeThrough(new TextDecoderStream()).getReader();
    const replyTo = async (prefix: RegExp) => {
      let reply = "";
      while (!prefix.test(reply)) reply += (await reader.read()).value ?? "";
      return reply;
    };
    await replyTo(/^220 .*\r\n$/m);
    await writer.write(new TextEncoder().encode("EHLO test\r\n"));
    const capabilities = await replyTo(/^250 .*\r\n$/m);
    await writer.write(new TextEncoder().encode("QUIT\r\n"));
    await socket.close();
    expect(capabilities).toMatch(/^250[ -]/);
    expect(capabilities).not.toMatch(/STARTTLS/i);

    const mail = outgoing();
    await transport.send(mail);
    expect(await inbox.all({ to: mail.to })).toHaveLength(1);
  });

  it("rejects a send the server refuses, with the reply code and nothing of the message", async () => {
    await refuseNext(1);
    const mail = outgoing();
    const error = await transport.send(mail).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SmtpError);
    expect((error as SmtpError).code).toBe("451");
    expect((error as Error).message).not.toContain(mail.to);
    expect(await inbox.all({ to: mail.to })).toEqual([]);
  });

  it("rejects when nothing listens", async () => {
    // The global setup's closed port: nothing listens there.
    const closed = new SmtpTransport(new URL(`smtp://127.0.0.1:${new URL(testEnv.CLOSED_DATABASE_URL).port}`), FROM);
    await expect(closed.send(outgoing())).rejects.toBeInstanceOf(SmtpError);
  });
});

describe("ResendTransport", () => {
  const KEY = "re_test_0123456789abcdef";
  const transport = new ResendTransport({ apiKey: KEY, apiUrl: INBOX_URL, from: FROM });

  it("posts Resend's shape to POST /emails with the bearer key", async () => {
    const mail = outgoing(uniqueEmail("resend"));
    await transport.send(mail);
    const sent = (await resend.requests()).filter((r) => r.body.to.includes(mail.to));
    expect(sent).toEqual([
      {
        authorization: `Bearer ${KEY}`,
        body: { from: FROM, to: [mail.to], subject: mail.subject, text: mail.text, html: mail.html },
      },
    ]);
  });

  it("rejects a 500 without the key or the answer's body in the error", async () => {
    await resend.failNext(1);
    const error = await transport.send(outgoing(uniqueEmail("resend"))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ResendError);
    expect((error as ResendError).code).toBe("500");
    const text = `${(error as Error).message} ${(error as Error).stack ?? ""}`;
    expect(text).not.toContain(KEY);
    expect(text).not.toContain("capture server told to fail");
  });
});

describe("QueueOutbox", () => {
  const job = verificationJob();

  it("puts the job on the queue as JSON", async () => {
    const sent: { body: MailJob; options: QueueSendOptions | undefined }[] = [];
    const queue = {
      send: async (body: MailJob, options?: QueueSendOptions) => void sent.push({ body, options }),
    } as unknown as Queue<MailJob>;
    await new QueueOutbox(queue).enqueue(job);
    expect(sent).toEqual([{ body: job, options: { contentType: "json" } }]);
  });

  it("throws ServiceUnavailable without a binding, or when the queue refuses", async () => {
    await expect(new QueueOutbox(undefined).enqueue(job)).rejects.toBeInstanceOf(ServiceUnavailable);
    const failing = { send: async () => Promise.reject(new Error("queue down")) } as unknown as Queue<MailJob>;
    await expect(new QueueOutbox(failing).enqueue(job)).rejects.toBeInstanceOf(ServiceUnavailable);
  });
});

describe("handleMailBatch", () => {
  it("backs off 30 s, doubling per attempt, up to 15 minutes", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(backoff)).toEqual([30, 60, 120, 240, 480, 900, 900, 900]);
  });

  it("acks a delivered message", async () => {
    const { deps, close } = realDeps();
    try {
      const job = verificationJob();
      const batch = batchOf("secureauth-mail", [{ body: job, id: "delivered" }]);
      const result = await consume(batch, deps);
      expect(result.explicitAcks).toEqual(["delivered"]);
      expect(result.retryMessages).toEqual([]);
      const mail = await inbox.waitFor({ to: job.to, subject: "Verify your email address" });
      expect(tokenIn(mail, "/verify-email")).toBe(new URL(job.link).searchParams.get("token"));
    } finally {
      await close();
    }
  });

  it("a send the SMTP server refuses once is retried with back-off and then delivered", async () => {
    const { deps, close } = realDeps();
    try {
      const job = verificationJob();
      await refuseNext(1);
      const first = await consume(batchOf("secureauth-mail", [{ body: job, id: "flaky", attempts: 1 }]), deps);
      expect(first.explicitAcks).toEqual([]);
      expect(first.retryMessages).toEqual([{ msgId: "flaky", delaySeconds: 30 }]);
      expect(await inbox.all({ to: job.to })).toEqual([]);

      const second = await consume(batchOf("secureauth-mail", [{ body: job, id: "flaky", attempts: 2 }]), deps);
      expect(second.explicitAcks).toEqual(["flaky"]);
      expect(second.retryMessages).toEqual([]);
      await inbox.waitFor({ to: job.to });
      expect(await inbox.all({ to: job.to })).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it("retries only the message that failed, not the rest of its batch", async () => {
    const { deps, close } = realDeps();
    try {
      const [failing, fine] = [verificationJob(), verificationJob()];
      await refuseNext(1);
      const result = await consume(
        batchOf("secureauth-mail", [
          { body: failing, id: "fails", attempts: 3 },
          { body: fine, id: "fine" },
        ]),
        deps,
      );
      expect(result.retryMessages).toEqual([{ msgId: "fails", delaySeconds: 120 }]);
      expect(result.explicitAcks).toEqual(["fine"]);
      expect(await inbox.all({ to: fine.to })).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it("on the dead-letter queue, records mail.delivery_failed (template and attempts only) and acks", async () => {
    const { deps, close } = realDeps({ isDeadLetterQueue: true });
    try {
      const job = verificationJob();
      const result = await consume(batchOf("secureauth-mail-dlq", [{ body: job, id: "dead" }]), deps);
      expect(result.explicitAcks).toEqual(["dead"]);
      const rows = await db.auditRows({ userId: job.userId, event: "mail.delivery_failed" });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.metadata).toEqual({ template: "email_verification", attempts: 6 });
      expect(rows[0]!.ip).toBeNull();
      expect(JSON.stringify(rows[0])).not.toContain(job.to);
      expect(JSON.stringify(rows[0])).not.toContain(new URL(job.link).searchParams.get("token"));
      // Recorded, not sent.
      expect(await inbox.all({ to: job.to })).toEqual([]);
    } finally {
      await close();
    }
  });

  it("acks a body that is not a mail job, never retrying it", async () => {
    const deliver = vi.fn(async () => {});
    const { deps, close } = realDeps({ deliver });
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const bodies = [
        null,
        "text",
        { kind: "mail", template: "email_verification", to: "a@example.com", userId: "u" },
        { kind: "mail", template: "unknown", to: "a@example.com", userId: "u", link: "x" },
        { kind: "other" },
      ];
      const result = await consume(
        batchOf(
          "secureauth-mail",
          bodies.map((body, i) => ({ body, id: `junk-${i}` })),
        ),
        deps,
      );
      expect(result.explicitAcks).toEqual(bodies.map((_, i) => `junk-${i}`));
      expect(result.retryMessages).toEqual([]);
      expect(deliver).not.toHaveBeenCalled();
      expect(error).toHaveBeenCalledTimes(bodies.length);
    } finally {
      error.mockRestore();
      await close();
    }
  });

  it("a password_reset_request mints the reset mail and enqueues it", async () => {
    const reset: Mail = {
      kind: "mail",
      template: "password_reset",
      to: "known@example.com",
      userId: crypto.randomUUID(),
      link: `${TEST_SECRETS.APP_URL}/reset-password?token=t`,
    };
    const enqueued: MailJob[] = [];
    const minted: string[] = [];
    const { deps, close } = realDeps({
      mintPasswordReset: async (email) => {
        minted.push(email);
        return email === "known@example.com" ? reset : undefined;
      },
      outbox: { enqueue: async (job) => void enqueued.push(job) },
    });
    try {
      const result = await consume(
        batchOf("secureauth-mail", [
          { body: { kind: "password_reset_request", email: "known@example.com" }, id: "known" },
          { body: { kind: "password_reset_request", email: "nobody@example.com" }, id: "unknown" },
        ]),
        deps,
      );
      expect(minted).toEqual(["known@example.com", "nobody@example.com"]);
      expect(enqueued).toEqual([reset]);
      expect(result.explicitAcks).toEqual(["known", "unknown"]);
    } finally {
      await close();
    }
  });

  it("retries a password_reset_request whose mail cannot be enqueued", async () => {
    const { deps, close } = realDeps({
      mintPasswordReset: async () => verificationJob(),
      outbox: new QueueOutbox(undefined),
    });
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const result = await consume(
        batchOf("secureauth-mail", [
          { body: { kind: "password_reset_request", email: "known@example.com" }, id: "reset", attempts: 2 },
        ]),
        deps,
      );
      expect(result.retryMessages).toEqual([{ msgId: "reset", delaySeconds: 60 }]);
      expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({
        template: "password_reset_request",
        attempt: 2,
        error: { name: "ServiceUnavailable < Error" },
      });
    } finally {
      error.mockRestore();
      await close();
    }
  });

  it("without a transport, logs that the mail was not sent and acks", async () => {
    const { stores, close } = service.stores();
    const delivery = new MailDelivery({ transport: undefined, audit: stores.audit, clock: () => new Date() });
    const { deps, close: closeDeps } = realDeps({ deliver: (job) => delivery.deliver(job) });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const job = verificationJob();
      const result = await consume(batchOf("secureauth-mail", [{ body: job, id: "unsent" }]), deps);
      expect(result.explicitAcks).toEqual(["unsent"]);
      expect(warn.mock.calls).toEqual([
        [
          JSON.stringify({
            level: "warn",
            msg: "mail not sent: no transport configured",
            template: "email_verification",
          }),
        ],
      ]);
      expect(await inbox.all({ to: job.to })).toEqual([]);
    } finally {
      warn.mockRestore();
      await closeDeps();
      await close();
    }
  });
});

describe("logging", () => {
  const methods = ["log", "info", "warn", "error", "debug"] as const;
  let lines: string[];
  beforeEach(() => {
    lines = [];
    for (const method of methods)
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  });
  afterEach(() => vi.restoreAllMocks());

  it("no token or link in any log line, whether a delivery fails or succeeds", async () => {
    const { deps, close } = realDeps();
    try {
      const job = verificationJob();
      const token = new URL(job.link).searchParams.get("token")!;
      await refuseNext(1);
      const failed = await consume(batchOf("secureauth-mail", [{ body: job, id: "log-1", attempts: 1 }]), deps);
      expect(failed.retryMessages).toHaveLength(1);
      const delivered = await consume(batchOf("secureauth-mail", [{ body: job, id: "log-1", attempts: 2 }]), deps);
      expect(delivered.explicitAcks).toEqual(["log-1"]);
      await inbox.waitFor({ to: job.to });

      // The failure was logged, by template, attempt and error class.
      expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
        {
          level: "error",
          msg: "mail queue: job failed; retrying",
          template: "email_verification",
          attempt: 1,
          retryInSeconds: 30,
          error: { name: "SmtpError", code: "451" },
        },
      ]);
      for (const line of lines) {
        expect(line).not.toContain(token);
        expect(line).not.toContain("/verify-email");
        expect(line).not.toContain(job.to);
      }
    } finally {
      await close();
    }
  });
});
