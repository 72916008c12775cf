// /sign-up, /forgot-password, and the mailed links' pages (/reset-password,
// /verify-email, /confirm-email, /magic-link). A link's token is read once
// from the address and removed from the address bar before anything else,
// and spent only when the button is pressed: a mail scanner that fetches the
// link spends nothing. The magic link signs in on this origin in cookie mode
// (the pages' own session), and asks for the second factor on the same page
// when the account has one.
import { AuthApiError } from "../../../packages/client/src/index";
import { $, busy, clearErrors, client, fail, input, missing, say, showError, submitOf, t } from "./common";
import { proceedAfterSignUp } from "./sign-in";

const FIELDS = { email: "email", password: "password", newPassword: "password" };

export function signUpPage(): void {
  // The link back to sign-in keeps the app's request.
  $<HTMLAnchorElement>("sign-in-link").search = location.search;
  $<HTMLFormElement>("sign-up-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    clearErrors("form-error");
    if (missing("form-error", "email", "password")) return;
    const email = input("email").value.trim();
    const name = input("name").value.trim();
    void busy(submitOf(form), async () => {
      try {
        const answer = await client.register({ email, password: input("password").value, ...(name ? { name } : {}) });
        if (!answer.tokens) {
          form.hidden = true;
          say(t("signUp.checkEmail", { email }));
          return;
        }
        say(t("signUp.done", { email }));
        await proceedAfterSignUp();
      } catch (error) {
        showError("form-error", error, FIELDS);
      }
    });
  });
}

export function forgotPasswordPage(): void {
  $<HTMLFormElement>("forgot-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    clearErrors("form-error");
    if (missing("form-error", "email")) return;
    const email = input("email").value.trim();
    void busy(submitOf(form), async () => {
      try {
        await client.forgotPassword({ email });
        form.hidden = true;
        say(t("forgot.sent", { email }));
      } catch (error) {
        showError("form-error", error, { email: "email" });
      }
    });
  });
}

/** One of the mailed links' pages: the token, read once, spent on a press. */
export function linkPage(): void {
  const token = linkToken();
  const form = $<HTMLFormElement>("link-form");
  const call = form.dataset.call;
  if (!token) {
    form.hidden = true;
    fail("form-error", t("link.missing"));
    form.before($("form-error"));
    return;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("form-error");
    if (call === "reset" && missing("form-error", "password")) return;
    void busy(submitOf(form), async () => {
      try {
        if (call === "reset") await client.resetPassword({ token, newPassword: input("password").value });
        else if (call === "verify") await client.verifyEmail({ token });
        else await client.confirmEmailChange({ token });
        form.hidden = true;
        $("intro").hidden = true;
        say(t(call === "reset" ? "reset.done" : call === "verify" ? "verify.done" : "confirm.done"));
      } catch (error) {
        if (error instanceof AuthApiError && error.code === "invalid_one_time_token") {
          form.hidden = true;
          $("intro").hidden = true;
          form.before($("form-error"));
          fail("form-error", t("link.expired"));
          if (call === "reset") $("new-link").hidden = false;
          return;
        }
        if (error instanceof AuthApiError && error.code === "email_taken") fail("form-error", t("confirm.taken"));
        else showError("form-error", error, FIELDS);
      }
    });
  });
}

/** The token a mailed link carries, read once and removed from the address bar. */
function linkToken(): string {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  history.replaceState(null, "", location.pathname);
  return token;
}

/** /magic-link: the email sign-in link, spent when its button is pressed; then the second factor, if one. */
export function magicLinkPage(): void {
  const token = linkToken();
  const form = $<HTMLFormElement>("link-form");
  const factor = $<HTMLFormElement>("factor");
  if (!token) {
    form.hidden = true;
    fail("form-error", t("link.missing"));
    form.before($("form-error"));
    return;
  }
  /** The second step a sign-in answered mfa_required with. */
  let mfaToken = "";
  const signedIn = (email: string) => {
    form.hidden = true;
    factor.hidden = true;
    $("intro").hidden = true;
    say(t("magic.done", { email }));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("form-error");
    say("");
    void busy(submitOf(form), async () => {
      try {
        const { user } = await client.verifyEmailCode({ token });
        signedIn(user.email);
      } catch (error) {
        if (error instanceof AuthApiError && error.code === "mfa_required" && error.mfaToken) {
          // The link was one factor and is spent: only the second factor's code is left to give.
          mfaToken = error.mfaToken;
          form.hidden = true;
          factor.hidden = false;
          say(t("magic.factor"));
          input("factor-code").focus();
          return;
        }
        if (error instanceof AuthApiError && String(error.code) === "invalid_email_code") {
          fail("form-error", t("magic.spent"));
          return;
        }
        showError("form-error", error);
      }
    });
  });
  factor.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("factor-error");
    if (missing("factor-error", "factor-code")) return;
    say("");
    // Six digits is a TOTP code; anything else a recovery code.
    const code = input("factor-code").value.replace(/\s/g, "");
    const step = /^\d{6}$/.test(code) ? { code } : { recoveryCode: code };
    void busy(submitOf(factor), async () => {
      try {
        const { user } = await client.completeMfa({ mfaToken, ...step });
        signedIn(user.email);
      } catch (error) {
        input("factor-code").value = "";
        if (error instanceof AuthApiError && error.code === "invalid_mfa_code" && !("code" in step))
          fail("factor-error", t("mfa.wrongRecovery"), "factor-code");
        else showError("factor-error", error, { code: "factor-code", recoveryCode: "factor-code" });
      }
    });
  });
}
