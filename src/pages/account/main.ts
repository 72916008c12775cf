// The /account page's script (bundled by `npm run build:pages` into
// ../generated/account.ts, which the Worker serves inline under a CSP hash).
// Every call to the service goes through the client package's AuthClient, in
// bearer mode with the tokens in memory only: a reload signs out. The page
// adds what a person needs around it: forms, messages, and a re-authentication
// form when an action answers reauthentication_required.
import {
  AuthApiError,
  AuthClient,
  type LoggedIn,
  memoryStore,
  type Passkey,
  type PasskeyOptionsJson,
  type Problem,
  type ReauthenticationProof,
  type StoredTokens,
  type User,
} from "../../../packages/client/src/index";
import { creationOptions, credentialJSON, requestOptions, requirePasskeys } from "./webauthn";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const form = (id: string) => $<HTMLFormElement>(id);
const button = (id: string) => $<HTMLButtonElement>(id);

/**
 * Memory only: a reload signs out. The tokens themselves are the client's;
 * the access token is kept to show its claims.
 */
const state: {
  accessToken: string | null;
  deviceToken: string | null;
  user: User | null;
  mfaToken: string | null;
  methods: string[];
} = { accessToken: null, deviceToken: null, user: null, mfaToken: null, methods: [] };

const tokens = memoryStore();
const client = new AuthClient({
  baseUrl: location.origin,
  // The tokens in this page's memory; every change (a refresh too) redraws the claims shown.
  store: {
    get: () => tokens.get(),
    async set(pair: StoredTokens | null) {
      await tokens.set(pair);
      state.accessToken = pair?.accessToken ?? null;
      render();
    },
  },
  coordination: false,
  // This origin only, no cookies, nothing cached.
  fetch: (request, init) => fetch(request, { ...init, credentials: "omit", cache: "no-store" }),
  onSessionEnded: (reason) => {
    if (reason === "logged_out") return;
    dropTokens();
    say(`Your session has ended (${reason}). Sign in again.`, true);
  },
});

function say(text: string, isError?: boolean): void {
  const box = $("status");
  box.textContent = text;
  box.className = isError ? "error" : "";
}

/** A problem+json answer as one line: its title, detail and field errors. */
function problemText(problem: Problem): string {
  const body = problem as Problem & { errors?: { path?: string; message: string }[] };
  let text = body.title || `The service answered ${body.status}.`;
  if (body.detail) text += `: ${body.detail}`;
  if (Array.isArray(body.errors) && body.errors.length)
    text += ` (${body.errors.map((e) => (e.path ? `${e.path}: ` : "") + e.message).join("; ")})`;
  return text;
}

/**
 * An action of the signed-in user: a 403 reauthentication_required asks for
 * the password (or a code, or a passkey), then tries once more. (The client
 * refreshes the access token itself after a 401 invalid_token.)
 */
async function withReauth<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof AuthApiError && error.code === "reauthentication_required") || !(await reauthenticate()))
      throw error;
    return action();
  }
}

// Re-authentication: the form resolves the promise the waiting call awaits.
let reauthWaiting: Promise<boolean> | null = null;
let reauthResolve: ((done: boolean) => void) | null = null;
function reauthenticate(): Promise<boolean> {
  if (!reauthWaiting) {
    reauthWaiting = new Promise((resolve) => {
      reauthResolve = resolve;
    });
    form("reauth").reset();
    $("reauth-error").textContent = "";
    // With a second factor, the password alone is not enough: the password and a code, or a passkey.
    $("reauth-code-row").hidden = !state.user?.mfa?.totp;
    $("reauth-passkey").hidden = !((state.user?.mfa?.passkeys ?? 0) > 0);
    form("reauth").hidden = false;
    input("reauth-password").focus();
    say("Confirm it is you to go on.");
  }
  return reauthWaiting;
}
function finishReauth(done: boolean): void {
  form("reauth").hidden = true;
  form("reauth").reset();
  const resolve = reauthResolve;
  reauthWaiting = null;
  reauthResolve = null;
  if (resolve) resolve(done);
}
form("reauth").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = input("reauth-code").value.replace(/\s/g, "");
  const currentPassword = input("reauth-password").value;
  let proof: ReauthenticationProof = { currentPassword };
  if (/^[0-9]{6}$/.test(code)) proof = { currentPassword, code };
  else if (code) proof = { currentPassword, recoveryCode: code };
  await sendReauth(proof);
});
$("reauth-passkey").addEventListener("click", async () => {
  $("reauth-error").textContent = "...";
  try {
    await sendReauth({ response: await passkeyAssertion(() => client.reauthenticationPasskeyOptions()) });
  } catch (error) {
    $("reauth-error").textContent = messageOf(error);
  }
});
async function sendReauth(proof: ReauthenticationProof): Promise<void> {
  $("reauth-error").textContent = "...";
  try {
    await client.reauthenticate(proof); // a new access token; the refresh token we hold stays valid
    finishReauth(true);
  } catch (error) {
    $("reauth-error").textContent = messageOf(error);
  }
}
$("reauth-cancel").addEventListener("click", () => finishReauth(false));

function messageOf(error: unknown): string {
  if (error instanceof AuthApiError) return problemText(error.problem);
  if (error instanceof TypeError) return "The service could not be reached. Try again.";
  const name = (error as { name?: string } | null)?.name;
  if (name === "NotAllowedError") return "The passkey request was cancelled, timed out, or is not allowed here.";
  if (name === "InvalidStateError") return "This authenticator already holds a passkey for this account.";
  if (name === "SecurityError")
    return "Passkeys need a domain: open this page at http://localhost:<port>, not 127.0.0.1.";
  return (error as { message?: string } | null)?.message || String(error);
}

/** Runs an action with its button disabled; shows what goes wrong. */
async function run(target: HTMLButtonElement | null, action: () => Promise<unknown>): Promise<void> {
  if (target) target.disabled = true;
  try {
    await action();
  } catch (error) {
    say(messageOf(error), true);
  } finally {
    if (target) target.disabled = false;
  }
}

/**
 * Request options (a sign-in's, or a re-authentication's for the signed-in
 * user), then the browser's ceremony: the assertion as JSON.
 */
async function passkeyAssertion(fetchOptions: () => Promise<PasskeyOptionsJson> = () => client.passkeySignInOptions()) {
  requirePasskeys();
  const options = await fetchOptions();
  say("Waiting for your passkey...");
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
  if (!credential) throw new Error("No passkey was chosen.");
  return credentialJSON(credential as PublicKeyCredential);
}

// --- Signing in ---
function signedIn(body: LoggedIn): void {
  state.accessToken = body.tokens.accessToken;
  if (body.deviceToken) state.deviceToken = body.deviceToken;
  state.user = body.user;
  state.mfaToken = null;
  state.methods = [];
  input("password").value = "";
  form("mfa").hidden = true;
  form("mfa").reset();
  clearRecoveryCodes();
  render();
  say(`Signed in as ${body.user.email}.`);
  loadPasskeys();
}

function askSecondFactor(problem: Problem): void {
  state.mfaToken = problem.mfaToken ?? null;
  state.methods = Array.isArray(problem.methods) ? problem.methods : [];
  const codes = state.methods.includes("totp") || state.methods.includes("recovery_code");
  $("mfa-code-row").hidden = !codes;
  $("mfa-submit").hidden = !codes;
  $("mfa-passkey").hidden = !state.methods.includes("passkey");
  $("mfa-methods").textContent = state.methods.join(", ");
  form("mfa").hidden = false;
  if (codes) input("mfa-code").focus();
  say(`Your password is right. Now a second factor: ${state.methods.join(", ")}.`);
}

form("login").addEventListener("submit", (event) => {
  event.preventDefault();
  run(button("login-submit"), async () => {
    const email = input("email").value;
    const password = input("password").value;
    say("Signing in...");
    try {
      signedIn(
        await client.login(
          state.deviceToken ? { email, password, deviceToken: state.deviceToken } : { email, password },
        ),
      );
    } catch (error) {
      if (error instanceof AuthApiError && error.code === "mfa_required") return askSecondFactor(error.problem);
      throw error;
    }
  });
});

button("register").addEventListener("click", () => {
  if (!form("login").reportValidity()) return;
  run(button("register"), async () => {
    const email = input("email").value;
    const password = input("password").value;
    const name = input("name").value.trim();
    say("Registering...");
    const answer = await client.register(name ? { email, password, name } : { email, password });
    if (answer.tokens) return signedIn(answer as LoggedIn);
    input("password").value = "";
    say("Registered. Verify your email address with the link in the mail, then sign in.");
  });
});

button("passkey-sign-in").addEventListener("click", () => {
  run(button("passkey-sign-in"), async () => {
    const response = await passkeyAssertion();
    signedIn(await client.loginWithPasskey({ response }));
  });
});

form("mfa").addEventListener("submit", (event) => {
  event.preventDefault();
  run(button("mfa-submit"), async () => {
    const typed = input("mfa-code").value.trim();
    const digits = typed.replace(/\s/g, "");
    const mfaToken = state.mfaToken ?? "";
    const body =
      /^\d{6}$/.test(digits) || !state.methods.includes("recovery_code")
        ? { mfaToken, code: digits }
        : { mfaToken, recoveryCode: typed };
    try {
      signedIn(await client.completeMfa(body));
    } catch (error) {
      if (error instanceof AuthApiError && error.code === "invalid_mfa_token") cancelSecondFactor();
      throw error;
    }
  });
});
button("mfa-passkey").addEventListener("click", () => {
  run(button("mfa-passkey"), async () => {
    const response = await passkeyAssertion();
    signedIn(await client.loginWithPasskey({ response, mfaToken: state.mfaToken ?? "" }));
  });
});
function cancelSecondFactor(): void {
  state.mfaToken = null;
  state.methods = [];
  form("mfa").hidden = true;
  form("mfa").reset();
}
button("mfa-cancel").addEventListener("click", () => {
  cancelSecondFactor();
  say("Sign in again.");
});

// --- Signed in ---
function dropTokens(): void {
  state.accessToken = null;
  state.user = null;
  if (reauthResolve) finishReauth(false);
  clearRecoveryCodes();
  $("totp-pending").hidden = true;
  $("passkey-list").replaceChildren();
  render();
}
button("sign-out").addEventListener("click", () => {
  run(button("sign-out"), async () => {
    // Ends the session on the service too; the tokens go from memory whatever it answers.
    await client.logout().catch(() => {});
    dropTokens();
    say("Signed out.");
  });
});

/** The access token's claims, unverified: for showing only. */
function claimsOf(token: string): { amr?: unknown; auth_time?: unknown; exp?: unknown } {
  try {
    const part = token.split(".")[1]!;
    const binary = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const json = decodeURIComponent(
      Array.from(binary, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}
const when = (seconds: unknown) => (typeof seconds === "number" ? new Date(seconds * 1000).toISOString() : "-");

function render(): void {
  const user = state.user;
  $("signed-out").hidden = !!user;
  $("signed-in").hidden = !user;
  if (!user) return;
  $("user-email").textContent = user.email;
  $("user-verified").textContent = user.emailVerified ? "yes" : "no";
  $("user-totp").textContent = user.mfa?.totp ? "on" : "off";
  $("user-passkeys").textContent = String(user.mfa ? user.mfa.passkeys : 0);
  const claims = claimsOf(state.accessToken || "");
  $("claim-amr").textContent = Array.isArray(claims.amr) ? claims.amr.join(",") : "-";
  $("claim-auth-time").textContent = when(claims.auth_time);
  $("claim-exp").textContent = when(claims.exp);
  const totp = !!user.mfa?.totp;
  $("totp-enrol").hidden = totp;
  $("totp-remove").hidden = !totp;
  $("recovery-regenerate").hidden = !totp;
}

async function reloadUser(): Promise<void> {
  state.user = (await withReauth(() => client.getMe())).user;
  render();
}

// --- TOTP ---
button("totp-enrol").addEventListener("click", () => {
  run(button("totp-enrol"), async () => {
    const pending = await withReauth(() => client.startTotpEnrolment());
    $("totp-secret").textContent = (pending.secret.match(/.{1,4}/g) ?? []).join(" ");
    $("totp-uri").textContent = pending.otpauthUri;
    const qr = await withReauth(() => client.pendingTotpQrCode());
    $<HTMLImageElement>("totp-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(qr.svg)}`;
    $("totp-pending").hidden = false;
    input("totp-code").value = "";
    input("totp-code").focus();
    say("Add the secret to your authenticator app, then type the code it shows.");
  });
});
form("totp-confirm").addEventListener("submit", (event) => {
  event.preventDefault();
  run(button("totp-confirm-submit"), async () => {
    const code = input("totp-code").value.replace(/\s/g, "");
    const answer = await withReauth(() => client.confirmTotpEnrolment({ code }));
    // The page changes in one step: codes shown, TOTP on, the enrolment gone. The codes come
    // only in this answer, so they are shown before anything else is asked of the service.
    $("totp-pending").hidden = true;
    showRecoveryCodes(answer.recoveryCodes);
    say("TOTP is on: signing in with your password now asks for a code.");
    if (!state.user) return; // signed out while the answer was on its way
    state.user = { ...state.user, mfa: { ...state.user.mfa, totp: true } };
    render();
    await reloadUser();
  });
});
button("totp-cancel").addEventListener("click", () => {
  $("totp-pending").hidden = true;
});
button("totp-remove").addEventListener("click", () => {
  run(button("totp-remove"), async () => {
    await withReauth(() => client.removeTotp());
    clearRecoveryCodes();
    await reloadUser();
    say("TOTP and its recovery codes are removed.");
  });
});
button("recovery-regenerate").addEventListener("click", () => {
  run(button("recovery-regenerate"), async () => {
    showRecoveryCodes((await withReauth(() => client.regenerateRecoveryCodes())).recoveryCodes);
    say("New recovery codes: the earlier ones no longer work.");
  });
});
function showRecoveryCodes(codes: string[]): void {
  $("recovery-list").replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  $("recovery").hidden = false;
}
function clearRecoveryCodes(): void {
  $("recovery-list").replaceChildren();
  $("recovery").hidden = true;
}
button("recovery-done").addEventListener("click", clearRecoveryCodes);

// --- Passkeys ---
type Listed = { passkeys: Passkey[]; error?: undefined } | { passkeys?: undefined; error: unknown };

/** The account's passkeys, or why they could not be listed. */
function listPasskeys(): Promise<Listed> {
  return withReauth(() => client.listPasskeys()).then(
    ({ passkeys }) => ({ passkeys }),
    (error: unknown) => ({ error }),
  );
}
async function loadPasskeys(): Promise<void> {
  renderPasskeys(await listPasskeys());
}
/** After a passkey change: the list and the user's count are fetched together and drawn in one step. */
async function reloadPasskeysAndUser(): Promise<void> {
  const [listed, me] = await Promise.all([listPasskeys(), withReauth(() => client.getMe())]);
  state.user = me.user;
  render();
  renderPasskeys(listed);
}
function renderPasskeys(listed: Listed): void {
  const list = $("passkey-list");
  if (listed.error !== undefined || !listed.passkeys) {
    $("passkey-list-status").textContent = `Could not list the passkeys: ${messageOf(listed.error)}`;
    return;
  }
  const { passkeys } = listed;
  $("passkey-list-status").textContent = passkeys.length ? "" : "No passkeys yet.";
  list.replaceChildren(
    ...passkeys.map((passkey) => {
      const item = document.createElement("li");
      item.dataset.id = passkey.id;
      const label = document.createElement("span");
      const used = passkey.lastUsedAt || "never";
      label.textContent = `${passkey.name || "Unnamed passkey"} (added ${passkey.createdAt}, last used ${used}) `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Delete";
      remove.addEventListener("click", () => {
        run(remove, async () => {
          await withReauth(() => client.removePasskey(passkey.id));
          await reloadPasskeysAndUser();
          say("Passkey deleted.");
        });
      });
      item.append(label, remove);
      return item;
    }),
  );
}
form("passkey-add").addEventListener("submit", (event) => {
  event.preventDefault();
  run(button("passkey-add-submit"), async () => {
    requirePasskeys();
    const options = await withReauth(() => client.passkeyRegistrationOptions());
    say("Waiting for your authenticator...");
    const credential = await navigator.credentials.create({
      publicKey: creationOptions(options as unknown as Record<string, unknown>),
    });
    if (!credential) throw new Error("No passkey was made.");
    const response = credentialJSON(credential as PublicKeyCredential);
    const name = input("passkey-name").value.trim();
    const { passkey } = await withReauth(() => client.registerPasskey(name ? { response, name } : { response }));
    input("passkey-name").value = "";
    await reloadPasskeysAndUser();
    say(`Passkey added: ${passkey.name || "unnamed"}.`);
  });
});

render();
document.documentElement.dataset.ready = "true";
