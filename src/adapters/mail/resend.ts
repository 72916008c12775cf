// Mail through Resend's HTTP API (`POST /emails`), or any API of its shape
// (RESEND_API_URL). Any answer but a 2xx is a failure the queue retries. A
// failure names the HTTP status only: never the key, and never the answer's
// body, which may quote the message.
import type { MailTransport, OutgoingMail } from "../../features/mail/store";

const TIMEOUT_MS = 10_000;

export class ResendError extends Error {
  /** The HTTP status the API answered ("500"). */
  readonly code: string;

  constructor(status: number) {
    super(`Resend answered ${status}`);
    this.name = "ResendError";
    this.code = String(status);
  }
}

export class ResendTransport implements MailTransport {
  constructor(private readonly settings: { apiKey: string; apiUrl: string; from: string }) {}

  async send(mail: OutgoingMail): Promise<void> {
    const res = await fetch(`${this.settings.apiUrl}/emails`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.settings.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        from: this.settings.from,
        to: [mail.to],
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    // Unread, the body would hold the connection open.
    await res.body?.cancel();
    if (!res.ok) throw new ResendError(res.status);
  }
}
