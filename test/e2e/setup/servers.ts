// The two small node:http servers of the end-to-end stack, both on 127.0.0.1:
//   - the echo upstream behind nginx: answers every request with JSON of
//     what it received (method, URL, headers), so a test sees exactly the
//     headers nginx sent upstream;
//   - the page server the browser tests load: test/e2e/pages/ at /, and the
//     ESM build of @simplewebauthn/browser at /vendor/simplewebauthn/.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { dirname, extname, join, normalize, sep } from "node:path";

export type LocalServer = { url: string; close(): Promise<void> };

export type EchoAnswer = { method: string; url: string; headers: Record<string, string | string[] | undefined> };

export function startEchoServer(port: number): Promise<LocalServer> {
  return listen(
    createServer((request, response) => {
      // Drain any body; only the request line and headers are echoed.
      request.resume();
      request.on("end", () => {
        const answer: EchoAnswer = { method: request.method ?? "", url: request.url ?? "", headers: request.headers };
        response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
        response.end(JSON.stringify(answer));
      });
    }),
    port,
  );
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".css": "text/css; charset=utf-8",
};

/** The directory of @simplewebauthn/browser's ESM build (its package.json `exports["."].import`). */
export function simpleWebAuthnEsmDir(root: string): string {
  const packageDir = join(root, "node_modules", "@simplewebauthn", "browser");
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
    module?: string;
    exports?: { ".": { import?: string } };
  };
  const entry = manifest.exports?.["."]?.import ?? manifest.module;
  if (!entry) throw new Error("@simplewebauthn/browser has no ESM entry in its package.json");
  return dirname(join(packageDir, entry));
}

/**
 * Serves `pagesDir` at /, `vendorDir` at /vendor/simplewebauthn/ and the
 * built client package (packages/client/dist: @secureauth/client, what
 * `secureauth/client` resolves to as well) at /vendor/secureauth/, nothing
 * outside them.
 */
export function startPageServer(options: {
  port: number;
  pagesDir: string;
  vendorDir: string;
  clientDir: string;
}): Promise<LocalServer> {
  const mounts: [prefix: string, dir: string][] = [
    ["/vendor/simplewebauthn/", options.vendorDir],
    ["/vendor/secureauth/", options.clientDir],
    ["/", options.pagesDir],
  ];
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "GET" && request.method !== "HEAD")
      return send(response, 405, "text/plain", "method not allowed");
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    const mount = mounts.find(([prefix]) => path.startsWith(prefix));
    if (!mount) return send(response, 404, "text/plain", "not found");
    const [prefix, dir] = mount;
    const relative = path.slice(prefix.length) || "index.html";
    const file = normalize(join(dir, relative));
    if (!file.startsWith(dir + sep)) return send(response, 404, "text/plain", "not found");
    const type = CONTENT_TYPES[extname(file)];
    if (!type) return send(response, 404, "text/plain", "not found");
    try {
      send(response, 200, type, await readFile(file));
    } catch {
      send(response, 404, "text/plain", "not found");
    }
  };
  return listen(
    createServer((request, response) => {
      handle(request, response).catch(() => send(response, 500, "text/plain", "error"));
    }),
    options.port,
  );
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  response.end(body);
}

function listen(server: Server, port: number): Promise<LocalServer> {
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
