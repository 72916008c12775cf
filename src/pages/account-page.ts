// GET /account: a small hosted page for trying the whole flow in a browser on
// `npm run dev` (open http://localhost:8787/account: passkeys need a domain,
// so localhost, never 127.0.0.1). Sign in or register, with a password, a
// second factor or a passkey; enrol TOTP, get recovery codes, add and remove
// passkeys. It calls this origin's JSON API as any app would, and keeps the
// tokens in memory only: a reload signs out. Like the link pages, it is one
// HTML document with one inline script and one inline style, which the CSP
// allows by hash and nothing else; requests go to this origin only.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context";
import { problemResponses } from "../http/openapi";
import { hashedPagePolicy } from "./page-policy";

export const accountPageRoutes = new OpenAPIHono<AppEnv>();

const STYLE = `[hidden]{display:none!important}
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}section{border-top:1px solid #ccc;padding-top:.5rem}
label{display:block;margin:.5rem 0}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}
button{font:inherit;padding:.4rem .8rem;margin:.25rem .25rem .25rem 0;cursor:pointer}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}
code,.mono{font-family:ui-monospace,monospace;word-break:break-all}.secret{font-size:1.2rem;letter-spacing:.05em}
#status{min-height:1.5em;padding:.5rem;background:#eef6ee}#status.error{background:#fbeaea;color:#8a1111}
.error{color:#8a1111}ol.codes{columns:2;font-family:ui-monospace,monospace}ul.passkeys{padding-left:1.2rem}
.hint{color:#555;font-size:.9rem}`;

/**
 * The page's one script. String.raw: its regular expressions keep their
 * backslashes. No template literals inside (the TypeScript one is the page).
 */
const SCRIPT = String.raw`"use strict";
const $ = (id) => document.getElementById(id);
/** Memory only: a reload signs out. */
const state = { accessToken: null, refreshToken: null, deviceToken: null, user: null, mfaToken: null, methods: [] };

function say(text, isError) {
  const box = $("status");
  box.textContent = text;
  box.className = isError ? "error" : "";
}

class Problem extends Error {
  constructor(status, body) {
    super(problemText(status, body));
    this.status = status;
    this.body = body && typeof body === "object" ? body : {};
  }
}

/** A problem+json answer as one line: its title, detail and field errors. */
function problemText(status, body) {
  if (!body || typeof body !== "object") return "The service answered " + status + ".";
  let text = body.title || "The service answered " + status + ".";
  if (body.detail) text += ": " + body.detail;
  if (Array.isArray(body.errors) && body.errors.length) text += " (" + body.errors.map((e) => (e.path ? e.path + ": " : "") + e.message).join("; ") + ")";
  return text;
}

async function send(method, path, body, auth) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && state.accessToken) headers.Authorization = "Bearer " + state.accessToken;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
  const text = await res.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = { title: text.slice(0, 200) }; }
  }
  return { status: res.status, body: parsed };
}

/**
 * One API call. With auth (Bearer): a 401 invalid_token refreshes the access
 * token once and retries; a 403 reauthentication_required asks for the
 * password (or a code), then retries. Anything not 2xx throws a Problem.
 */
async function api(method, path, body, auth) {
  let answer = await send(method, path, body, auth);
  if (auth && answer.status === 401 && answer.body && answer.body.code === "invalid_token" && (await refresh())) answer = await send(method, path, body, auth);
  // Not for the re-authentication itself: a password without the factor it needs is answered in its form.
  if (auth && path !== "/auth/reauthenticate" && answer.status === 403 && answer.body && answer.body.code === "reauthentication_required" && (await reauthenticate())) answer = await send(method, path, body, auth);
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  throw new Problem(answer.status, answer.body);
}

/** One refresh at a time: a refresh token is single use, and a second use of it ends the session. */
let refreshing = null;
function refresh() {
  if (!state.refreshToken) return Promise.resolve(false);
  refreshing ??= (async () => {
    const answer = await send("POST", "/auth/refresh", { refreshToken: state.refreshToken }, false);
    if (answer.status !== 200) {
      dropTokens();
      throw new Error("Your session has ended (" + problemText(answer.status, answer.body) + "). Sign in again.");
    }
    state.accessToken = answer.body.tokens.accessToken;
    if (answer.body.tokens.refreshToken) state.refreshToken = answer.body.tokens.refreshToken;
    render();
    return true;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

// Re-authentication: the form resolves the promise the waiting call awaits.
let reauthWaiting = null;
let reauthResolve = null;
function reauthenticate() {
  if (!reauthWaiting) {
    reauthWaiting = new Promise((resolve) => { reauthResolve = resolve; });
    const form = $("reauth");
    form.reset();
    $("reauth-error").textContent = "";
    // With a second factor, the password alone is not enough: the password and a code, or a passkey.
    $("reauth-code-row").hidden = !(state.user && state.user.mfa && state.user.mfa.totp);
    $("reauth-passkey").hidden = !(state.user && state.user.mfa && state.user.mfa.passkeys > 0);
    form.hidden = false;
    $("reauth-password").focus();
    say("Confirm it is you to go on.");
  }
  return reauthWaiting;
}
function finishReauth(done) {
  $("reauth").hidden = true;
  $("reauth").reset();
  const resolve = reauthResolve;
  reauthWaiting = null;
  reauthResolve = null;
  if (resolve) resolve(done);
}
$("reauth").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("reauth-code").value.replace(/\s/g, "");
  const body = { currentPassword: $("reauth-password").value };
  if (/^[0-9]{6}$/.test(code)) body.code = code;
  else if (code) body.recoveryCode = code;
  await sendReauth(body);
});
$("reauth-passkey").addEventListener("click", async () => {
  $("reauth-error").textContent = "...";
  try {
    await sendReauth({ response: await passkeyAssertion(() => api("POST", "/auth/reauthenticate/options", undefined, true)) });
  } catch (error) {
    $("reauth-error").textContent = messageOf(error);
  }
});
async function sendReauth(body) {
  $("reauth-error").textContent = "...";
  try {
    const answer = await api("POST", "/auth/reauthenticate", body, true);
    state.accessToken = answer.tokens.accessToken; // the refresh token we hold stays valid
    render();
    finishReauth(true);
  } catch (error) {
    $("reauth-error").textContent = messageOf(error);
  }
}
$("reauth-cancel").addEventListener("click", () => finishReauth(false));

function messageOf(error) {
  if (error instanceof Problem) return error.message;
  if (error instanceof TypeError) return "The service could not be reached. Try again.";
  if (error && error.name === "NotAllowedError") return "The passkey request was cancelled, timed out, or is not allowed here.";
  if (error && error.name === "InvalidStateError") return "This authenticator already holds a passkey for this account.";
  if (error && error.name === "SecurityError") return "Passkeys need a domain: open this page at http://localhost:<port>, not 127.0.0.1.";
  return (error && error.message) || String(error);
}

/** Runs an action with its button disabled; shows what goes wrong. */
async function run(button, action) {
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    say(messageOf(error), true);
  } finally {
    if (button) button.disabled = false;
  }
}

// --- WebAuthn JSON <-> the browser's binary form, without a library ---
function fromBase64url(text) {
  let base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  while (base64.length % 4) base64 += "=";
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}
function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
const withIds = (list) => (list || []).map((c) => Object.assign({}, c, { id: fromBase64url(c.id) }));

function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return Object.assign({}, json, {
    challenge: fromBase64url(json.challenge),
    user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) }),
    excludeCredentials: withIds(json.excludeCredentials),
  });
}
function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return Object.assign({}, json, { challenge: fromBase64url(json.challenge), allowCredentials: withIds(json.allowCredentials) });
}
function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") {
    try { return credential.toJSON(); } catch { /* by hand below */ }
  }
  const r = credential.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    if (typeof r.getAuthenticatorData === "function") response.authenticatorData = toBase64url(r.getAuthenticatorData());
    if (typeof r.getPublicKeyAlgorithm === "function") response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
    if (typeof r.getPublicKey === "function" && r.getPublicKey()) response.publicKey = toBase64url(r.getPublicKey());
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  const json = { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response, clientExtensionResults: credential.getClientExtensionResults() };
  if (credential.authenticatorAttachment) json.authenticatorAttachment = credential.authenticatorAttachment;
  return json;
}
function requirePasskeys() {
  if (!window.PublicKeyCredential || !navigator.credentials) throw new Error("This browser (or this address) does not offer passkeys. Open the page at http://localhost:<port> or over HTTPS.");
}
/** Request options (a sign-in's, or a re-authentication's for the signed-in user), then the browser's ceremony: the assertion as JSON. */
async function passkeyAssertion(fetchOptions = () => api("POST", "/auth/passkey/options", {}, false)) {
  requirePasskeys();
  const options = await fetchOptions();
  say("Waiting for your passkey...");
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
  if (!credential) throw new Error("No passkey was chosen.");
  return credentialJSON(credential);
}

// --- Signing in ---
function signedIn(body) {
  state.accessToken = body.tokens.accessToken;
  state.refreshToken = body.tokens.refreshToken || null;
  if (body.deviceToken) state.deviceToken = body.deviceToken;
  state.user = body.user;
  state.mfaToken = null;
  state.methods = [];
  $("password").value = "";
  $("mfa").hidden = true;
  $("mfa").reset();
  clearRecoveryCodes();
  render();
  say("Signed in as " + body.user.email + ".");
  loadPasskeys();
}

function askSecondFactor(problem) {
  state.mfaToken = problem.mfaToken;
  state.methods = Array.isArray(problem.methods) ? problem.methods : [];
  const codes = state.methods.includes("totp") || state.methods.includes("recovery_code");
  $("mfa-code-row").hidden = !codes;
  $("mfa-submit").hidden = !codes;
  $("mfa-passkey").hidden = !state.methods.includes("passkey");
  $("mfa-methods").textContent = state.methods.join(", ");
  $("mfa").hidden = false;
  if (codes) $("mfa-code").focus();
  say("Your password is right. Now a second factor: " + state.methods.join(", ") + ".");
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  run($("login-submit"), async () => {
    const body = { email: $("email").value, password: $("password").value };
    if (state.deviceToken) body.deviceToken = state.deviceToken;
    say("Signing in...");
    const answer = await send("POST", "/auth/login", body, false);
    if (answer.status === 200) return signedIn(answer.body);
    if (answer.status === 403 && answer.body && answer.body.code === "mfa_required") return askSecondFactor(answer.body);
    throw new Problem(answer.status, answer.body);
  });
});

$("register").addEventListener("click", () => {
  if (!$("login").reportValidity()) return;
  run($("register"), async () => {
    const body = { email: $("email").value, password: $("password").value };
    const name = $("name").value.trim();
    if (name) body.name = name;
    say("Registering...");
    const answer = await api("POST", "/auth/register", body, false);
    if (answer.tokens) return signedIn(answer);
    $("password").value = "";
    say("Registered. Verify your email address with the link in the mail, then sign in.");
  });
});

$("passkey-sign-in").addEventListener("click", () => {
  run($("passkey-sign-in"), async () => {
    const response = await passkeyAssertion();
    signedIn(await api("POST", "/auth/passkey", { response }, false));
  });
});

$("mfa").addEventListener("submit", (event) => {
  event.preventDefault();
  run($("mfa-submit"), async () => {
    const typed = $("mfa-code").value.trim();
    const digits = typed.replace(/\s/g, "");
    const body = /^\d{6}$/.test(digits) || !state.methods.includes("recovery_code") ? { mfaToken: state.mfaToken, code: digits } : { mfaToken: state.mfaToken, recoveryCode: typed };
    try {
      signedIn(await api("POST", "/auth/mfa", body, false));
    } catch (error) {
      if (error instanceof Problem && error.body.code === "invalid_mfa_token") cancelSecondFactor();
      throw error;
    }
  });
});
$("mfa-passkey").addEventListener("click", () => {
  run($("mfa-passkey"), async () => {
    const response = await passkeyAssertion();
    signedIn(await api("POST", "/auth/passkey", { response, mfaToken: state.mfaToken }, false));
  });
});
function cancelSecondFactor() {
  state.mfaToken = null;
  state.methods = [];
  $("mfa").hidden = true;
  $("mfa").reset();
}
$("mfa-cancel").addEventListener("click", () => { cancelSecondFactor(); say("Sign in again."); });

// --- Signed in ---
function dropTokens() {
  state.accessToken = null;
  state.refreshToken = null;
  state.user = null;
  if (reauthResolve) finishReauth(false);
  clearRecoveryCodes();
  $("totp-pending").hidden = true;
  $("passkey-list").replaceChildren();
  render();
}
$("sign-out").addEventListener("click", () => {
  run($("sign-out"), async () => {
    const body = state.refreshToken ? { refreshToken: state.refreshToken } : undefined;
    // Ends the session on the service too; the tokens go from memory whatever it answers.
    await send("POST", "/auth/logout", body, true).catch(() => {});
    dropTokens();
    say("Signed out.");
  });
});

/** The access token's claims, unverified: for showing only. */
function claimsOf(token) {
  try {
    const part = token.split(".")[1];
    const json = decodeURIComponent(Array.from(atob(part.replace(/-/g, "+").replace(/_/g, "/")), (ch) => "%" + ch.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
    return JSON.parse(json);
  } catch {
    return {};
  }
}
const when = (seconds) => (typeof seconds === "number" ? new Date(seconds * 1000).toISOString() : "-");

function render() {
  const user = state.user;
  $("signed-out").hidden = !!user;
  $("signed-in").hidden = !user;
  if (!user) return;
  $("user-email").textContent = user.email;
  $("user-verified").textContent = user.emailVerified ? "yes" : "no";
  $("user-totp").textContent = user.mfa && user.mfa.totp ? "on" : "off";
  $("user-passkeys").textContent = String(user.mfa ? user.mfa.passkeys : 0);
  const claims = claimsOf(state.accessToken || "");
  $("claim-amr").textContent = Array.isArray(claims.amr) ? claims.amr.join(",") : "-";
  $("claim-auth-time").textContent = when(claims.auth_time);
  $("claim-exp").textContent = when(claims.exp);
  const totp = !!(user.mfa && user.mfa.totp);
  $("totp-enrol").hidden = totp;
  $("totp-remove").hidden = !totp;
  $("recovery-regenerate").hidden = !totp;
}

async function reloadUser() {
  state.user = (await api("GET", "/me", undefined, true)).user;
  render();
}

// --- TOTP ---
$("totp-enrol").addEventListener("click", () => {
  run($("totp-enrol"), async () => {
    const pending = await api("POST", "/me/mfa/totp", undefined, true);
    $("totp-secret").textContent = pending.secret.match(/.{1,4}/g).join(" ");
    $("totp-uri").textContent = pending.otpauthUri;
    const qr = await api("GET", "/me/mfa/totp/qr", undefined, true);
    $("totp-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(qr.svg);
    $("totp-pending").hidden = false;
    $("totp-code").value = "";
    $("totp-code").focus();
    say("Add the secret to your authenticator app, then type the code it shows.");
  });
});
$("totp-confirm").addEventListener("submit", (event) => {
  event.preventDefault();
  run($("totp-confirm-submit"), async () => {
    const answer = await api("POST", "/me/mfa/totp/confirm", { code: $("totp-code").value.replace(/\s/g, "") }, true);
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
$("totp-cancel").addEventListener("click", () => { $("totp-pending").hidden = true; });
$("totp-remove").addEventListener("click", () => {
  run($("totp-remove"), async () => {
    await api("DELETE", "/me/mfa/totp", undefined, true);
    clearRecoveryCodes();
    await reloadUser();
    say("TOTP and its recovery codes are removed.");
  });
});
$("recovery-regenerate").addEventListener("click", () => {
  run($("recovery-regenerate"), async () => {
    showRecoveryCodes((await api("POST", "/me/mfa/recovery-codes", undefined, true)).recoveryCodes);
    say("New recovery codes: the earlier ones no longer work.");
  });
});
function showRecoveryCodes(codes) {
  $("recovery-list").replaceChildren(...codes.map((code) => {
    const item = document.createElement("li");
    item.textContent = code;
    return item;
  }));
  $("recovery").hidden = false;
}
function clearRecoveryCodes() {
  $("recovery-list").replaceChildren();
  $("recovery").hidden = true;
}
$("recovery-done").addEventListener("click", clearRecoveryCodes);

// --- Passkeys ---
/** The account's passkeys, or why they could not be listed. */
function listPasskeys() {
  return api("GET", "/me/passkeys", undefined, true).then(({ passkeys }) => ({ passkeys }), (error) => ({ error }));
}
async function loadPasskeys() {
  renderPasskeys(await listPasskeys());
}
/** After a passkey change: the list and the user's count are fetched together and drawn in one step. */
async function reloadPasskeysAndUser() {
  const [listed, me] = await Promise.all([listPasskeys(), api("GET", "/me", undefined, true)]);
  state.user = me.user;
  render();
  renderPasskeys(listed);
}
function renderPasskeys({ passkeys, error }) {
  const list = $("passkey-list");
  if (error) {
    $("passkey-list-status").textContent = "Could not list the passkeys: " + messageOf(error);
    return;
  }
  $("passkey-list-status").textContent = passkeys.length ? "" : "No passkeys yet.";
  list.replaceChildren(...passkeys.map((passkey) => {
    const item = document.createElement("li");
    item.dataset.id = passkey.id;
    const label = document.createElement("span");
    label.textContent = (passkey.name || "Unnamed passkey") + " (added " + passkey.createdAt + ", last used " + (passkey.lastUsedAt || "never") + ") ";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.addEventListener("click", () => {
      run(remove, async () => {
        await api("DELETE", "/me/passkeys/" + encodeURIComponent(passkey.id), undefined, true);
        await reloadPasskeysAndUser();
        say("Passkey deleted.");
      });
    });
    item.append(label, remove);
    return item;
  }));
}
$("passkey-add").addEventListener("submit", (event) => {
  event.preventDefault();
  run($("passkey-add-submit"), async () => {
    requirePasskeys();
    const options = await api("POST", "/me/passkeys/options", {}, true);
    say("Waiting for your authenticator...");
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    if (!credential) throw new Error("No passkey was made.");
    const body = { response: credentialJSON(credential) };
    const name = $("passkey-name").value.trim();
    if (name) body.name = name;
    const { passkey } = await api("POST", "/me/passkeys", body, true);
    $("passkey-name").value = "";
    await reloadPasskeysAndUser();
    say("Passkey added: " + (passkey.name || "unnamed") + ".");
  });
});

render();
document.documentElement.dataset.ready = "true";`;

const HTML = (script: string, style: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>SecureAuth account</title><style>${style}</style></head>
<body><main>
<h1>SecureAuth account</h1>
<p class="hint">A page to try this service in a browser. Tokens stay in this page's memory: reloading signs you out.</p>
<div id="status" role="status" aria-live="polite"></div>

<section id="signed-out">
<h2>Sign in</h2>
<form id="login">
<label>Email<input id="email" type="email" autocomplete="username" required maxlength="254"></label>
<label>Password<input id="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<label>Name (optional, when registering)<input id="name" type="text" autocomplete="name" maxlength="100"></label>
<button id="login-submit" type="submit">Sign in</button><button id="register" type="button">Register</button>
</form>
<p><button id="passkey-sign-in" type="button">Sign in with a passkey</button></p>
<form id="mfa" hidden>
<h3>Second factor</h3>
<p class="hint">Methods for this account: <span id="mfa-methods"></span></p>
<label id="mfa-code-row">Code from your authenticator app, or a recovery code<input id="mfa-code" type="text" autocomplete="one-time-code" maxlength="64"></label>
<button id="mfa-submit" type="submit">Continue</button><button id="mfa-passkey" type="button">Use a passkey</button><button id="mfa-cancel" type="button">Cancel</button>
</form>
</section>

<section id="signed-in" hidden>
<h2>Signed in</h2>
<dl>
<dt>Email</dt><dd id="user-email"></dd>
<dt>Email verified</dt><dd id="user-verified"></dd>
<dt>TOTP</dt><dd id="user-totp"></dd>
<dt>Passkeys</dt><dd id="user-passkeys"></dd>
<dt>amr</dt><dd id="claim-amr" class="mono"></dd>
<dt>auth_time</dt><dd id="claim-auth-time" class="mono"></dd>
<dt>Token expires</dt><dd id="claim-exp" class="mono"></dd>
</dl>
<button id="sign-out" type="button">Sign out</button>

<h2>Authenticator app (TOTP)</h2>
<button id="totp-enrol" type="button">Enrol</button><button id="totp-remove" type="button">Remove</button><button id="recovery-regenerate" type="button">New recovery codes</button>
<div id="totp-pending" hidden>
<p>Scan the code with your authenticator app, or type the secret, or paste the URI:</p>
<p><img id="totp-qr" alt="QR code of the otpauth URI" width="200" height="200"></p>
<p><code id="totp-secret" class="secret"></code></p>
<p><code id="totp-uri"></code></p>
<form id="totp-confirm">
<label>The 6-digit code it shows<input id="totp-code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="16"></label>
<button id="totp-confirm-submit" type="submit">Confirm</button><button id="totp-cancel" type="button">Cancel</button>
</form>
</div>
<div id="recovery" hidden>
<p><strong>Recovery codes, shown once.</strong> Keep them somewhere safe: each signs you in once without the app.</p>
<ol id="recovery-list" class="codes"></ol>
<button id="recovery-done" type="button">I have saved them</button>
</div>

<h2>Passkeys</h2>
<ul id="passkey-list" class="passkeys"></ul>
<p id="passkey-list-status" class="hint"></p>
<form id="passkey-add">
<label>Name (optional)<input id="passkey-name" type="text" maxlength="100"></label>
<button id="passkey-add-submit" type="submit">Add a passkey</button>
</form>
</section>

<form id="reauth" hidden>
<h2>Confirm it is you</h2>
<label>Password<input id="reauth-password" type="password" autocomplete="current-password" maxlength="1024"></label>
<label id="reauth-code-row">And a code from your authenticator app, or a recovery code<input id="reauth-code" type="text" autocomplete="one-time-code" maxlength="64"></label>
<button type="submit">Confirm</button><button id="reauth-passkey" type="button">Use a passkey instead</button><button id="reauth-cancel" type="button">Cancel</button>
<p id="reauth-error" class="error"></p>
</form>
</main>
<script>${script}</script></body></html>`;

const PAGE = HTML(SCRIPT, STYLE);

/** The CSP naming the script and the style by their SHA-256. */
// img-src data: for the QR code of a pending TOTP secret, drawn from the SVG GET /me/mfa/totp/qr answers.
const contentSecurityPolicy = hashedPagePolicy(SCRIPT, STYLE, "img-src data:");

accountPageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/account",
    operationId: "accountPage",
    security: [],
    tags: ["pages"],
    summary: "A hosted page to try sign-in, TOTP and passkeys in a browser",
    description:
      "HTML, for people: sign in or register, complete a second factor, enrol TOTP, add passkeys. It calls this API from the same origin and keeps the tokens in memory. Its CSP allows its one inline script and style by hash and requests to this origin only.",
    responses: {
      200: { description: "The page", content: { "text/html": { schema: z.string() } } },
      ...problemResponses(),
    },
  }),
  async (c) => {
    c.header("Content-Security-Policy", await contentSecurityPolicy());
    c.header("Cache-Control", "no-store");
    return c.html(PAGE, 200);
  },
);
