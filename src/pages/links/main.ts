// The script of the mailed links' pages (/verify-email, /reset-password,
// /confirm-email, /magic-link; bundled by `npm run build:pages` into
// ../generated/links.ts). One script for the four: it reads the page's
// endpoint and message from data attributes, takes the token from the
// address bar (and removes it from there), and spends it on a click through
// the client package's AuthClient; never on load, since mail scanners open
// links. The magic link signs in in cookie mode, and asks for the second
// factor when the account has one.
import { AuthApiError, AuthClient } from "../../../packages/client/src/index";

const main = document.querySelector("main")!;
const form = document.querySelector("form")!;
const factorForm = document.querySelector<HTMLFormElement>("form#factor");
const status = document.querySelector("output")!;
const token = new URLSearchParams(location.search).get("token") || "";
history.replaceState(null, "", location.pathname);
if (!token) {
  status.textContent = "This link has no token. Open the link from the mail again.";
  form.hidden = true;
}

// Needs no session: these calls carry the link's token, and nothing is kept.
const client = new AuthClient({ baseUrl: location.origin, coordination: false });
// The magic link's sign-in: the session lives in this origin's cookies.
const cookieClient = new AuthClient({ baseUrl: location.origin, mode: "cookie", coordination: false });
/** The second step a sign-in answered mfa_required with. */
let mfaToken: string | undefined;

/** The call each page's endpoint names. */
const spend: Record<string, (newPassword: string | undefined) => Promise<unknown>> = {
  "/auth/email/verify": () => client.verifyEmail({ token }),
  "/auth/password/reset": (newPassword) => client.resetPassword({ token, newPassword: newPassword ?? "" }),
  "/auth/email/change": () => client.confirmEmailChange({ token }),
  "/auth/email/code/verify": async () => {
    const { user } = await cookieClient.verifyEmailCode({ token });
    return user.email;
  },
};

/** What the service said, in words (its detail, or its title). */
function explain(error: unknown): string {
  if (!(error instanceof AuthApiError)) return "The service could not be reached. Try again.";
  const problem = error.problem as typeof error.problem & { errors?: { message: string }[] };
  let text = problem.detail || problem.title || "Something went wrong.";
  if (problem.errors) text += ` ${problem.errors.map((e) => e.message).join(" ")}`;
  return text;
}

/** The sign-in is done (or the link spent): say so, with the address when there is one, and offer nothing more. */
function done(email: unknown): void {
  status.textContent = `${main.dataset.done ?? ""}${typeof email === "string" ? ` (${email})` : ""}`;
  form.hidden = true;
  if (factorForm) factorForm.hidden = true;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = form.querySelector<HTMLInputElement>("input[name=newPassword]");
  const button = form.querySelector("button")!;
  button.disabled = true;
  status.textContent = "...";
  try {
    const answer = await spend[main.dataset.endpoint ?? ""]!(password?.value);
    done(main.dataset.endpoint === "/auth/email/code/verify" ? answer : undefined);
    return;
  } catch (error) {
    if (factorForm && error instanceof AuthApiError && error.code === "mfa_required" && error.mfaToken) {
      // The link was one factor; the account has a second. The link is spent: only the code is left to give.
      mfaToken = error.mfaToken;
      form.hidden = true;
      factorForm.hidden = false;
      status.textContent = "This account has a second factor: enter its code.";
      factorForm.querySelector("input")!.focus();
      return;
    }
    status.textContent = explain(error);
  }
  button.disabled = false;
});

factorForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = factorForm.querySelector("input")!;
  const button = factorForm.querySelector("button")!;
  button.disabled = true;
  status.textContent = "...";
  const code = input.value.trim();
  try {
    // Six digits is a TOTP code; anything else a recovery code.
    const step = /^\d{6}$/.test(code) ? { code } : { recoveryCode: code };
    const { user } = await cookieClient.completeMfa({ mfaToken: mfaToken ?? "", ...step });
    done(user.email);
    return;
  } catch (error) {
    status.textContent = explain(error);
  }
  button.disabled = false;
});
