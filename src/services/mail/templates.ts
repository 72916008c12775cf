// The account mails, as plain text and HTML (DESIGN "Mail"). The text part
// holds each link whole on a line of its own, so any mail client shows it
// and a person can copy it; the HTML part escapes everything it interpolates
// (a link, an address), so nothing a user typed becomes markup. Each link
// says how long it lives, read from the token lifetimes themselves.
import { ONE_TIME_TOKEN_TTL } from "../one-time-tokens";
import type { MailJob, OutgoingMail } from "../ports";

type MailContent = Extract<MailJob, { kind: "mail" }>;

/** A paragraph, or the job's link (as a line of its own in text, a link in HTML). */
type Block = string | { link: string };

const IGNORE = "If you did not ask for this, ignore this message.";

export function renderMail(job: MailContent): OutgoingMail {
  const { subject, blocks } = content(job);
  const text = blocks.map((block) => (typeof block === "string" ? block : block.link)).join("\n\n") + "\n";
  const html = [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>`,
    ...blocks.map((block) =>
      typeof block === "string" ? `<p>${escapeHtml(block)}</p>` : `<p><a href="${escapeHtml(block.link)}">${escapeHtml(block.link)}</a></p>`,
    ),
    "</body></html>",
    "",
  ].join("\n");
  return { to: job.to, subject, text, html };
}

function content(job: MailContent): { subject: string; blocks: Block[] } {
  switch (job.template) {
    case "email_verification":
      return {
        subject: "Verify your email address",
        blocks: [
          "Open this link to confirm that this is your email address:",
          { link: job.link },
          `The link expires in ${duration(ONE_TIME_TOKEN_TTL.email_verification)}. ${IGNORE}`,
        ],
      };
    case "password_reset":
      return {
        subject: "Reset your password",
        blocks: [
          "Open this link to choose a new password for your account:",
          { link: job.link },
          `The link expires in ${duration(ONE_TIME_TOKEN_TTL.password_reset)} and works once. ${IGNORE} Your password stays as it is.`,
        ],
      };
    case "email_change_confirmation":
      return {
        subject: "Confirm your new email address",
        blocks: [
          "Open this link to make this the email address of your account:",
          { link: job.link },
          `The link expires in ${duration(ONE_TIME_TOKEN_TTL.email_change)}. ${IGNORE} Your account keeps its current address.`,
        ],
      };
    case "email_change_notice":
      return {
        subject: "Your email address is changing",
        blocks: [
          `Someone asked to change the email address of your account to ${job.newEmail}. The change takes effect once that address is confirmed.`,
          "If this was you, there is nothing more to do. If it was not, sign in and change your password now.",
        ],
      };
  }
}

function duration(seconds: number): string {
  const [amount, unit] = seconds % 3600 === 0 ? [seconds / 3600, "hour"] : [Math.round(seconds / 60), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
