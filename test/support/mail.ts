// The suite's mailbox, for tests inside workerd: what the mail server the
// global setup started (test/setup/mail-server.ts) received over SMTP, what
// it captured as Resend sends, and switches to make either refuse. Mail is
// delivered by the queue consumer, after the request has answered, so
// `inbox.waitFor` polls. Each test file has a mailbox of its own (see
// test/setup/file-bindings.ts); its tests share it: filter by a unique address.
import { env } from "cloudflare:workers";
import { TEST_SECRETS } from "../setup/secrets";

export type ReceivedMail = {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  receivedAt: string;
};
export type ResendRequest = {
  authorization: string | null;
  body: { from: string; to: string[]; subject: string; text: string; html: string };
};

const base = () => (env as unknown as { MAIL_INBOX_URL: string }).MAIL_INBOX_URL;

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(base() + path, {
    method,
    ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`mail server: ${method} ${path} answered ${res.status}`);
  return res;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const inbox = {
  async clear(): Promise<void> {
    await api("DELETE", "/messages");
  },

  async all(filter: { to?: string } = {}): Promise<ReceivedMail[]> {
    const query = filter.to ? `?to=${encodeURIComponent(filter.to.toLowerCase())}` : "";
    return (await api("GET", `/messages${query}`)).json();
  },

  /** The first message to `to` (with `subject`, if given), polling until it arrives; throws after timeoutMs. */
  async waitFor(match: { to: string; subject?: string }, { timeoutMs = 10_000 } = {}): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await inbox.all({ to: match.to })).find(
        (m) => match.subject === undefined || m.subject === match.subject,
      );
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(
          `no mail to ${match.to}${match.subject ? ` with subject "${match.subject}"` : ""} within ${timeoutMs} ms`,
        );
      await sleep(100);
    }
  },

  /** Waits forMs and throws if any message to `to` arrived meanwhile (or before). */
  async none(match: { to: string }, { forMs = 1000 } = {}): Promise<void> {
    await sleep(forMs);
    const found = await inbox.all({ to: match.to });
    if (found.length > 0)
      throw new Error(
        `expected no mail to ${match.to}, got ${found.length}: ${found.map((m) => m.subject).join(", ")}`,
      );
  },
};

/** The URL in the message's text part that starts with APP_URL + `path` (e.g. "/verify-email"). */
export function linkIn(message: Pick<ReceivedMail, "text">, path: string): string {
  const prefix = TEST_SECRETS.APP_URL.replace(/\/+$/, "") + path;
  const link = message.text.split(/\s+/).find((word) => word.startsWith(`${prefix}?`) || word === prefix);
  if (!link) throw new Error(`no ${prefix} link in the mail's text part`);
  return link;
}

/** The `token` query parameter of that link. */
export function tokenIn(message: Pick<ReceivedMail, "text">, path: string): string {
  const token = new URL(linkIn(message, path)).searchParams.get("token");
  if (!token) throw new Error(`the ${path} link carries no token`);
  return token;
}

/** The next `count` messages the SMTP server receives are answered 451 (a temporary failure). */
export async function refuseNext(count: number): Promise<void> {
  await api("POST", "/refuse", { count });
}

export const resend = {
  async requests(): Promise<ResendRequest[]> {
    return (await api("GET", "/resend")).json();
  },
  /** The next `count` Resend sends are answered 500. */
  async failNext(count: number): Promise<void> {
    await api("POST", "/resend/fail", { count });
  },
};
