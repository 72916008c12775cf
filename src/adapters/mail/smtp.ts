// SMTP from the Worker itself: worker-mailer over cloudflare:sockets, one
// connection per message (a queue batch is small and a held connection would
// outlive the invocation). `smtps://` is implicit TLS; `smtp://` upgrades with
// STARTTLS when the server offers it and otherwise sends in the clear. The
// library logs nothing (its debug level would print every message, link
// included), and a failure leaves as an SmtpError that carries the server's
// reply code only: the library's own messages quote addresses and replies.
// The library is imported on the first send: it imports cloudflare:sockets,
// which Node tools that load the composition root (npm run admin) lack.
import type { User, WorkerMailer, WorkerMailerOptions } from "worker-mailer";
import type { MailTransport, OutgoingMail } from "../../features/mail/store";

/**
 * Connecting, and each server reply. worker-mailer 1.2.1 reads its response timeout from socketTimeoutMs, so both are
 * set alike.
 */
const TIMEOUT_MS = 10_000;

export class SmtpError extends Error {
  /** The SMTP reply code, when the server answered one ("451"). */
  readonly code: string | undefined;

  constructor(code: string | undefined) {
    super(code === undefined ? "SMTP send failed" : `SMTP server answered ${code}`);
    this.name = "SmtpError";
    this.code = code;
  }
}

export class SmtpTransport implements MailTransport {
  private readonly options: Omit<WorkerMailerOptions, "logLevel">;
  private readonly from: User;

  /** `url`: smtp:// or smtps://, user and password URL-encoded; `from`: `Name <address>` or an address. */
  constructor(url: URL, from: string) {
    const secure = url.protocol === "smtps:";
    this.options = {
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      startTls: true,
      ...(url.username
        ? { credentials: { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } }
        : {}),
      authType: ["plain", "login", "cram-md5"],
      socketTimeoutMs: TIMEOUT_MS,
      responseTimeoutMs: TIMEOUT_MS,
    };
    this.from = parseFrom(from);
  }

  async send(mail: OutgoingMail): Promise<void> {
    // An address goes into an SMTP command line as is: refuse one that could end it.
    if (/[\r\n<>]/.test(mail.to)) throw new SmtpError(undefined);
    let mailer: WorkerMailer | undefined;
    try {
      const { WorkerMailer, LogLevel } = await import("worker-mailer");
      mailer = await WorkerMailer.connect({ ...this.options, logLevel: LogLevel.NONE });
      await mailer.send({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    } catch (error) {
      throw new SmtpError(replyCode(error));
    } finally {
      await mailer?.close();
    }
  }
}

function parseFrom(from: string): User {
  const named = /^(.*?)\s*<([^<>]+)>$/.exec(from);
  if (!named) return { email: from };
  // The library quotes the name as is: drop what would end the quoted string.
  const name = named[1]!.replace(/["\\]/g, "").trim();
  return name ? { name, email: named[2]! } : { email: named[2]! };
}

/** The first reply code in a worker-mailer error, with any <address> it quotes removed first. */
function replyCode(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message.replace(/<[^>]*>/g, "") : "";
  return /(?:^|\s)([2-5]\d\d)(?=[\s-]|$)/.exec(message)?.[1];
}
