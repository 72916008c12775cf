// The one judge of request bodies, before any handler or validator: at most
// 16 KiB (counted while streaming), only application/json, parseable, at
// most 32 levels deep, no NUL (Postgres text cannot hold one); each failure
// its own problem (413, 415, 400 invalid_json, 400 validation_failed). A body
// passes on as checked text with a plain `Content-Type: application/json`,
// or not at all, so validators downstream never second-guess the media type.
// A provider's form_post callback alone takes a form body (FORM_POST_PATHS).
import type { Context, MiddlewareHandler, Next } from "hono";
import { InvalidJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed } from "../../core/errors";

const MAX_BODY_BYTES = 16 * 1024;

/** application/json, any case, with or without parameters (charset and the like). */
const JSON_MEDIA_TYPE = /^application\/json$/i;
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The one exception to the JSON rule: a provider's form_post callback (Apple
 * posts the code cross-site as a form). Such a route carries its own proof
 * (the flow's state and binding cookie), so it needs no Origin either.
 */
export const FORM_POST_PATHS = /^\/auth\/oauth\/[a-z0-9-]{1,32}\/callback$/;
const FORM_MEDIA_TYPE = /^application\/x-www-form-urlencoded$/i;

export const jsonBody =
  (limit = MAX_BODY_BYTES): MiddlewareHandler =>
  // Not async: a request without a body costs no frame of its own.
  (c, next) => {
    const request = c.req.raw;
    if (hasNul(c.req.url)) throw new ValidationFailed([{ path: "(url)", message: "Must not contain NUL characters" }]);
    if (!METHODS_WITH_BODY.has(request.method)) return next();
    if (request.method === "POST" && FORM_POST_PATHS.test(c.req.path) && isForm(request)) return form(c, next, limit);
    return judge(c, next, limit);
  };

function isForm(request: Request): boolean {
  return FORM_MEDIA_TYPE.test((request.headers.get("Content-Type") ?? "").split(";")[0]!.trim());
}

/** A form body: the same size cap and UTF-8 rule, no NUL; passed on as checked text. */
async function form(c: Context, next: Next, limit: number): Promise<void> {
  const request = c.req.raw;
  const declared = request.headers.get("Content-Length");
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLarge(limit);
  const text = request.body === null ? "" : await readText(request.body, limit);
  if (hasNul(text)) throw new ValidationFailed([{ path: "(body)", message: "Must not contain NUL characters" }]);
  const headers = new Headers(request.headers);
  headers.delete("Content-Length");
  headers.set("Content-Type", "application/x-www-form-urlencoded");
  c.req.raw = rebuild(request, headers, text);
  (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
  await next();
}

async function judge(c: Context, next: Next, limit: number): Promise<void> {
  const request = c.req.raw;
  const mediaType = (request.headers.get("Content-Type") ?? "").split(";")[0]!.trim();
  const declaresJson = JSON_MEDIA_TYPE.test(mediaType);
  if (request.body === null) {
    // No DELETE of this API takes a body: a client that sends its default
    // Content-Type on every request is not refused for the body it did not send.
    if (declaresJson && request.method !== "DELETE")
      throw new InvalidJson(new SyntaxError("no body, yet declared application/json"));
    return next();
  }

  const declared = request.headers.get("Content-Length");
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLarge(limit);

  const text = await readText(request.body, limit);
  const headers = new Headers(request.headers);
  headers.delete("Content-Length");
  if (text.length === 0) {
    if (declaresJson) throw new InvalidJson(new SyntaxError("empty body declared application/json"));
    headers.delete("Content-Type");
    c.req.raw = rebuild(request, headers, null);
    return next();
  }

  if (!declaresJson) throw new UnsupportedMediaType();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidJson(error);
  }
  checkStructure(parsed);

  headers.set("Content-Type", "application/json");
  c.req.raw = rebuild(request, headers, text);
  // Hono's validators and c.req.json()/text() read from this cache, so the
  // body is neither read nor parsed a second time.
  const cache = c.req.bodyCache as { text?: Promise<string>; json?: Promise<unknown> };
  cache.text = Promise.resolve(text);
  cache.json = Promise.resolve(parsed);
  await next();
}

function rebuild(request: Request, headers: Headers, body: string | null): Request {
  // `cf` (country, city) is not carried by the Request constructor on its own.
  const cf = (request as { cf?: unknown }).cf;
  return new Request(request.url, { method: request.method, headers, body, ...(cf ? { cf } : {}) } as RequestInit);
}

function hasNul(url: string): boolean {
  return /%00/.test(url) || url.includes("\0");
}

/** Deeper than any body of this API needs; deeper bodies are refused, not walked. */
const MAX_BODY_DEPTH = 32;

/**
 * Checks what Postgres cannot store and what no schema here needs: a string
 * (key or value) holding U+0000, or nesting deeper than MAX_BODY_DEPTH.
 * Iterative, so a hostile body cannot exhaust the stack.
 */
function checkStructure(root: unknown): void {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value: root, path: "", depth: 0 }];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (typeof value === "string") {
      if (value.includes("\0"))
        throw new ValidationFailed([{ path: path || "(body)", message: "Must not contain NUL characters" }]);
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth >= MAX_BODY_DEPTH)
      throw new ValidationFailed([{ path: path || "(body)", message: `Nested deeper than ${MAX_BODY_DEPTH} levels` }]);
    for (const [key, item] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (key.includes("\0")) throw new ValidationFailed([{ path: at, message: "Must not contain NUL characters" }]);
      pending.push({ value: item, path: at, depth: depth + 1 });
    }
  }
}

async function readText(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new InvalidJson(error);
  }
}
