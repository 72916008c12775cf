// GET /docs: the API reference for people, rendered in the browser from
// /openapi.json by one small script (typed TypeScript in ./docs/, bundled by
// `npm run build:pages` into ./generated/docs.ts with its hash); nothing is loaded from
// anywhere else (no CDN, no fonts), so the page works offline and its CSP
// allows exactly its one script and one style, by hash, and requests to this
// origin only. Everything from the document goes into the page as text
// (textContent), never as markup. It also links the guides of docs/ where
// the repository publishes them: links to follow, nothing the page loads.
import { OpenAPIHono } from "@hono/zod-openapi";
import { repository } from "../../package.json";
import type { AppEnv } from "../http/context";
import { SCRIPT, SCRIPT_HASH } from "./generated/docs";
import { builtPagePolicy } from "./page-policy";
import { documentedPage } from "./page-route";

export const docsRoutes = new OpenAPIHono<AppEnv>();

/** The guides in docs/, in reading order: file name and title. */
export const DOC_PAGES = [
  ["configuration.md", "Configuration"],
  ["deploy.md", "Deploy to Cloudflare and Neon"],
  ["api.md", "API at a glance"],
  ["sessions.md", "Sessions and revocation"],
  ["account-lifecycle.md", "Account lifecycle"],
  ["email-sign-in.md", "Email sign-in"],
  ["second-factors.md", "Second factors"],
  ["federation.md", "Sign in with Google, GitHub, Apple, Microsoft or any OpenID provider"],
  ["organizations.md", "Organizations"],
  ["throttling.md", "Throttling and device tokens"],
  ["browser-mode.md", "Browser (cookie) mode"],
  ["hosted-pages.md", "Hosted pages"],
  ["forward-auth.md", "Forward auth"],
  ["rpc.md", "RPC from another Worker"],
  ["operations.md", "Operations"],
  ["architecture.md", "Architecture"],
  ["testing.md", "Testing"],
  ["benchmark.md", "Benchmark"],
] as const;

/** Where the repository shows docs/ (package.json's repository, read when the Worker is bundled). */
export const DOCS_BASE_URL = `${repository.url.replace(/^git\+/, "").replace(/\.git$/, "")}/blob/main/docs/`;

export const DOCS_STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fff}
header,main{max-width:60rem;margin:0 auto;padding:0 1rem}header{padding-top:1.5rem}
h1{margin:0 0 .25rem}h2{margin:2rem 0 .5rem;border-bottom:1px solid #ddd;text-transform:capitalize}
code,pre,.path{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
pre{white-space:pre-wrap;margin:.25rem 0}
nav a{margin-right:.75rem}
details.op{border:1px solid #ddd;border-radius:6px;margin:.4rem 0}details.op>summary{cursor:pointer;padding:.4rem .6rem}
details.op>div{padding:0 .8rem .6rem;border-top:1px solid #eee}
.method{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase}
.get{color:#0b6e0b}.post{color:#0550ae}.put,.patch{color:#8a5300}.delete{color:#b3261e}
.muted{color:#666}.lock{font-size:.85em;color:#666;margin-left:.5rem}
table{border-collapse:collapse;width:100%;margin:.25rem 0}\
td,th{text-align:left;vertical-align:top;padding:.2rem .4rem;border-bottom:1px solid #eee}
ul.schema{margin:.1rem 0;padding-left:1.2rem}
@media (prefers-color-scheme:dark){body{color:#e8e8e8;background:#161618}details.op,h2{border-color:#444}\
td,th,details.op>div{border-color:#333}.muted,.lock{color:#aaa}
.get{color:#5fd35f}.post{color:#7ab4ff}.put,.patch{color:#f0b45a}.delete{color:#ff8a80}a{color:#8ab4f8}}`;

const GUIDE_LINKS = DOC_PAGES.map(([file, title]) => `<a href="${DOCS_BASE_URL}${file}">${title}</a>`).join(" | ");

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference</title><style>${DOCS_STYLE}</style></head>
<body><header><h1 id="title">API reference</h1><p id="about" class="muted"></p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<p>Guides, in the repository: ${GUIDE_LINKS}</p>
</header>
<main><p id="status">Loading /openapi.json...</p><noscript>\
<p>This page renders /openapi.json with a script; without it, read <a href="/openapi.json">the document</a> \
itself.</p></noscript><div id="content"></div></main>
<script>${SCRIPT}</script></body></html>`;

/** The CSP naming the script and the style by their SHA-256. */
const contentSecurityPolicy = builtPagePolicy(SCRIPT_HASH, DOCS_STYLE);

documentedPage(docsRoutes, {
  path: "/docs",
  operationId: "docsPage",
  summary: "This API's reference, rendered from /openapi.json",
  description:
    "HTML, for people: every operation with its parameters, bodies, responses and security, " +
    "rendered in the browser from GET /openapi.json. " +
    "Self-contained: its CSP allows its one inline script and style by hash and requests to this origin only.",
  html: PAGE,
  policy: contentSecurityPolicy,
});
