// The hosted pages' HTML: one shell (the brand's header, the page's card, the
// catalog's texts for the page's script as JSON, the one script and the one
// stylesheet) around each page's markup. Every text comes from the message
// catalog in the page's language, escaped; the script finds its elements by
// id and reads its texts from the #messages JSON (a data block, not a script
// the browser runs, so the CSP's hash covers the one script that runs).
import type { Brand } from "../core/config";
import { format, type MessageKey, type Messages } from "./messages";

export type PageName =
  | "sign-in"
  | "sign-up"
  | "forgot-password"
  | "reset-password"
  | "verify-email"
  | "confirm-email"
  | "magic-link"
  | "accept-invitation"
  | "account";

type T = (key: MessageKey, values?: Record<string, string>) => string;

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The page's whole document. */
export function renderPage(
  page: PageName,
  {
    lang,
    messages,
    brand,
    script,
    style,
  }: { lang: string; messages: Messages; brand: Brand; script: string; style: string },
): string {
  const t: T = (key, values) => escapeHtml(format(messages, key, { brand: brand.name, ...values }));
  const { title, body, wide } = PAGES[page](t);
  const logo = brand.logoUrl ? `<img src="${escapeHtml(brand.logoUrl)}" alt="" width="40" height="40">` : "";
  // Inside a <script> element: nothing in the JSON may close it.
  const json = JSON.stringify(messages).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, \
initial-scale=1"><meta name="robots" content="noindex"><title>${t(title)} · ${escapeHtml(brand.name)}</title>
<style>${style}</style><link rel="stylesheet" href="/brand.css"></head>
<body data-page="${page}" data-brand="${escapeHtml(brand.name)}"${wide ? ' class="wide"' : ""}>
<a class="brand" href="/sign-in">${logo}<span>${escapeHtml(brand.name)}</span></a>
<main id="main">
${body}
</main>
<script type="application/json" id="messages">${json}</script>
<script>${script}</script></body></html>`;
}

const field = (id: string, label: string, attributes: string, hint = "") =>
  `<div class="field"><label for="${id}">${label}</label><input id="${id}" name="${id}" ${attributes}${
    hint ? ` aria-describedby="${id}-hint"` : ""
  }>${hint ? `<p class="hint" id="${id}-hint">${hint}</p>` : ""}</div>`;

const EMAIL = 'type="email" autocomplete="username" required maxlength="254" autocapitalize="none" spellcheck="false"';
const NEW_PASSWORD = 'type="password" autocomplete="new-password" required minlength="12" maxlength="128"';
const CODE = 'type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9 ]*"';
/**
 * The error region of a form, under its button: announced at once (role=alert), its room kept (two lines), so
 * nothing moves when an error appears.
 */
const alert = (id: string) => `<p id="${id}" class="alert" role="alert"></p>`;
const status = '<p id="status" class="status" role="status"></p>';

type Page = { title: MessageKey; body: string; wide?: boolean };

const PAGES: Record<PageName, (t: T) => Page> = {
  "sign-in": (t) => ({
    title: "signIn.title",
    body: `<h1 id="heading">${t("signIn.heading")}</h1>
${status}
<section id="step-continue" hidden>
<p id="continue-text"></p>
<button id="continue" class="primary" type="button"></button>
<button id="other-account" class="block" type="button">${t("signIn.otherAccount")}</button>
</section>
<section id="step-start">
<div id="providers" class="providers" hidden></div>
<p id="providers-or" class="divider" hidden>${t("common.or")}</p>
<form id="password-form" novalidate>
<div class="field"><label for="email">${t("common.email")}</label><input id="email" name="email" type="email" \
autocomplete="username webauthn" required maxlength="254" autocapitalize="none" spellcheck="false"></div>
<div class="field"><div class="label-row"><label for="password">${t("common.password")}</label>\
<a id="forgot-link" href="/forgot-password">${t("signIn.forgot")}</a></div><input id="password" name="password" \
type="password" autocomplete="current-password" required maxlength="1024"></div>
<button id="password-submit" class="primary" type="submit">${t("signIn.submit")}</button>
${alert("form-error")}
</form>
<button id="passkey" class="block" type="button">${t("signIn.passkey")}</button>
<button id="email-code" class="block" type="button" hidden>${t("signIn.emailCode")}</button>
<p class="alt">${t("signIn.noAccount")} <a id="sign-up-link" href="/sign-up">${t("signIn.createAccount")}</a></p>
</section>
<section id="step-email-code" hidden>
<form id="email-code-form" novalidate>
<p id="email-code-sent"></p>
${field("email-code-input", t("signIn.emailCodeLabel"), CODE)}
<button class="primary" type="submit">${t("signIn.emailCodeSubmit")}</button>
${alert("email-code-error")}
</form>
<button id="email-code-cancel" class="link-button" type="button">${t("common.backToSignIn")}</button>
</section>
<section id="step-mfa" hidden>
<h2 id="mfa-heading" tabindex="-1">${t("mfa.title")}</h2>
<p>${t("mfa.intro")}</p>
<form id="mfa-form" novalidate>
<div id="mfa-code-field">${field("mfa-code", t("mfa.code"), CODE)}</div>
<div id="mfa-recovery-field" hidden>${field(
      "mfa-recovery",
      t("mfa.recovery"),
      'type="text" autocomplete="off" maxlength="64" autocapitalize="none" spellcheck="false"',
    )}</div>
<button id="mfa-submit" class="primary" type="submit">${t("mfa.submit")}</button>
${alert("mfa-error")}
</form>
<button id="mfa-toggle" class="link-button" type="button">${t("mfa.useRecovery")}</button>
<button id="mfa-passkey" class="block" type="button" hidden>${t("mfa.usePasskey")}</button>
<button id="mfa-cancel" class="link-button" type="button">${t("common.backToSignIn")}</button>
</section>
<section id="step-unverified" hidden>
<h2 id="unverified-heading" tabindex="-1">${t("signIn.notVerifiedTitle")}</h2>
<p>${t("signIn.notVerified")}</p>
<button id="unverified-back" class="block" type="button">${t("common.backToSignIn")}</button>
</section>`,
  }),
  "sign-up": (t) => ({
    title: "signUp.title",
    body: `<h1>${t("signUp.heading")}</h1>
${status}
<form id="sign-up-form" novalidate>
${field("email", t("common.email"), EMAIL)}
${field("name", `${t("common.name")} ${t("common.optional")}`, 'type="text" autocomplete="name" maxlength="100"')}
${field("password", t("common.newPassword"), NEW_PASSWORD, t("common.passwordRules"))}
<button id="sign-up-submit" class="primary" type="submit">${t("signUp.submit")}</button>
${alert("form-error")}
</form>
<p class="alt">${t("signUp.haveAccount")} <a id="sign-in-link" href="/sign-in">${t("signIn.submit")}</a></p>`,
  }),
  "forgot-password": (t) => ({
    title: "forgot.title",
    body: `<h1>${t("forgot.title")}</h1>
<p>${t("forgot.intro")}</p>
${status}
<form id="forgot-form" novalidate>
${field("email", t("common.email"), EMAIL)}
<button class="primary" type="submit">${t("forgot.submit")}</button>
${alert("form-error")}
</form>
<p class="alt"><a href="/sign-in">${t("common.backToSignIn")}</a></p>`,
  }),
  "reset-password": (t) => ({
    title: "reset.title",
    body: `<h1>${t("reset.title")}</h1>
<p id="intro">${t("reset.intro")}</p>
${status}
<form id="link-form" data-call="reset" novalidate>
<input type="text" name="username" autocomplete="username" hidden>
${field("password", t("common.newPassword"), NEW_PASSWORD, t("common.passwordRules"))}
<button class="primary" type="submit">${t("reset.submit")}</button>
${alert("form-error")}
</form>
<p id="new-link" hidden><a class="button primary" href="/forgot-password">${t("link.newReset")}</a></p>
<p class="alt"><a href="/sign-in">${t("common.backToSignIn")}</a></p>`,
  }),
  "verify-email": (t) => ({
    title: "verify.title",
    body: `<h1>${t("verify.title")}</h1>
<p id="intro">${t("verify.intro")}</p>
${status}
<form id="link-form" data-call="verify" novalidate>
<button class="primary" type="submit">${t("verify.submit")}</button>
${alert("form-error")}
</form>
<p class="alt"><a href="/account">${t("account.title")}</a></p>`,
  }),
  "confirm-email": (t) => ({
    title: "confirm.title",
    body: `<h1>${t("confirm.title")}</h1>
<p id="intro">${t("confirm.intro")}</p>
${status}
<form id="link-form" data-call="confirm" novalidate>
<button class="primary" type="submit">${t("confirm.submit")}</button>
${alert("form-error")}
</form>
<p class="alt"><a href="/account">${t("account.title")}</a></p>`,
  }),
  "magic-link": (t) => ({
    title: "magic.title",
    body: `<h1>${t("magic.title")}</h1>
<p id="intro">${t("magic.intro")}</p>
${status}
<form id="link-form" data-call="magic" novalidate>
<button class="primary" type="submit">${t("magic.submit")}</button>
${alert("form-error")}
</form>
<form id="factor" novalidate hidden>
${field(
  "factor-code",
  t("magic.factorCode"),
  'type="text" autocomplete="one-time-code" required maxlength="64" autocapitalize="none" spellcheck="false"',
)}
<button class="primary" type="submit">${t("mfa.submit")}</button>
${alert("factor-error")}
</form>
<p class="alt"><a href="/sign-in">${t("common.backToSignIn")}</a></p>`,
  }),
  "accept-invitation": (t) => ({
    title: "invite.title",
    body: `<h1>${t("invite.title")}</h1>
<p id="intro">${t("invite.intro")}</p>
${status}
<section id="step-signed-out" hidden>
<p>${t("invite.signInFirst")}</p>
<a id="invite-sign-in" class="button primary" href="/sign-in">${t("invite.signIn")}</a>
<a id="invite-sign-up" class="button block" href="/sign-up">${t("invite.signUp")}</a>
</section>
<form id="accept-form" novalidate hidden>
<p id="signed-in-as"></p>
<button id="accept" class="primary" type="submit">${t("invite.accept")}</button>
${alert("form-error")}
</form>
<button id="switch-account" class="block" type="button" hidden>${t("invite.switchAccount")}</button>
<button id="resend" class="block" type="button" hidden>${t("invite.resend")}</button>
<p id="onward" hidden><a id="to-account" class="button primary" href="/account">${t("invite.toAccount")}</a></p>`,
  }),
  account: (t) => ({
    title: "account.title",
    wide: true,
    body: `<div class="label-row"><h1>${t("account.heading")}</h1>\
<button id="sign-out" type="button">${t("common.signOut")}</button></div>
${status}
${alert("page-error")}
<p id="loading">${t("account.loading")}</p>
<div id="account" hidden>
<section class="card-section" aria-labelledby="h-profile"><h2 id="h-profile">${t("account.profile")}</h2>
<form id="name-form" class="inline-form" novalidate>
${field("name", t("common.name"), 'type="text" autocomplete="name" maxlength="100"')}
<button type="submit">${t("account.saveName")}</button>
</form></section>
<section class="card-section" aria-labelledby="h-email"><h2 id="h-email">${t("account.emailHeading")}</h2>
<p><strong id="email"></strong> <span id="email-state" class="badge"></span></p>
<button id="resend-verification" type="button" hidden>${t("account.resendVerification")}</button>
<form id="email-form" novalidate>
${field("new-email", t("account.newEmail"), 'type="email" autocomplete="email" required maxlength="254"')}
<div id="email-password-field">${field(
      "email-password",
      t("account.currentPassword"),
      'type="password" autocomplete="current-password" maxlength="1024"',
    )}</div>
<button type="submit">${t("account.changeEmail")}</button>
</form></section>
<section class="card-section" aria-labelledby="h-password"><h2 id="h-password">${t("account.passwordHeading")}</h2>
<form id="password-form" novalidate>
<input type="text" name="username" autocomplete="username" hidden>
${field("current-password", t("account.currentPassword"), 'type="password" autocomplete="current-password" required maxlength="1024"')}
${field("new-password", t("common.newPassword"), NEW_PASSWORD, t("common.passwordRules"))}
<button type="submit">${t("account.changePassword")}</button>
</form>
<div id="no-password" hidden><p>${t("account.noPassword")}</p>\
<button id="set-password" type="button">${t("account.setPassword")}</button></div></section>
<section class="card-section" aria-labelledby="h-sessions"><h2 id="h-sessions">${t("account.sessions")}</h2>
<ul id="sessions" class="list"></ul>
<button id="end-others" type="button">${t("account.endOthers")}</button></section>
<section class="card-section" aria-labelledby="h-mfa"><h2 id="h-mfa">${t("account.twoStep")}</h2>
<p id="totp-state"></p>
<div class="row"><button id="totp-enrol" type="button">${t("account.totpEnrol")}</button>
<button id="recovery-new" type="button">${t("account.recoveryNew")}</button>
<button id="totp-remove" class="danger" type="button">${t("account.totpRemove")}</button></div>
<div id="totp-pending" hidden><p>${t("account.totpScan")}</p>
<img id="totp-qr" class="qr" alt="${t("account.totpQrAlt")}" width="192" height="192">
<p>${t("account.totpKey")}: <code id="totp-secret"></code></p>
<form id="totp-form" class="inline-form" novalidate>${field("totp-code", t("account.totpCode"), CODE)}
<button type="submit">${t("account.totpConfirm")}</button>\
<button id="totp-cancel" type="button">${t("common.cancel")}</button></form></div>
<div id="recovery" hidden><h3 id="recovery-heading" tabindex="-1">${t("account.recoveryCodes")}</h3>
<p>${t("account.recoveryIntro")}</p><ol id="recovery-list" class="codes"></ol>
<button id="recovery-done" type="button">${t("account.recoverySaved")}</button></div></section>
<section class="card-section" aria-labelledby="h-passkeys"><h2 id="h-passkeys">${t("account.passkeys")}</h2>
<p class="hint">${t("account.passkeysIntro")}</p>
<ul id="passkeys" class="list"></ul>
<form id="passkey-form" class="inline-form" novalidate>
${field("passkey-name", `${t("account.passkeyName")} ${t("common.optional")}`, 'type="text" autocomplete="off" maxlength="100"')}
<button type="submit">${t("account.addPasskey")}</button></form></section>
<section id="identities-section" class="card-section" aria-labelledby="h-identities" hidden>\
<h2 id="h-identities">${t("account.identities")}</h2><ul id="identities" class="list"></ul></section>
<section class="card-section" aria-labelledby="h-orgs"><h2 id="h-orgs">${t("org.heading")}</h2>
<p class="hint">${t("org.intro")}</p>
<p id="org-acting"></p>
<ul id="orgs" class="list"></ul>
<form id="org-form" class="inline-form" novalidate>
${field("org-name", t("org.name"), 'type="text" autocomplete="organization" maxlength="100"')}
<button type="submit">${t("org.create")}</button></form>
<div id="org-panel" class="panel" hidden><h3 id="org-panel-heading" tabindex="-1"></h3>
<ul id="members" class="list"></ul>
<button id="members-more" type="button" hidden>${t("org.moreMembers")}</button>
<div id="invite-part" hidden><h4>${t("org.inviteHeading")}</h4>
<form id="invite-form" class="inline-form" novalidate>
${field("invite-email", t("org.inviteEmail"), 'type="email" autocomplete="off" maxlength="254" autocapitalize="none" spellcheck="false"')}
<div class="field narrow"><label for="invite-role">${t("org.inviteRole")}</label><select id="invite-role"></select></div>
<button type="submit">${t("org.inviteSubmit")}</button></form>
<h4>${t("org.invitations")}</h4><ul id="invitations" class="list"></ul></div>
<button id="org-delete" class="danger" type="button" hidden>${t("org.delete")}</button></div></section>
<section class="card-section" aria-labelledby="h-activity"><h2 id="h-activity">${t("account.activity")}</h2>
<ul id="activity" class="list"></ul>
<button id="activity-more" type="button" hidden>${t("account.moreActivity")}</button></section>
</div>
<dialog id="ask" aria-labelledby="ask-text">
<p id="ask-text"></p>
<div class="row"><button id="ask-yes" class="danger" type="button">${t("ask.confirm")}</button>\
<button id="ask-no" type="button" autofocus>${t("common.cancel")}</button></div>
</dialog>
<dialog id="reauth" aria-labelledby="reauth-title">
<h2 id="reauth-title">${t("reauth.title")}</h2><p>${t("reauth.intro")}</p>
<form id="reauth-form" novalidate>
<div id="reauth-password-field">${field(
      "reauth-password",
      t("reauth.password"),
      'type="password" autocomplete="current-password" maxlength="1024"',
    )}</div>
<div id="reauth-code-field">${field("reauth-code", t("reauth.code"), CODE)}</div>
<div id="reauth-recovery-field">${field(
      "reauth-recovery",
      t("reauth.recovery"),
      'type="text" autocomplete="off" maxlength="64"',
    )}</div>
<div id="reauth-email-field" hidden>${field("reauth-email-code", t("reauth.emailCodeLabel"), CODE)}</div>
<button id="reauth-submit" class="primary" type="submit">${t("reauth.submit")}</button>
${alert("reauth-error")}
</form>
<button id="reauth-passkey" class="block" type="button">${t("reauth.passkey")}</button>
<button id="reauth-email" class="block" type="button" hidden>${t("reauth.emailCode")}</button>
<button id="reauth-cancel" class="link-button" type="button">${t("common.cancel")}</button>
</dialog>`,
  }),
};
