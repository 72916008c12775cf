// /sign-in: every method the service turns on (password, passkey with the
// browser's autofill where it has conditional mediation, provider buttons
// from GET /auth/providers, an email code), then the second step (TOTP,
// recovery code, passkey), or the email-not-verified state. Signed in, the
// page hands off to the app that sent the browser here
// (?redirect_to&code_challenge&state: POST /auth/handoff, then the answered
// redirect), or goes to /account (or back to /accept-invitation, when the
// user came from an invitation's page). Already signed in, it asks first:
// "Continue as <email>", so no page can collect codes silently.
import { AuthApiError, type MfaMethod, type User } from "../../../packages/client/src/index";
import {
  $,
  busy,
  clearErrors,
  client,
  explain,
  fail,
  input,
  missing,
  PENDING_INVITATION,
  say,
  showError,
  submitOf,
  t,
} from "./common";
import { passkeyAssertion, conditionalPasskey } from "./passkey";

type Handoff = { redirectTo: string; codeChallenge: string; state?: string };
/** The app's handoff, kept across a provider's round trip under the state of the flow that left for it. */
const HANDOFF_PREFIX = "secureauth:hosted:handoff:";

const params = new URLSearchParams(location.search);

/** The app's request, from the address (or kept across a provider's round trip). */
function handoffFromAddress(): Handoff | null {
  const redirectTo = params.get("redirect_to");
  const codeChallenge = params.get("code_challenge");
  if (!redirectTo || !codeChallenge) return null;
  const state = params.get("state");
  return state === null ? { redirectTo, codeChallenge } : { redirectTo, codeChallenge, state };
}

let handoff: Handoff | null = handoffFromAddress();
let mfa: { token: string; methods: MfaMethod[]; recovery: boolean } | null = null;
let emailCodeAddress = "";
let conditional: AbortController | null = null;

const show = (step: "continue" | "start" | "email-code" | "mfa" | "unverified") => {
  for (const name of ["continue", "start", "email-code", "mfa", "unverified"]) $(`step-${name}`).hidden = name !== step;
};

/** Signed in (or pressed "Continue as"): back to the app with a code, or to the account page. */
async function proceed(): Promise<void> {
  if (!handoff) {
    // Signed in to accept an invitation: back to its page, which holds the token in this tab.
    location.assign(sessionStorage.getItem(PENDING_INVITATION) ? "/accept-invitation" : "/account");
    return;
  }
  say(t("signIn.redirecting"));
  try {
    const { redirect } = await client.handoff(handoff);
    // Only where the app asked to go (the service checked REDIRECT_URLS; this checks its answer).
    const target = new URL(redirect);
    const asked = new URL(handoff.redirectTo);
    if (target.origin !== asked.origin || target.pathname !== asked.pathname) throw new Error("unexpected redirect");
    location.assign(target.toString());
  } catch (error) {
    say("");
    const refused = error instanceof AuthApiError && error.code === "validation_failed";
    fail("form-error", refused ? t("signIn.badRedirect") : t("signIn.handoffUnavailable"));
    if (document.body.dataset.page === "sign-in") show("start");
  }
}

function signedIn(): Promise<void> {
  conditional?.abort();
  return proceed();
}

/** An answer that needs more than the first step: the second step, or a confirmed address first. */
function nextStep(error: unknown, alertId: string): boolean {
  if (!(error instanceof AuthApiError)) return false;
  if (error.code === "mfa_required") {
    const methods = (error.methods ?? []) as MfaMethod[];
    mfa = { token: error.mfaToken ?? "", methods, recovery: !methods.includes("totp") };
    drawMfa();
    show("mfa");
    $("mfa-heading").focus();
    return true;
  }
  if (error.code === "email_not_verified") {
    show("unverified");
    $("unverified-heading").focus();
    return true;
  }
  if (alertId) showError(alertId, error, { email: "email", password: "password" });
  return false;
}

function drawMfa(): void {
  if (!mfa) return;
  const codes = mfa.methods.includes("totp");
  const recovery = mfa.methods.includes("recovery_code");
  $("mfa-code-field").hidden = mfa.recovery;
  $("mfa-recovery-field").hidden = !mfa.recovery;
  $("mfa-toggle").hidden = !(codes && recovery);
  $("mfa-toggle").textContent = mfa.recovery ? t("mfa.useApp") : t("mfa.useRecovery");
  $("mfa-submit").hidden = !(codes || recovery);
  $("mfa-form").hidden = !(codes || recovery);
  $("mfa-passkey").hidden = !mfa.methods.includes("passkey");
}

function backToStart(): void {
  mfa = null;
  for (const id of ["mfa-code", "mfa-recovery", "email-code-input", "password"]) input(id).value = "";
  clearErrors("mfa-error");
  clearErrors("email-code-error");
  show("start");
  input("email").focus();
}

/** The browser's autofill offers passkeys in the email field, where it can (conditional mediation). */
async function startConditional(): Promise<void> {
  conditional = new AbortController();
  try {
    const response = await conditionalPasskey(() => client.passkeySignInOptions(), conditional.signal);
    if (!response) return;
    await busy(null, async () => {
      await client.loginWithPasskey({ response });
      await signedIn();
    });
  } catch (error) {
    if ((error as { name?: string } | null)?.name === "AbortError") return;
    if (!nextStep(error, "")) fail("form-error", t("signIn.passkeyFailed"));
  }
}

// --- Providers ---

/**
 * The provider buttons: links to GET /auth/oauth/{id} from the client's signInWithProvider (its PKCE verifier and
 * state kept in this tab's sessionStorage), coming back to this page with a one-time code; the app's handoff waits
 * beside the flow, under its state.
 */
async function drawProviders(): Promise<void> {
  let listed: Awaited<ReturnType<typeof client.listSignInProviders>>;
  try {
    listed = await client.listSignInProviders();
  } catch {
    return; // 404: no federated sign-in on this service; the other methods stand alone
  }
  $("email-code").hidden = !listed.emailSignIn;
  if (!listed.providers.length) return;
  const redirectTo = `${location.origin}/sign-in`;
  const links: HTMLAnchorElement[] = [];
  for (const provider of listed.providers) {
    const url = new URL(await client.signInWithProvider(provider.id, { redirectTo }));
    if (handoff) sessionStorage.setItem(`${HANDOFF_PREFIX}${url.searchParams.get("state")}`, JSON.stringify(handoff));
    const link = document.createElement("a");
    link.className = "button";
    link.href = url.toString();
    link.textContent = t("signIn.provider", { provider: provider.name });
    links.push(link);
  }
  $("providers").replaceChildren(...links);
  $("providers").hidden = false;
  $("providers-or").hidden = false;
}

/** Back from a provider: ?code&state (or ?error), exchanged for the pages' own session. */
async function providerReturn(): Promise<boolean> {
  const code = params.get("code");
  const error = params.get("error");
  if (params.has("redirect_to") || (!code && !error)) return false;
  const returned = location.href;
  const state = params.get("state") ?? "";
  history.replaceState(null, "", location.pathname);
  const kept = sessionStorage.getItem(`${HANDOFF_PREFIX}${state}`);
  sessionStorage.removeItem(`${HANDOFF_PREFIX}${state}`);
  if (kept) handoff = JSON.parse(kept) as Handoff;
  const failed = () =>
    fail("form-error", error === "account_link_required" ? t("signIn.linkRequired") : t("signIn.providerFailed"));
  let result: Awaited<ReturnType<typeof client.handleRedirect>>;
  try {
    // The code exchanged with the verifier this tab kept for the state; null when this tab started no such flow.
    result = await client.handleRedirect(returned);
  } catch (failure) {
    // The provider's refusal (?error=, which handleRedirect throws), or the exchange's (a second factor, a spent code).
    if (error) {
      failed();
      return false;
    }
    nextStep(failure, "form-error");
    return true;
  }
  if (result?.kind !== "signed_in") {
    failed();
    return false;
  }
  await signedIn();
  return true;
}

/** Already signed in here: "Continue as <email>" (or another account). */
async function offerContinue(user: User): Promise<void> {
  $("continue-text").textContent = t("signIn.signedInAs", { email: user.email });
  $("continue").textContent = t("signIn.continueAs", { email: user.email });
  show("continue");
  $("continue").focus();
}
/** The page's listeners: only on /sign-in, whose elements they name. */
function wire(): void {
  // --- Password ---
  $<HTMLFormElement>("password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    clearErrors("form-error");
    if (missing("form-error", "email", "password")) return;
    void busy(submitOf(form), async () => {
      try {
        await client.login({ email: input("email").value.trim(), password: input("password").value });
        await signedIn();
      } catch (error) {
        input("password").value = "";
        nextStep(error, "form-error");
      }
    });
  });

  // --- Passkey ---
  $<HTMLButtonElement>("passkey").addEventListener("click", (event) => {
    clearErrors("form-error");
    conditional?.abort();
    void busy(event.currentTarget as HTMLButtonElement, async () => {
      try {
        const response = await passkeyAssertion(() => client.passkeySignInOptions());
        await client.loginWithPasskey({ response });
        await signedIn();
      } catch (error) {
        if (!nextStep(error, "")) {
          const { text } = explain(error);
          fail("form-error", error instanceof AuthApiError ? t("signIn.passkeyFailed") : text);
        }
      }
    });
  });

  // --- Second step ---
  $<HTMLFormElement>("mfa-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!mfa) return;
    const current = mfa;
    clearErrors("mfa-error");
    const fieldId = current.recovery ? "mfa-recovery" : "mfa-code";
    if (missing("mfa-error", fieldId)) return;
    const typed = input(fieldId).value.trim();
    void busy(submitOf(event.currentTarget as HTMLFormElement), async () => {
      try {
        await client.completeMfa(
          current.recovery
            ? { mfaToken: current.token, recoveryCode: typed }
            : { mfaToken: current.token, code: typed.replace(/\s/g, "") },
        );
        await signedIn();
      } catch (error) {
        input(fieldId).value = "";
        if (error instanceof AuthApiError && error.code === "invalid_mfa_token") {
          backToStart();
          fail("form-error", t("mfa.expired"));
          return;
        }
        if (error instanceof AuthApiError && error.code === "invalid_mfa_code" && current.recovery)
          fail("mfa-error", t("mfa.wrongRecovery"), fieldId);
        else showError("mfa-error", error);
        if (!$("mfa-error").textContent) return;
        input(fieldId).setAttribute("aria-invalid", "true");
        input(fieldId).focus();
      }
    });
  });
  $("mfa-toggle").addEventListener("click", () => {
    if (!mfa) return;
    mfa.recovery = !mfa.recovery;
    clearErrors("mfa-error");
    drawMfa();
    input(mfa.recovery ? "mfa-recovery" : "mfa-code").focus();
  });
  $<HTMLButtonElement>("mfa-passkey").addEventListener("click", (event) => {
    if (!mfa) return;
    const current = mfa;
    clearErrors("mfa-error");
    void busy(event.currentTarget as HTMLButtonElement, async () => {
      try {
        const response = await passkeyAssertion(() => client.passkeySignInOptions());
        await client.loginWithPasskey({ response, mfaToken: current.token });
        await signedIn();
      } catch (error) {
        showError("mfa-error", error);
      }
    });
  });
  $("mfa-cancel").addEventListener("click", backToStart);
  $("unverified-back").addEventListener("click", backToStart);

  // --- Email code ---
  $<HTMLButtonElement>("email-code").addEventListener("click", (event) => {
    clearErrors("form-error");
    if (missing("form-error", "email")) {
      $("form-error").textContent = t("signIn.emailNeeded");
      return;
    }
    emailCodeAddress = input("email").value.trim();
    void busy(event.currentTarget as HTMLButtonElement, async () => {
      try {
        await client.requestEmailCode({ email: emailCodeAddress });
        $("email-code-sent").textContent = t("signIn.emailCodeSent", { email: emailCodeAddress });
        show("email-code");
        input("email-code-input").focus();
      } catch (error) {
        showError("form-error", error, { email: "email" });
      }
    });
  });
  $<HTMLFormElement>("email-code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("email-code-error");
    if (missing("email-code-error", "email-code-input")) return;
    const code = input("email-code-input").value.replace(/\s/g, "");
    void busy(submitOf(event.currentTarget as HTMLFormElement), async () => {
      try {
        await client.verifyEmailCode({ email: emailCodeAddress, code });
        await signedIn();
      } catch (error) {
        input("email-code-input").value = "";
        if (!nextStep(error, "email-code-error")) input("email-code-input").focus();
      }
    });
  });
  $("email-code-cancel").addEventListener("click", backToStart);

  $<HTMLButtonElement>("continue").addEventListener("click", (event) => {
    void busy(event.currentTarget as HTMLButtonElement, proceed);
  });
  $<HTMLButtonElement>("other-account").addEventListener("click", (event) => {
    void busy(event.currentTarget as HTMLButtonElement, async () => {
      await client.logout();
      show("start");
      input("email").focus();
      void startConditional();
    });
  });
}

export async function signInPage(): Promise<void> {
  wire();
  // The contract's handoff is S256 only: another method is an app's mistake, said before anything is signed in.
  const method = params.get("code_challenge_method");
  if (handoff && method !== null && method !== "S256") {
    handoff = null;
    fail("form-error", t("signIn.badRedirect"));
  }
  // The link to sign-up keeps the app's request.
  if (handoff) $<HTMLAnchorElement>("sign-up-link").search = location.search;
  void drawProviders();
  if (await providerReturn()) return;
  let user: User | null = null;
  try {
    if (await client.accessToken()) user = (await client.getMe()).user;
  } catch {
    user = null;
  }
  if (user) return offerContinue(user);
  if (!handoff && sessionStorage.getItem(PENDING_INVITATION)) say(t("invite.waiting"));
  show("start");
  void startConditional();
}

/** /sign-up, signed in: back to the app whose request its address carries (as /sign-in's), or to /account. */
export function proceedAfterSignUp(): Promise<void> {
  return proceed();
}
