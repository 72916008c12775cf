// The mail the stack really sends, read from its local inbox (maildev's API):
// the newest mail to an address, and a link in it opened on the service's own
// hosted pages. The stack's APP_URL is the test app's origin (other tests need
// it), so a mailed link is opened at the same path and query on the service,
// which is what a deployment whose APP_URL is the service sees.

export type Mail = { subject: string; text?: string; html?: string; to: { address: string }[] };

/** The newest mail to `address` whose subject matches, waiting up to 15 s for the queue to deliver it. */
export async function mailTo(inbox: string, address: string, subject: RegExp, after = 0): Promise<Mail> {
  const until = Date.now() + 15_000;
  for (;;) {
    const mails = (await (await fetch(`${inbox}/api/email`)).json()) as Mail[];
    const mine = mails.filter((m) => m.to.some((to) => to.address === address) && subject.test(m.subject));
    if (mine.length > after) return mine.at(-1)!;
    if (Date.now() > until) throw new Error(`no mail "${subject}" to ${address}; the inbox has ${mails.length}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The mailed link of the plain-text part whose path is `path`, on the service's own pages at `service`. */
export function linkIn(service: string, mail: Mail, path: string): string {
  const link = (mail.text ?? "").match(/https?:\/\/\S+/g)?.find((url) => new URL(url).pathname === path);
  if (!link) throw new Error(`no ${path} link in the mail "${mail.subject}"`);
  const { pathname, search } = new URL(link);
  return `${service}${pathname}${search}`;
}
