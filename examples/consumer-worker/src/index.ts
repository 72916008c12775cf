// A consumer of SecureAuth's AuthService entrypoint: GET /whoami answers
// who the bearer token belongs to, GET /admin/report needs `users:read`.
// Every outcome of the binding is a result, never an exception: an invalid,
// expired or revoked token is 401, a missing permission 403, and
// service_unavailable (SecureAuth could not check: it fails closed) is 503.
import type { AuthServiceRpc } from "secureauth/rpc";

export interface Env {
  AUTH: Service & AuthServiceRpc;
}

const json = (status: number, body: unknown) => Response.json(body, { status });

function bearer(request: Request): string {
  return /^Bearer +(\S+)$/i.exec(request.headers.get("Authorization") ?? "")?.[1] ?? "";
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/whoami") {
      const result = await env.AUTH.verify(bearer(request));
      if (!result.ok) return json(result.code === "service_unavailable" ? 503 : 401, { code: result.code });
      return json(200, { userId: result.claims.sub, sessionId: result.claims.sid, roles: result.claims.roles });
    }
    if (pathname === "/admin/report") {
      const result = await env.AUTH.authorize(bearer(request), "users:read");
      if (!result.ok) {
        const status =
          result.code === "insufficient_permission" ? 403 : result.code === "service_unavailable" ? 503 : 401;
        return json(status, { code: result.code });
      }
      return json(200, { report: "for administrators", by: result.claims.sub });
    }
    return json(404, { code: "not_found" });
  },
} satisfies ExportedHandler<Env>;
