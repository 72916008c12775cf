// /sign-up, /forgot-password, and the mailed links' pages (/reset-password,
// /verify-email, /confirm-email). A link's token is read once from the
// address and removed from the address bar before anything else, and spent
// only when the button is pressed: a mail scanner that fetches the link
// spends nothing.
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
  const token = new URLSearchParams(location.search).get("token") ?? "";
  history.replaceState(null, "", location.pathname);
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
