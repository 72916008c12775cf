// What every hosted page's script shares: the texts (the #messages JSON the
// Worker put in the page, in the page's language), the client package in
// cookie mode on this origin (the pages' own session: `__Host-` cookies,
// X-Auth-Mode: cookie on every call, the CSRF rule), and the API's answers
// turned into sentences a user understands, shown where a screen reader
// announces them.
import { AuthApiError, AuthClient } from "../../../packages/client/src/index";
import type { MessageKey, Messages } from "../messages/en";

const messages = JSON.parse(document.getElementById("messages")?.textContent || "{}") as Messages;
const brand = document.body.dataset.brand ?? "";

/** A text of the catalog, its `{name}` slots filled. */
export function t(key: MessageKey, values: Record<string, string> = {}): string {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (slot, name: string) => values[name] ?? (name === "brand" ? brand : slot));
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const input = (id: string) => $<HTMLInputElement>(id);

// A provider sign-in's verifier and state wait in this tab's sessionStorage while the browser is at the provider.
export const client = new AuthClient({ baseUrl: location.origin, mode: "cookie", flowStorage: sessionStorage });

/** The API's refusal in the user's words; `field` names the input it concerns, if one. */
export function explain(error: unknown): { text: string; field?: string } {
  if (error instanceof AuthApiError) {
    const problem = error.problem as typeof error.problem & { errors?: { path?: string; message: string }[] };
    switch (error.code) {
      case "invalid_credentials":
        return { text: t("signIn.wrongPassword") };
      case "rate_limited":
        return { text: t("common.rateLimited") };
      case "invalid_mfa_code":
        return { text: t("mfa.wrongCode") };
      case "invalid_mfa_token":
        return { text: t("mfa.expired") };
      case "invalid_one_time_token":
        return { text: t("link.expired") };
      case "email_taken":
        return { text: t("signUp.taken"), field: "email" };
      case "email_not_verified":
        return { text: t("account.needsVerified") };
      case "validation_failed": {
        const first = problem.errors?.[0];
        const path = first?.path ?? "";
        if (/password/i.test(path)) return { text: passwordProblem(first?.message ?? ""), field: path };
        if (/email/i.test(path)) return { text: t("common.invalid"), field: path };
        return { text: t("common.invalid") };
      }
      case "insufficient_permission":
        return { text: t("org.forbidden") };
      case "last_owner":
        return { text: t("org.lastOwner") };
      case "slug_taken":
        return { text: t("org.slugTaken") };
      case "limit_reached":
        // The problem's detail names the setting reached (MAX_PENDING_INVITATIONS or MAX_ORGS_PER_USER).
        return { text: /INVITATION/.test(problem.detail ?? "") ? t("org.limitInvitations") : t("org.limitOrgs") };
      default:
        if (String(error.code) === "last_credential") return { text: t("account.lastCredential") };
        if (String(error.code) === "invalid_email_code") return { text: t("signIn.emailCodeWrong") };
        if (String(error.code) === "account_link_required") return { text: t("signIn.linkRequired") };
        if (String(error.code) === "identity_provider_error") return { text: t("signIn.providerFailed") };
        return { text: t("common.unexpected") };
    }
  }
  if (error instanceof TypeError) return { text: t("common.unreachable") };
  const name = (error as { name?: string } | null)?.name;
  if (name === "NotAllowedError" || name === "AbortError") return { text: t("signIn.passkeyCancelled") };
  if (name === "InvalidStateError") return { text: t("account.passkeyExists") };
  if (name === "SecurityError" || name === "NotSupportedError") return { text: t("signIn.passkeyUnavailable") };
  return { text: t("common.unexpected") };
}

/** The password policy's refusal (its English message, which the service keeps stable) in the page's language. */
function passwordProblem(message: string): string {
  if (/too common/i.test(message)) return t("password.common");
  if (/breach/i.test(message)) return t("password.breached");
  if (/at least/i.test(message)) return t("password.short");
  if (/at most/i.test(message)) return t("password.long");
  if (/cannot be typed/i.test(message)) return t("password.untypable");
  return t("common.invalid");
}

/**
 * Shows an error in the form's alert region (role=alert: announced at once; its room is kept, so nothing moves),
 * marks the field it concerns and moves focus there.
 */
export function showError(alertId: string, error: unknown, fields: Record<string, string> = {}): void {
  const { text, field } = explain(error);
  fail(alertId, text, field ? fields[field] : undefined);
}

/** An error of the page's own (a field left empty). */
export function fail(alertId: string, text: string, fieldId?: string): void {
  $(alertId).textContent = text;
  if (fieldId) {
    const target = input(fieldId);
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-errormessage", alertId);
    target.focus();
  }
}

export function clearErrors(alertId: string): void {
  $(alertId).textContent = "";
  for (const field of document.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    field.removeAttribute("aria-errormessage");
  }
}

/** A message of progress or success in the page's status region (announced politely). */
export function say(text: string): void {
  $("status").textContent = text;
}

/** Runs an action with its button disabled and the page marked busy. */
export async function busy(button: HTMLButtonElement | null, action: () => Promise<void>): Promise<void> {
  if (button) button.disabled = true;
  document.body.setAttribute("aria-busy", "true");
  try {
    await action();
  } finally {
    if (button) button.disabled = false;
    document.body.removeAttribute("aria-busy");
  }
}

/** Required fields left empty: the first is named, and focused. */
export function missing(alertId: string, ...ids: string[]): boolean {
  const empty = ids.find((id) => !input(id).value.trim());
  if (!empty) return false;
  fail(alertId, t("common.required"), empty);
  return true;
}

/** The submit button of a form. */
export const submitOf = (form: HTMLFormElement) => form.querySelector<HTMLButtonElement>("button[type=submit]");

/** A new element with its text (set as text, never as markup) and class. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", className = "") {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/**
 * An organization invitation's token, kept in this tab's sessionStorage while its user signs in or signs up (the
 * pages' origin only, never in an address), so /sign-in and /sign-up come back to /accept-invitation after.
 */
export const PENDING_INVITATION = "secureauth:hosted:invitation";

/** An organization's roles in words: the built-in ones translated, an organization's own as it named them. */
export function rolesInWords(roles: readonly string[]): string {
  const named: Record<string, MessageKey> = { owner: "role.owner", admin: "role.admin", member: "role.member" };
  return roles.map((role) => (Object.hasOwn(named, role) ? t(named[role]!) : role)).join(", ");
}

/** A readable date and time in the page's language. */
export function when(iso: string | null | undefined): string {
  if (!iso) return t("common.never");
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });
}
