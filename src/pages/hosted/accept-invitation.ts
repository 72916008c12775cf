// /accept-invitation: an organization invitation's link
// (APP_URL/accept-invitation?token=...). The token is read once and removed
// from the address bar, then kept in this tab's sessionStorage (never in an
// address) while the user signs in or signs up, which come back here. It is
// spent only when "Accept" is pressed, by a signed-in user whose confirmed
// address is the invited one (a mail scanner fetching the link spends
// nothing). Each refusal is said in words with the way out (sign in with the
// invited address, confirm the address); a refused acceptance spends nothing,
// so the user puts it right and presses again.
import { AuthApiError, type User } from "../../../packages/client/src/index";
import {
  $,
  busy,
  clearErrors,
  client,
  fail,
  PENDING_INVITATION,
  rolesInWords,
  say,
  showError,
  submitOf,
  t,
} from "./common";

/** The link's token (read once, then gone from the address bar), or the one this tab kept across a sign-in. */
function invitationToken(): string {
  const fromLink = new URLSearchParams(location.search).get("token");
  history.replaceState(null, "", location.pathname);
  if (fromLink) sessionStorage.setItem(PENDING_INVITATION, fromLink);
  return fromLink || sessionStorage.getItem(PENDING_INVITATION) || "";
}

/** The page's message alone, the form gone (a link that is incomplete or no longer works). */
function only(text: string): void {
  $("intro").hidden = true;
  $<HTMLFormElement>("accept-form").hidden = true;
  $("accept-form").before($("form-error"));
  fail("form-error", text);
}

async function signedInUser(): Promise<User | null> {
  try {
    return (await client.accessToken()) ? (await client.getMe()).user : null;
  } catch {
    return null;
  }
}

export async function acceptInvitationPage(): Promise<void> {
  const token = invitationToken();
  if (!token) return only(t("link.missing"));
  const user = await signedInUser();
  if (!user) {
    $("step-signed-out").hidden = false;
    return;
  }
  const form = $<HTMLFormElement>("accept-form");
  $("signed-in-as").textContent = t("invite.signedInAs", { email: user.email });
  form.hidden = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("form-error");
    say("");
    $("switch-account").hidden = true;
    $("resend").hidden = true;
    void busy(submitOf(form), async () => {
      try {
        const { org, roles } = await client.acceptInvitation({ token });
        sessionStorage.removeItem(PENDING_INVITATION);
        form.hidden = true;
        $("intro").hidden = true;
        say(t("invite.accepted", { org: org.name, roles: rolesInWords(roles) }));
        $("onward").hidden = false;
        $("to-account").focus();
      } catch (error) {
        const code = error instanceof AuthApiError ? error.code : "";
        if (code === "insufficient_permission") {
          fail("form-error", t("invite.wrongAccount"));
          $("switch-account").hidden = false;
        } else if (code === "email_not_verified") {
          fail("form-error", t("invite.notVerified", { email: user.email }));
          $("resend").hidden = false;
        } else if (code === "invalid_one_time_token") {
          sessionStorage.removeItem(PENDING_INVITATION);
          only(t("invite.expired"));
          $("onward").hidden = false;
        } else if (code === "invalid_token") {
          form.hidden = true;
          $("step-signed-out").hidden = false;
        } else showError("form-error", error);
      }
    });
  });
  // Another account: signed out here, the token kept, and back after signing in with the invited address.
  $<HTMLButtonElement>("switch-account").addEventListener("click", (event) =>
    busy(event.currentTarget as HTMLButtonElement, async () => {
      await client.logout();
      location.assign("/sign-in");
    }),
  );
  $<HTMLButtonElement>("resend").addEventListener("click", (event) =>
    busy(event.currentTarget as HTMLButtonElement, async () => {
      try {
        await client.sendEmailVerification();
        say(t("invite.resent", { email: user.email }));
      } catch (error) {
        showError("form-error", error);
      }
    }),
  );
}
