// The example app's server: the page at / and /callback (the same page; the
// hosted sign-in comes back to /callback), and src/app.ts bundled by esbuild
// at /app.js. Nothing else: the app has no backend of its own, it calls the
// service from the browser.
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export type ExampleApp = { url: string; close(): Promise<void> };

/** Bundles the app's script and serves the app on 127.0.0.1:`port`, signing in through `serviceUrl`. */
export async function startExampleApp(options: { port: number; serviceUrl: string }): Promise<ExampleApp> {
  const service = new URL(options.serviceUrl).origin;
  const bundled = await build({
    entryPoints: [here("./src/app.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "silent",
    // In this repository the client is bundled from its source; an app of your own imports its installed package.
    alias: { "@secureauth/client": here("../../packages/client/src/index.ts") },
  });
  const script = bundled.outputFiles[0]!.text;
  const page = (await readFile(here("./public/index.html"), "utf8")).replace(
    "{{SERVICE_URL}}",
    escapeAttribute(service),
  );
  const headers = {
    "Cache-Control": "no-store",
    // The app's own script, and calls to the service; nothing else.
    "Content-Security-Policy":
      `default-src 'none'; script-src 'self'; connect-src ${service}; base-uri 'none'; ` +
      "form-action 'none'; frame-ancestors 'none'",
    // The return's address carries the one-time code: no Referer takes it anywhere.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
  };
  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? "/", "http://app.invalid");
    const body =
      request.method !== "GET" && request.method !== "HEAD"
        ? undefined
        : pathname === "/" || pathname === "/callback"
          ? { type: "text/html; charset=utf-8", text: page }
          : pathname === "/app.js"
            ? { type: "text/javascript; charset=utf-8", text: script }
            : undefined;
    if (!body) {
      response.writeHead(404, { ...headers, "Content-Type": "text/plain; charset=utf-8" });
      response.end("not found");
      return;
    }
    response.writeHead(200, { ...headers, "Content-Type": body.type });
    response.end(request.method === "HEAD" ? undefined : body.text);
  });
  return listen(server, options.port);
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

function listen(server: Server, port: number): Promise<ExampleApp> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
