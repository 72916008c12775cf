// How the service answers one of its own HTML pages: under the page's CSP,
// never cached; /account and /docs are documented operations (tag pages, no
// security), the other hosted pages are not.
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { problemResponses } from "../http/openapi";

/** The page's HTML under its policy (from page-policy.ts), never cached. */
export async function servePage(c: Context<AppEnv>, policy: () => Promise<string>, html: string) {
  c.header("Content-Security-Policy", await policy());
  c.header("Cache-Control", "no-store");
  return c.html(html, 200);
}

/** GET `path` answering the page, as an operation of the OpenAPI document. */
export function documentedPage(
  routes: OpenAPIHono<AppEnv>,
  page: {
    path: string;
    operationId: string;
    summary: string;
    description: string;
  } & (
    | { html: string; policy: () => Promise<string> }
    | { answer: (c: Context<AppEnv>) => Response | Promise<Response> }
  ),
): void {
  routes.openapi(
    createRoute({
      method: "get",
      path: page.path,
      operationId: page.operationId,
      security: [],
      tags: ["pages"],
      summary: page.summary,
      description: page.description,
      responses: {
        200: { description: "The page", content: { "text/html": { schema: z.string() } } },
        ...problemResponses(),
      },
    }),
    (c) => ("answer" in page ? page.answer(c) : servePage(c, page.policy, page.html)),
  );
}
