// GET /account: a small hosted page for trying the whole flow in a browser on
// `npm run dev` (open http://localhost:8787/account: passkeys need a domain,
// so localhost, never 127.0.0.1). Sign in or register, with a password, a
// second factor or a passkey; enrol TOTP, get recovery codes, add and remove
// passkeys. It calls this origin's JSON API as any app would, and keeps the
// tokens in memory only: a reload signs out. Like the link pages, it is one
// HTML document with one inline script and one inline style, which the CSP
// allows by hash and nothing else; requests go to this origin only. The
// script is typed TypeScript in ./account/, calling the API through the
// client package, bundled by `npm run build:pages` into ./generated/account.ts
// with its hash.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context";
import { SCRIPT, SCRIPT_HASH } from "./generated/account";
import { builtPagePolicy } from "./page-policy";
import { documentedPage } from "./page-route";

export const accountPageRoutes = new OpenAPIHono<AppEnv>();

const STYLE = `[hidden]{display:none!important}
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}section{border-top:1px solid #ccc;padding-top:.5rem}
label{display:block;margin:.5rem 0}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}
button{font:inherit;padding:.4rem .8rem;margin:.25rem .25rem .25rem 0;cursor:pointer}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}\
dd{margin:0;word-break:break-all}
code,.mono{font-family:ui-monospace,monospace;word-break:break-all}.secret{font-size:1.2rem;letter-spacing:.05em}
#status{min-height:1.5em;padding:.5rem;background:#eef6ee}#status.error{background:#fbeaea;color:#8a1111}
.error{color:#8a1111}ol.codes{columns:2;font-family:ui-monospace,monospace}ul.passkeys{padding-left:1.2rem}
.hint{color:#555;font-size:.9rem}`;

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
<label id="mfa-code-row">Code from your authenticator app, or a recovery code\
<input id="mfa-code" type="text" autocomplete="one-time-code" maxlength="64"></label>
<button id="mfa-submit" type="submit">Continue</button><button id="mfa-passkey" type="button">Use a passkey</button>\
<button id="mfa-cancel" type="button">Cancel</button>
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
<button id="totp-enrol" type="button">Enrol</button><button id="totp-remove" type="button">Remove</button>\
<button id="recovery-regenerate" type="button">New recovery codes</button>
<div id="totp-pending" hidden>
<p>Scan the code with your authenticator app, or type the secret, or paste the URI:</p>
<p><img id="totp-qr" alt="QR code of the otpauth URI" width="200" height="200"></p>
<p><code id="totp-secret" class="secret"></code></p>
<p><code id="totp-uri"></code></p>
<form id="totp-confirm">
<label>The 6-digit code it shows\
<input id="totp-code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="16"></label>
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
<label id="reauth-code-row">And a code from your authenticator app, or a recovery code\
<input id="reauth-code" type="text" autocomplete="one-time-code" maxlength="64"></label>
<button type="submit">Confirm</button><button id="reauth-passkey" type="button">Use a passkey instead</button>\
<button id="reauth-cancel" type="button">Cancel</button>
<p id="reauth-error" class="error"></p>
</form>
</main>
<script>${script}</script></body></html>`;

const PAGE = HTML(SCRIPT, STYLE);

/** The CSP naming the script and the style by their SHA-256. */
// img-src data: for the QR code of a pending TOTP secret, drawn from the SVG GET /me/mfa/totp/qr answers.
const contentSecurityPolicy = builtPagePolicy(SCRIPT_HASH, STYLE, "img-src data:");

documentedPage(accountPageRoutes, {
  path: "/account",
  operationId: "accountPage",
  summary: "A hosted page to try sign-in, TOTP and passkeys in a browser",
  description:
    "HTML, for people: sign in or register, complete a second factor, enrol TOTP, add passkeys. " +
    "It calls this API from the same origin and keeps the tokens in memory. " +
    "Its CSP allows its one inline script and style by hash and requests to this origin only.",
  html: PAGE,
  policy: contentSecurityPolicy,
});
