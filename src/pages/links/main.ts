// The script of the mailed links' pages (/verify-email, /reset-password,
// /confirm-email; bundled by `npm run build:pages` into
// ../generated/links.ts). One script for the three: it reads the page's
// endpoint and message from data attributes, takes the token from the
// address bar (and removes it from there), and spends it on a click through
// the client package's AuthClient.
import { AuthApiError, AuthClient } from "../../../packages/client/src/index";

const main = document.querySelector("main")!;
const form = document.querySelector("form")!;
const status = document.querySelector("output")!;
const token = new URLSearchParams(location.search).get("token") || "";
history.replaceState(null, "", location.pathname);
if (!token) {
  status.textContent = "This link has no token. Open the link from the mail again.";
  form.hidden = true;
}

// Needs no session: these calls carry the link's token, and nothing is kept.
const client = new AuthClient({ baseUrl: location.origin, coordination: false });

/** The call each page's endpoint names. */
const spend: Record<string, (newPassword: string | undefined) => Promise<unknown>> = {
  "/auth/email/verify": () => client.verifyEmail({ token }),
  "/auth/password/reset": (newPassword) => client.resetPassword({ token, newPassword: newPassword ?? "" }),
  "/auth/email/change": () => client.confirmEmailChange({ token }),
};

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = form.querySelector<HTMLInputElement>("input[name=newPassword]");
  const button = form.querySelector("button")!;
  button.disabled = true;
  status.textContent = "...";
  try {
    await spend[main.dataset.endpoint ?? ""]!(password?.value);
    status.textContent = main.dataset.done ?? "";
    form.hidden = true;
    return;
  } catch (error) {
    if (error instanceof AuthApiError) {
      const problem = error.problem as typeof error.problem & { errors?: { message: string }[] };
      status.textContent = problem.detail || problem.title || "Something went wrong.";
      if (problem.errors) status.textContent += ` ${problem.errors.map((e) => e.message).join(" ")}`;
    } else status.textContent = "The service could not be reached. Try again.";
  }
  button.disabled = false;
});
