// The OpenAPI document GET /openapi.json answers, built in Node from the
// app's routes as the route builds it (every route module loaded): nothing is
// started. The client's
// generated types (scripts/client-types.ts) are written from it;
// test/openapi/lint.test.ts builds it the same way.
import { documentApp } from "../../src/http/lazy-routes";
import { openApiDocument } from "../../src/http/openapi";

/** The origin the document names as its server; the generated types do not depend on it. */
export const DOCUMENT_ORIGIN = "https://auth.secureauth.dev";

/** /openapi.json as the Worker serves it at `origin`. */
export async function buildOpenApiDocument(origin: string = DOCUMENT_ORIGIN) {
  return openApiDocument(await documentApp(), origin);
}
