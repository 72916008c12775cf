// The script of GET /docs (bundled by `npm run build:pages` into
// ../generated/docs.ts, its names kept so the served script reads as its
// source): it fetches /openapi.json from this origin and renders every
// operation, security scheme and schema. Everything read from the document
// goes into the page as text (textContent, attributes), never as markup.

// A module, so its names are its own and not the page's globals.
export {};

/** The parts of an OpenAPI 3.1 document the page shows. */
type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  description?: string;
};
type Content = Record<string, { schema?: Schema }>;
type Security = Record<string, string[]>[];
type Parameter = { name: string; in: string; required?: boolean; schema?: Schema; description?: string };
type ApiResponse = { description?: string; headers?: Record<string, { description?: string }>; content?: Content };
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Security;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Content };
  responses?: Record<string, ApiResponse>;
};
type SecurityScheme = { type: string; scheme?: string; in?: string; name?: string; description?: string };
type OpenApiDocument = {
  openapi: string;
  info: { title?: string; description?: string; version: string };
  paths?: Record<string, Record<string, Operation | undefined>>;
  security?: Security;
  components?: { schemas?: Record<string, Schema>; securitySchemes?: Record<string, SecurityScheme> };
};

type Child = Node | string | undefined | null;

const $ = (tag: string, attrs?: Record<string, string | undefined>, ...children: Child[]): HTMLElement => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined) el.setAttribute(k, v);
  for (const child of children) if (child !== undefined && child !== null) el.append(child);
  return el;
};
const METHODS = ["get", "put", "post", "patch", "delete", "options", "head", "trace"];
const status = document.getElementById("status")!;
const content = document.getElementById("content")!;
const refName = (ref: string) => decodeURIComponent(ref.split("/").pop()!);
const constraints = (s: Schema) => {
  const out: string[] = [];
  if (s.format) out.push(s.format);
  if (s.minLength !== undefined) out.push(`minLength ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`maxLength ${s.maxLength}`);
  if (s.minimum !== undefined) out.push(`minimum ${s.minimum}`);
  if (s.maximum !== undefined) out.push(`maximum ${s.maximum}`);
  if (s.minItems !== undefined) out.push(`minItems ${s.minItems}`);
  if (s.maxItems !== undefined) out.push(`maxItems ${s.maxItems}`);
  if (s.pattern !== undefined) out.push(`pattern ${s.pattern}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  if (s.enum) out.push(`one of ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`);
  if (s.const !== undefined) out.push(`= ${JSON.stringify(s.const)}`);
  return out.length ? ` (${out.join("; ")})` : "";
};
const typeOf = (s: Schema | undefined): string => {
  if (!s || typeof s !== "object") return "any";
  if (s.$ref) return refName(s.$ref);
  const variants = s.anyOf || s.oneOf || s.allOf;
  if (variants) return variants.map(typeOf).join(s.allOf ? " & " : " | ");
  if (s.type === "array") return `${typeOf(s.items)}[]`;
  if (Array.isArray(s.type)) return s.type.join(" | ");
  return s.type || (s.properties ? "object" : "any");
};
/** A schema as nested lists: objects show their properties, a reference links to its component. */
function schemaView(s: Schema | undefined, depth: number): HTMLElement {
  const line = (name: string | undefined, prop: Schema | undefined, required: boolean) => {
    const type = prop?.$ref
      ? $("a", { href: `#schema-${refName(prop.$ref)}` }, refName(prop.$ref))
      : $("code", {}, typeOf(prop));
    const li = $(
      "li",
      {},
      name !== undefined ? $("code", {}, name + (required ? "" : "?")) : "",
      name !== undefined ? ": " : "",
      type,
      constraints(prop || {}),
    );
    if (prop?.description) li.append($("span", { class: "muted" }, ` - ${prop.description}`));
    const inner =
      prop &&
      !prop.$ref &&
      (prop.properties ? prop : prop.type === "array" && prop.items && prop.items.properties ? prop.items : null);
    if (inner && depth < 6) li.append(schemaView(inner, depth + 1));
    return li;
  };
  const list = $("ul", { class: "schema" });
  if (s?.properties && !s.$ref) {
    const required = new Set(s.required || []);
    for (const [name, prop] of Object.entries(s.properties)) list.append(line(name, prop, required.has(name)));
  } else list.append(line(undefined, s, true));
  return list;
}
const contentView = (content: Content | undefined) => {
  const wrap = $("div");
  for (const [type, media] of Object.entries(content || {}))
    wrap.append($("div", {}, $("code", { class: "muted" }, type)), schemaView(media.schema, 0));
  return wrap;
};
const securityText = (security: Security | undefined) => {
  if (!security || security.length === 0) return "public";
  return security.map((req) => Object.keys(req).join(" + ") || "none").join(" or ");
};
function operationView(path: string, method: string, op: Operation, doc: OpenApiDocument): HTMLElement {
  const body = $("div");
  if (op.description) body.append($("p", {}, op.description));
  body.append(
    $(
      "p",
      { class: "muted" },
      "operationId ",
      $("code", {}, op.operationId || "-"),
      ` | security: ${securityText(op.security ?? doc.security)}`,
    ),
  );
  if (op.parameters?.length) {
    const table = $(
      "table",
      {},
      $("tr", {}, $("th", {}, "Parameter"), $("th", {}, "In"), $("th", {}, "Type"), $("th", {}, "Description")),
    );
    for (const p of op.parameters)
      table.append(
        $(
          "tr",
          {},
          $("td", {}, $("code", {}, p.name + (p.required ? "" : "?"))),
          $("td", {}, p.in),
          $("td", {}, $("code", {}, typeOf(p.schema)), constraints(p.schema || {})),
          $("td", {}, p.description || ""),
        ),
      );
    body.append($("h4", {}, "Parameters"), table);
  }
  if (op.requestBody)
    body.append(
      $("h4", {}, `Request body${op.requestBody.required ? "" : " (optional)"}`),
      contentView(op.requestBody.content),
    );
  const responses = $("table", {}, $("tr", {}, $("th", {}, "Status"), $("th", {}, "Description"), $("th", {}, "Body")));
  for (const [code, res] of Object.entries(op.responses || {})) {
    const description = $("td", {}, res.description || "");
    for (const [name, header] of Object.entries(res.headers || {}))
      description.append($("div", { class: "muted" }, "Header ", $("code", {}, name), `: ${header.description || ""}`));
    responses.append($("tr", {}, $("td", {}, $("code", {}, code)), description, $("td", {}, contentView(res.content))));
  }
  body.append($("h4", {}, "Responses"), responses);
  const lock = op.security?.length ? $("span", { class: "lock" }, securityText(op.security)) : undefined;
  return $(
    "details",
    { class: "op", id: op.operationId },
    $(
      "summary",
      {},
      $("span", { class: `method ${method}` }, method),
      " ",
      $("span", { class: "path" }, path),
      " ",
      $("span", { class: "muted" }, op.summary || ""),
      lock,
    ),
    body,
  );
}
async function main() {
  const res = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}`);
  const doc = (await res.json()) as OpenApiDocument;
  document.title = `${doc.info.title || "API"} API reference`;
  document.getElementById("title")!.textContent = document.title;
  document.getElementById("about")!.textContent =
    `${doc.info.description || ""} Version ${doc.info.version}, OpenAPI ${doc.openapi}.`;
  const groups = new Map<string, HTMLElement[]>();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push(operationView(path, method, op, doc));
    }
  }
  const nav = $("nav");
  for (const [tag, ops] of groups) {
    nav.append($("a", { href: `#tag-${tag}` }, tag));
    content.append($("h2", { id: `tag-${tag}` }, tag), ...ops);
  }
  const components = doc.components || {};
  const schemes = components.securitySchemes;
  if (schemes) {
    nav.append($("a", { href: "#security" }, "security"));
    const table = $("table");
    for (const [name, s] of Object.entries(schemes))
      table.append(
        $(
          "tr",
          {},
          $("td", {}, $("code", {}, name)),
          $("td", {}, s.type + (s.scheme ? ` ${s.scheme}` : "") + (s.in ? ` in ${s.in} ${s.name}` : "")),
          $("td", {}, s.description || ""),
        ),
      );
    content.append($("h2", { id: "security" }, "Security schemes"), table);
  }
  const schemas = components.schemas;
  if (schemas) {
    nav.append($("a", { href: "#schemas" }, "schemas"));
    content.append($("h2", { id: "schemas" }, "Schemas"));
    for (const [name, schema] of Object.entries(schemas))
      content.append($("h3", { id: `schema-${name}` }, name), schemaView(schema, 0));
  }
  content.prepend(nav);
  status.textContent = "";
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}
main().catch((error) => {
  status.textContent = `The API document could not be loaded: ${error.message}`;
});
