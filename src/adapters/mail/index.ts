// Mail infrastructure: the transports behind the MailTransport port and the
// queue behind MailOutbox (the queue consumer is the mail feature's).
// Only src/composition.ts builds them.
import type { MailSettings } from "../../config";
import type { MailTransport } from "../../features/mail/store";
import { ResendTransport } from "./resend";
import { SmtpTransport } from "./smtp";

export { QueueOutbox } from "./queue";
export { ResendError, ResendTransport } from "./resend";
export { SmtpError, SmtpTransport } from "./smtp";

/** The configured transport; undefined when none is (mail is then logged as not sent). */
export function mailTransportFor(settings: MailSettings): MailTransport | undefined {
  const transport = settings.transport;
  if (!transport) return undefined;
  if (transport.kind === "smtp") return new SmtpTransport(transport.url, settings.from);
  return new ResendTransport({ apiKey: transport.apiKey, apiUrl: transport.apiUrl, from: settings.from });
}
