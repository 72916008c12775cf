// Request bodies: at most 16 KiB (counted while streaming, so a body without
// Content-Length cannot slip past), only application/json, and parseable.
// Each failure is its own problem (413, 415, 400 invalid_json) before any
// handler or validator sees the body. A request with no body passes through;
// the route's schema decides whether it needed one.
import { createMiddleware } from "hono/factory";
import { InvalidJson, PayloadTooLarge, UnsupportedMediaType } from "../../errors";

export const MAX_BODY_BYTES = 16 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/i;
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export const jsonBody = (limit = MAX_BODY_BYTES) =>
  createMiddleware(async (c, next) => {
    const request = c.req.raw;
    if (!METHODS_WITH_BODY.has(request.method) || request.body === null) return next();

    const declared = request.headers.get("Content-Length");
    if (declared !== null && Number(declared) > limit) throw new PayloadTooLarge(limit);

    const text = await readText(request.body, limit);
    if (text.length === 0) return next();

    const mediaType = (request.headers.get("Content-Type") ?? "").split(";")[0]!.trim();
    if (!JSON_MEDIA_TYPE.test(mediaType)) throw new UnsupportedMediaType();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new InvalidJson(error);
    }
    // Hono's validators and c.req.json()/text() read from this cache, so the
    // body is neither read nor parsed a second time.
    const cache = c.req.bodyCache as { text?: Promise<string>; json?: Promise<unknown> };
    cache.text = Promise.resolve(text);
    cache.json = Promise.resolve(parsed);
    await next();
  });

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
