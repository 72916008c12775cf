// The example app's one script: a "Sign in" button that sends the browser to
// the service's hosted /sign-in page (redirectToSignIn), the return on
// /callback whose one-time code is exchanged for a session of the app's own
// (handleRedirect, POST /auth/exchange), the signed-in user (GET /me), and
// "Sign out" (POST /auth/logout). Bearer mode: the tokens stay in this
// page's memory, nothing in storage but the PKCE verifier and state while
// the browser is on the hosted page.
import { AuthApiError, AuthClient } from "@secureauth/client";

const element = (id: string): HTMLElement => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found;
};

const serviceUrl = document.querySelector<HTMLMetaElement>('meta[name="secureauth-service"]')?.content ?? "";
/** Where the hosted page sends the browser back: one of the service's REDIRECT_URLS exactly. */
const redirectTo = new URL("/callback", location.origin).href;

const auth = new AuthClient({
  baseUrl: serviceUrl,
  // The verifier and the state wait here while the browser is on the hosted page (this tab only).
  flowStorage: sessionStorage,
  onSessionEnded: () => void showSignedOut(),
});

function say(status: string, error = ""): void {
  element("status").textContent = status;
  element("error").textContent = error;
}

function showSignedOut(): void {
  element("signed-in").hidden = true;
  element("signed-out").hidden = false;
  say("Signed out.");
}

async function showUser(): Promise<void> {
  const { user } = await auth.getMe();
  element("user-email").textContent = user.email;
  element("user-name").textContent = user.name ?? "(none)";
  element("user-id").textContent = user.id;
  element("signed-out").hidden = true;
  element("signed-in").hidden = false;
  say("Signed in.");
}

element("sign-in").addEventListener("click", async () => {
  say("Going to the sign-in page…");
  location.assign(await auth.redirectToSignIn({ redirectTo }));
});

element("sign-out").addEventListener("click", async () => {
  await auth.logout();
  showSignedOut();
});

async function start(): Promise<void> {
  if (location.pathname === "/callback") {
    // The code is good once: take it off the address bar whatever happens.
    const returned = location.href;
    history.replaceState(null, "", "/");
    // null: no return of a sign-in this tab started (a code planted in a link is never exchanged).
    const result = await auth.handleRedirect(returned);
    if (result?.kind === "signed_in") return showUser();
  }
  showSignedOut();
}

start().catch((error: unknown) => {
  showSignedOut();
  const reason = error instanceof AuthApiError ? error.problem.title : String(error);
  say("Signed out.", `Could not sign in: ${reason}`);
});
