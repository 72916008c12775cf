// The account mails, as plain text and HTML (docs/account-lifecycle.md, mail through the queue), in the brand of
// the hosted pages (BRAND_NAME, BRAND_LOGO_URL, BRAND_COLOR; docs/hosted-pages.md). The text part holds each link
// whole on a line of its own, so any mail client shows it and a person can copy it; the HTML part shows the link as
// a real button (the brand's accent, its text readable on it) with the whole link under it, and escapes everything
// it interpolates (a link, an address, the brand), so nothing a user typed becomes markup. Mail clients ignore
// stylesheets: the HTML's styles are inline. Each link says how long it lives, read from the token lifetimes
// themselves.
import { themeColours } from "../../core/brand";
import type { Brand } from "../../core/config";
import { ONE_TIME_TOKEN_TTL } from "../lifecycle/one-time-tokens";
import { EMAIL_CODE_TTL_SECONDS } from "../email-sign-in/codes";
import { INVITATION_TTL_SECONDS } from "../organizations/invitation-link";
import type { MailJob, OutgoingMail } from "./store";

type MailContent = Extract<MailJob, { kind: "mail" }>;

/** A paragraph, or the job's link (a line of its own in text, a button and the link in HTML) and its button's words. */
type Block = string | { link: string; action: string };

/** The brand when none is configured (BRAND_* defaults). */
export const DEFAULT_BRAND: Brand = { name: "SecureAuth", logoUrl: undefined, color: "#2f5bd3" };

const IGNORE = "If you did not ask for this, ignore this message.";

export function renderMail(job: MailContent, brand: Brand = DEFAULT_BRAND): OutgoingMail {
  const { subject, blocks } = content(job);
  const text = `${[
    ...blocks.map((block) => (typeof block === "string" ? block : `${block.action}:\n${block.link}`)),
    `— ${brand.name}`,
  ].join("\n\n")}\n`;
  const { accent, onAccent } = themeColours(brand.color, "light");
  const name = escapeHtml(brand.name);
  const logo = brand.logoUrl
    ? `<img src="${escapeHtml(brand.logoUrl)}" alt="" height="40" style="height:40px;vertical-align:middle;margin-right:8px">`
    : "";
  const paragraph =
    'style="margin:0 0 16px;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1d22"';
  const html = [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${escapeHtml(subject)}</title></head>`,
    '<body style="margin:0;padding:24px 12px;background:#f1f3f6">',
    '<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:12px;padding:24px">',
    `<p ${paragraph}><strong>${logo}${name}</strong></p>`,
    `<h1 style="margin:0 0 16px;font:700 22px/1.3 system-ui,sans-serif;color:#1b1d22">${escapeHtml(subject)}</h1>`,
    ...blocks.map((block) =>
      typeof block === "string"
        ? `<p ${paragraph}>${escapeHtml(block)}</p>`
        : `<p style="margin:0 0 16px"><a href="${escapeHtml(block.link)}" style="display:inline-block;padding:12px 20px;` +
          `border-radius:8px;background:${accent};color:${onAccent};font:600 16px/1.2 system-ui,sans-serif;` +
          `text-decoration:none">${escapeHtml(block.action)}</a></p>\n` +
          `<p ${paragraph}>Or open this link:<br><a href="${escapeHtml(block.link)}">${escapeHtml(block.link)}</a></p>`,
    ),
    `<p style="margin:24px 0 0;font:14px/1.5 system-ui,sans-serif;color:#4f5661">${name}</p>`,
    "</div></body></html>",
    "",
  ].join("\n");
  return { to: job.to, subject, text, html };
}

function content(job: MailContent): { subject: string; blocks: Block[] } {
  switch (job.template) {
    case "email_verification":
      // Following the link keeps whoever registered signed in: the mail must
      // not get a stranger's registration confirmed by the address's owner.
      return {
        subject: "Verify your email address",
        blocks: [
          "An account was created with this email address. Following this link confirms an account created " +
            "with this email address as yours:",
          { link: job.link, action: "Confirm my email address" },
          `The link expires in ${duration(ONE_TIME_TOKEN_TTL.email_verification)}. If you did not create an ` +
            `account, ignore this message and do not open the link: someone else typed your address, and the ` +
            `account stays unconfirmed.`,
        ],
      };
    case "password_reset":
      return {
        subject: "Reset your password",
        blocks: [
          "Open this link to choose a new password for your account:",
          { link: job.link, action: "Choose a new password" },
          `The link expires in ${duration(ONE_TIME_TOKEN_TTL.password_reset)} and works once. ${IGNORE} Your ` +
            `password stays as it is.`,
        ],
      };
    case "email_change_confirmation":
      return {
        subject: "Confirm your new email address",
        blocks: [
          "Open this link to make this the email address of your account:",
          { link: job.link, action: "Confirm the new address" },
          `The link expires in ${duration(ONE_TIME_TOKEN_TTL.email_change)}. ${IGNORE} Your account keeps its ` +
            `current address.`,
        ],
      };
    case "email_sign_in_code":
      // The code leads the subject line, so a person can read it off a notification; the link opens a page that
      // signs in only when its button is pressed, so a mail scanner following it signs nobody in.
      return {
        subject: `${job.code} is your sign-in code`,
        blocks: [
          `Your sign-in code is ${job.code}. Enter it where you asked for it, or open this link and press the ` +
            "button there to sign in:",
          { link: job.link, action: "Sign in" },
          `The code and the link expire in ${duration(EMAIL_CODE_TTL_SECONDS)} and work once; a newer code ends ` +
            `this one. If you did not ask to sign in, ignore this message: nobody can sign in without this code. ` +
            `Never share it.`,
        ],
      };
    case "reauthentication_code":
      // No link: the code is typed where it was asked for, in the session that asked, and nowhere else.
      return {
        subject: `${job.code} is your confirmation code`,
        blocks: [
          `Your confirmation code is ${job.code}. Enter it where you were asked to confirm it is you.`,
          `The code expires in ${duration(EMAIL_CODE_TTL_SECONDS)} and works once; a newer code ends this one. ` +
            "If you did not ask for it, someone may be using your signed-in session: sign out everywhere from " +
            "your account page. Never share it.",
        ],
      };
    case "email_change_notice":
      return {
        subject: "Your email address is changing",
        blocks: [
          `Someone asked to change the email address of your account to ${job.newEmail}. The change takes ` +
            `effect once that address is confirmed.`,
          "If this was you, there is nothing more to do. If it was not, sign in and change your password now.",
        ],
      };
    case "email_changed_notice":
      return {
        subject: "Your email address was changed",
        blocks: [
          `The email address of your account was changed to ${job.newEmail}. This address no longer signs in ` +
            `to it, and mail about the account now goes to the new one.`,
          "If this was you, there is nothing more to do. If it was not, contact support at once: whoever made " +
            "the change controls the account.",
        ],
      };
    case "email_in_use_notice":
      return {
        subject: "Someone tried to use your email address",
        blocks: [
          "Someone signed in to an account asked to make this address the account's email. This address " +
            "already belongs to an account, so nothing changed.",
          "If this was you, you may have meant another address, or you already have the account this address " +
            "belongs to. If it was not you, you can ignore this message.",
        ],
      };
    case "organization_invitation":
      // The organization's name is whatever its owner typed: it is shown as a name, never as the sender.
      return {
        subject: `You are invited to join ${job.orgName}`,
        blocks: [
          `You are invited to join the organization "${job.orgName}". Sign in (or create an account) with this ` +
            "email address, verify it, then open this link and accept:",
          { link: job.link, action: "Accept the invitation" },
          `The link expires in ${days(INVITATION_TTL_SECONDS)} and works once. If you do not know this ` +
            "organization, ignore this message: nothing happens unless you accept.",
        ],
      };
    case "identity_linked_notice":
      return {
        subject: `${job.provider} was linked to your account`,
        blocks: [
          `Signing in with ${job.provider} now opens your account: a ${job.provider} account with this email ` +
            "address was linked to it.",
          "If this was you, there is nothing more to do. If it was not, sign in, remove it under your account's " +
            "sign-in methods, and change your password.",
        ],
      };
  }
}

function duration(seconds: number): string {
  const [amount, unit] = seconds % 3600 === 0 ? [seconds / 3600, "hour"] : [Math.round(seconds / 60), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

function days(seconds: number): string {
  const amount = Math.round(seconds / 86400);
  return `${amount} day${amount === 1 ? "" : "s"}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
