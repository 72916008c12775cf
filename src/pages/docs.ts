// GET /docs: the API reference for people, rendered in the browser from
// /openapi.json by one small script of this file; nothing is loaded from
// anywhere else (no CDN, no fonts), so the page works offline and its CSP
// allows exactly its one script and one style, by hash, and requests to this
// origin only. Everything from the document goes into the page as text
// (textContent), never as markup. It also links the guides of docs/ where
// the repository publishes them: links to follow, nothing the page loads.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { repository } from "../../package.json";
import type { AppEnv } from "../http/context";
import { problemResponses } from "../http/openapi";
import { hashedPagePolicy } from "./page-policy";

export const docsRoutes = new OpenAPIHono<AppEnv>();

/** The guides in docs/, in reading order: file name and title. */
export const DOC_PAGES = [
  ["configuration.md", "Configuration"],
  ["deploy.md", "Deploy to Cloudflare and Neon"],
  ["api.md", "API at a glance"],
  ["sessions.md", "Sessions and revocation"],
  ["account-lifecycle.md", "Account lifecycle"],
  ["second-factors.md", "Second factors"],
  ["federation.md", "Sign in with Google, GitHub, Apple, Microsoft or any OpenID provider"],
  ["throttling.md", "Throttling and device tokens"],
  ["browser-mode.md", "Browser (cookie) mode"],
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
table{border-collapse:collapse;width:100%;margin:.25rem 0}td,th{text-align:left;vertical-align:top;padding:.2rem .4rem;border-bottom:1px solid #eee}
ul.schema{margin:.1rem 0;padding-left:1.2rem}
@media (prefers-color-scheme:dark){body{color:#e8e8e8;background:#161618}details.op,h2{border-color:#444}td,th,details.op>div{border-color:#333}.muted,.lock{color:#aaa}
.get{color:#5fd35f}.post{color:#7ab4ff}.put,.patch{color:#f0b45a}.delete{color:#ff8a80}a{color:#8ab4f8}}`;

export const DOCS_SCRIPT = `"use strict";
const $ = (tag, attrs, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined) el.setAttribute(k, v);
  for (const child of children) if (child !== undefined && child !== null) el.append(child);
  return el;
};
const METHODS = ["get", "put", "post", "patch", "delete", "options", "head", "trace"];
const status = document.getElementById("status");
const content = document.getElementById("content");
const refName = (ref) => decodeURIComponent(ref.split("/").pop());
const constraints = (s) => {
  const out = [];
  if (s.format) out.push(s.format);
  if (s.minLength !== undefined) out.push("minLength " + s.minLength);
  if (s.maxLength !== undefined) out.push("maxLength " + s.maxLength);
  if (s.minimum !== undefined) out.push("minimum " + s.minimum);
  if (s.maximum !== undefined) out.push("maximum " + s.maximum);
  if (s.minItems !== undefined) out.push("minItems " + s.minItems);
  if (s.maxItems !== undefined) out.push("maxItems " + s.maxItems);
  if (s.pattern !== undefined) out.push("pattern " + s.pattern);
  if (s.default !== undefined) out.push("default " + JSON.stringify(s.default));
  if (s.enum) out.push("one of " + s.enum.map((v) => JSON.stringify(v)).join(", "));
  if (s.const !== undefined) out.push("= " + JSON.stringify(s.const));
  return out.length ? " (" + out.join("; ") + ")" : "";
};
const typeOf = (s) => {
  if (!s || typeof s !== "object") return "any";
  if (s.$ref) return refName(s.$ref);
  const variants = s.anyOf || s.oneOf || s.allOf;
  if (variants) return variants.map(typeOf).join(s.allOf ? " & " : " | ");
  if (s.type === "array") return typeOf(s.items) + "[]";
  if (Array.isArray(s.type)) return s.type.join(" | ");
  return s.type || (s.properties ? "object" : "any");
};
/** A schema as nested lists: objects show their properties, a reference links to its component. */
function schemaView(s, depth) {
  const line = (name, prop, required) => {
    const type = prop && prop.$ref ? $("a", { href: "#schema-" + refName(prop.$ref) }, refName(prop.$ref)) : $("code", {}, typeOf(prop));
    const li = $("li", {}, name !== undefined ? $("code", {}, name + (required ? "" : "?")) : "", name !== undefined ? ": " : "", type, constraints(prop || {}));
    if (prop && prop.description) li.append($("span", { class: "muted" }, " - " + prop.description));
    const inner = prop && !prop.$ref && (prop.properties ? prop : prop.type === "array" && prop.items && prop.items.properties ? prop.items : null);
    if (inner && depth < 6) li.append(schemaView(inner, depth + 1));
    return li;
  };
  const list = $("ul", { class: "schema" });
  if (s && s.properties && !s.$ref) {
    const required = new Set(s.required || []);
    for (const [name, prop] of Object.entries(s.properties)) list.append(line(name, prop, required.has(name)));
  } else list.append(line(undefined, s, true));
  return list;
}
const contentView = (content) => {
  const wrap = $("div");
  for (const [type, media] of Object.entries(content || {})) wrap.append($("div", {}, $("code", { class: "muted" }, type)), schemaView(media.schema, 0));
  return wrap;
};
const securityText = (security, schemes) => {
  if (!security || security.length === 0) return "public";
  return security.map((req) => Object.keys(req).join(" + ") || "none").join(" or ");
};
function operationView(path, method, op, doc) {
  const body = $("div");
  if (op.description) body.append($("p", {}, op.description));
  body.append($("p", { class: "muted" }, "operationId ", $("code", {}, op.operationId || "-"), " | security: " + securityText(op.security ?? doc.security)));
  if (op.parameters && op.parameters.length) {
    const table = $("table", {}, $("tr", {}, $("th", {}, "Parameter"), $("th", {}, "In"), $("th", {}, "Type"), $("th", {}, "Description")));
    for (const p of op.parameters) table.append($("tr", {}, $("td", {}, $("code", {}, p.name + (p.required ? "" : "?"))), $("td", {}, p.in), $("td", {}, $("code", {}, typeOf(p.schema)), constraints(p.schema || {})), $("td", {}, p.description || "")));
    body.append($("h4", {}, "Parameters"), table);
  }
  if (op.requestBody) body.append($("h4", {}, "Request body" + (op.requestBody.required ? "" : " (optional)")), contentView(op.requestBody.content));
  const responses = $("table", {}, $("tr", {}, $("th", {}, "Status"), $("th", {}, "Description"), $("th", {}, "Body")));
  for (const [code, res] of Object.entries(op.responses || {})) {
    const description = $("td", {}, res.description || "");
    for (const [name, header] of Object.entries(res.headers || {})) description.append($("div", { class: "muted" }, "Header ", $("code", {}, name), ": " + (header.description || "")));
    responses.append($("tr", {}, $("td", {}, $("code", {}, code)), description, $("td", {}, contentView(res.content))));
  }
  body.append($("h4", {}, "Responses"), responses);
  const lock = op.security && op.security.length ? $("span", { class: "lock" }, securityText(op.security)) : undefined;
  return $("details", { class: "op", id: op.operationId }, $("summary", {}, $("span", { class: "method " + method }, method), " ", $("span", { class: "path" }, path), " ", $("span", { class: "muted" }, op.summary || ""), lock), body);
}
async function main() {
  const res = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error("GET /openapi.json answered " + res.status);
  const doc = await res.json();
  document.title = (doc.info.title || "API") + " API reference";
  document.getElementById("title").textContent = document.title;
  document.getElementById("about").textContent = (doc.info.description || "") + " Version " + doc.info.version + ", OpenAPI " + doc.openapi + ".";
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operationView(path, method, op, doc));
    }
  }
  const nav = $("nav");
  for (const [tag, ops] of groups) {
    nav.append($("a", { href: "#tag-" + tag }, tag));
    content.append($("h2", { id: "tag-" + tag }, tag), ...ops);
  }
  const schemes = doc.components && doc.components.securitySchemes;
  if (schemes) {
    nav.append($("a", { href: "#security" }, "security"));
    const table = $("table");
    for (const [name, s] of Object.entries(schemes)) table.append($("tr", {}, $("td", {}, $("code", {}, name)), $("td", {}, s.type + (s.scheme ? " " + s.scheme : "") + (s.in ? " in " + s.in + " " + s.name : "")), $("td", {}, s.description || "")));
    content.append($("h2", { id: "security" }, "Security schemes"), table);
  }
  const components = doc.components && doc.components.schemas;
  if (components) {
    nav.append($("a", { href: "#schemas" }, "schemas"));
    content.append($("h2", { id: "schemas" }, "Schemas"));
    for (const [name, schema] of Object.entries(components)) content.append($("h3", { id: "schema-" + name }, name), schemaView(schema, 0));
  }
  content.prepend(nav);
  status.textContent = "";
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}
main().catch((error) => { status.textContent = "The API document could not be loaded: " + error.message; });`;

const GUIDE_LINKS = DOC_PAGES.map(([file, title]) => `<a href="${DOCS_BASE_URL}${file}">${title}</a>`).join(" | ");

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference</title><style>${DOCS_STYLE}</style></head>
<body><header><h1 id="title">API reference</h1><p id="about" class="muted"></p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<p>Guides, in the repository: ${GUIDE_LINKS}</p>
</header>
<main><p id="status">Loading /openapi.json...</p><noscript><p>This page renders /openapi.json with a script; without it, read <a href="/openapi.json">the document</a> itself.</p></noscript><div id="content"></div></main>
<script>${DOCS_SCRIPT}</script></body></html>`;

/** The CSP naming the script and the style by their SHA-256. */
const contentSecurityPolicy = hashedPagePolicy(DOCS_SCRIPT, DOCS_STYLE);

docsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/docs",
    operationId: "docsPage",
    security: [],
    tags: ["pages"],
    summary: "This API's reference, rendered from /openapi.json",
    description:
      "HTML, for people: every operation with its parameters, bodies, responses and security, rendered in the browser from GET /openapi.json. Self-contained: its CSP allows its one inline script and style by hash and requests to this origin only.",
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
