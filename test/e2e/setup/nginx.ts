// nginx in front of an upstream, asking SecureAuth's GET /auth/verify about
// every request (auth_request) and copying the identity it answers to the
// upstream. forwardAuthServer() is the configuration itself, the one
// docs/forward-auth.md quotes; startNginx() wraps it in
// what a throwaway, unprivileged nginx needs (pid, logs and temp paths in a
// temporary directory, `daemon off;`) and runs it as a child process.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type ForwardAuthOptions = {
  /** What `listen` says, e.g. "127.0.0.1:8080" or "443 ssl". */
  listen: string;
  /** SecureAuth's origin as nginx reaches it, e.g. "http://127.0.0.1:8787" or "https://auth.example.com". */
  authOrigin: string;
  /** The application behind nginx, e.g. "http://127.0.0.1:3000". */
  upstream: string;
  /** server_name; default "_". */
  serverName?: string;
};

/**
 * Every identity header /auth/verify may answer (the organization ones only
 * while the session has an active organization), and the nginx variables
 * they are kept in.
 */
const IDENTITY = [
  ["X-Auth-User-Id", "auth_user_id"],
  ["X-Auth-Session-Id", "auth_session_id"],
  ["X-Auth-Roles", "auth_roles"],
  ["X-Auth-Permissions", "auth_permissions"],
  ["X-Auth-Org-Id", "auth_org_id"],
  ["X-Auth-Org-Roles", "auth_org_roles"],
  ["X-Auth-Org-Permissions", "auth_org_permissions"],
] as const;

/**
 * The `server` block: /protected/ needs a valid access token, /admin-only/ one
 * holding `users:read`. The upstream receives the X-Auth-* headers from the
 * verify answer and never a client's own: proxy_set_header replaces a
 * client's header of the same name, and an empty value (no such answer
 * header) sends none, so every name the service may answer is set, and a
 * client's value for one the answer lacks is deleted. The verifier gets the
 * credentials and what its CSRF rule for cookies needs: the original
 * method (X-Original-Method) and Origin; nothing else of the client's.
 */
export function forwardAuthServer(options: ForwardAuthOptions): string {
  const auth = new URL(options.authOrigin);
  const tls = auth.protocol === "https:";
  const protectedLocation = (path: string, authLocation: string) => [
    `    location ${path} {`,
    `        auth_request ${authLocation};`,
    ...IDENTITY.map(
      ([header, variable]) =>
        `        auth_request_set $${variable} $upstream_http_${header.toLowerCase().replace(/-/g, "_")};`,
    ),
    ...IDENTITY.map(([header, variable]) => `        proxy_set_header ${header} $${variable};`),
    `        proxy_pass ${options.upstream};`,
    `    }`,
  ];
  const authLocation = (name: string, query: string) => [
    `    location = ${name} {`,
    `        internal;`,
    `        proxy_pass ${auth.origin}/auth/verify${query};`,
    // The verifier gets the credentials, the original method and Origin (its CSRF rule for the access cookie); no body,
    // no other client header.
    `        proxy_method GET;`,
    `        proxy_pass_request_body off;`,
    `        proxy_pass_request_headers off;`,
    `        proxy_set_header Content-Length "";`,
    `        proxy_set_header Authorization $http_authorization;`,
    `        proxy_set_header Cookie $http_cookie;`,
    `        proxy_set_header X-Original-Method $request_method;`,
    `        proxy_set_header X-Original-URI $request_uri;`,
    `        proxy_set_header Origin $http_origin;`,
    // nginx does not check an upstream's certificate unless told to.
    ...(tls
      ? [
          `        proxy_ssl_server_name on;`,
          `        proxy_ssl_verify on;`,
          `        proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;`,
        ]
      : []),
    `    }`,
  ];
  return [
    `server {`,
    `    listen ${options.listen};`,
    `    server_name ${options.serverName ?? "_"};`,
    ``,
    ...protectedLocation("/protected/", "/_auth"),
    ``,
    ...protectedLocation("/admin-only/", "/_auth_admin"),
    ``,
    ...authLocation("/_auth", ""),
    ``,
    ...authLocation("/_auth_admin", "?permission=users:read"),
    `}`,
  ].join("\n");
}

/** A whole nginx.conf around forwardAuthServer, for an nginx that writes nothing outside `dir`. */
export function nginxConfig(options: ForwardAuthOptions & { dir: string }): string {
  const { dir } = options;
  return [
    `daemon off;`,
    `worker_processes 1;`,
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    `events { worker_connections 64; }`,
    `http {`,
    `    access_log ${dir}/access.log;`,
    `    client_body_temp_path ${dir}/client_body;`,
    `    proxy_temp_path ${dir}/proxy;`,
    `    fastcgi_temp_path ${dir}/fastcgi;`,
    `    uwsgi_temp_path ${dir}/uwsgi;`,
    `    scgi_temp_path ${dir}/scgi;`,
    ...forwardAuthServer(options)
      .split("\n")
      .map((line) => (line ? `    ${line}` : line)),
    `}`,
    ``,
  ].join("\n");
}

export type Nginx = { url: string; dir: string; stop(): Promise<void> };

/** The nginx binary: NGINX_PATH, else `nginx` on the PATH, else /usr/sbin/nginx. */
export function nginxPath(): string {
  if (process.env.NGINX_PATH) return process.env.NGINX_PATH;
  for (const dir of [
    ...(process.env.PATH ?? "").split(":").filter(Boolean),
    "/usr/sbin",
    "/usr/local/sbin",
    "/opt/homebrew/bin",
  ]) {
    try {
      accessSync(join(dir, "nginx"), constants.X_OK);
      return join(dir, "nginx");
    } catch {}
  }
  throw new Error(
    "nginx not found: install it (Debian/Ubuntu: apt-get install nginx-light; macOS: brew install nginx) or set " +
      "NGINX_PATH",
  );
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startNginx(options: { port: number; authOrigin: string; upstream: string }): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "secureauth-e2e-nginx-"));
  // Run as root, nginx's workers drop to `nobody`, who must reach the temp paths in here.
  chmodSync(dir, 0o755);
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    nginxConfig({
      listen: `127.0.0.1:${options.port}`,
      authOrigin: options.authOrigin,
      upstream: options.upstream,
      dir,
    }),
  );
  const output: string[] = [];
  // Its own process group, so stop() can reach the worker too, even if the master hangs.
  const child = spawn(nginxPath(), ["-p", `${dir}/`, "-c", conf, "-e", join(dir, "error.log")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr])
    stream.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      output.push(String(error));
      resolve();
    });
  });
  const url = `http://127.0.0.1:${options.port}`;
  const stop = () => stopChild(child, exited).finally(() => rmSync(dir, { recursive: true, force: true }));
  try {
    await waitUntilListening(url, exited, () => output.join("") + readErrorLog(dir));
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, dir, stop };
}

async function waitUntilListening(url: string, exited: Promise<void>, describe: () => string): Promise<void> {
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (dead) throw new Error(`nginx exited at start: ${describe()}`);
    try {
      // Any answer means it listens (this path is not configured: 404).
      await fetch(`${url}/_nginx_started`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nginx did not listen on ${url} within ${START_TIMEOUT_MS} ms: ${describe()}`);
}

function readErrorLog(dir: string): string {
  try {
    return readFileSync(join(dir, "error.log"), "utf8");
  } catch {
    return "";
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {}
  };
  // SIGTERM to the master: fast shutdown, it stops its worker and exits.
  signalGroup("SIGTERM");
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), STOP_TIMEOUT_MS)),
  ]);
  // Whatever of the group outlived the master.
  signalGroup("SIGKILL");
  if (timedOut) await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1000))]);
}
