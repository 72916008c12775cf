// A consumer of SecureAuth's AuthService entrypoint: GET /whoami answers
// who the bearer token belongs to, GET /admin/report needs `users:read`, and
// POST /orgs/:orgId/projects needs `projects:write` in that organization (an
// organization permission: it counts only when the token's active
// organization is the one the request names, never as a global permission).
// Every outcome of the binding is a result, never an exception: an invalid,
// expired or revoked token is 401, a missing permission 403, and
// service_unavailable (SecureAuth could not check: it fails closed) is 503.
import type { AuthServiceRpc } from "secureauth/rpc";

export interface Env {
  AUTH: Service & AuthServiceRpc;
}

const json = (status: number, body: unknown) => Response.json(body, { status });

const PROJECTS = /^\/orgs\/([^/]+)\/projects$/;

function refusal(code: "invalid_token" | "insufficient_permission" | "service_unavailable"): Response {
  return json(code === "insufficient_permission" ? 403 : code === "service_unavailable" ? 503 : 401, { code });
}

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
      if (!result.ok) return refusal(result.code);
      return json(200, { report: "for administrators", by: result.claims.sub });
    }
    const project = PROJECTS.exec(pathname);
    if (project && request.method === "POST") {
      // The organization the request acts in; the user first switches to it (POST /auth/org at SecureAuth).
      const org = decodeURIComponent(project[1]!);
      const result = await env.AUTH.authorize(bearer(request), "projects:write", { org });
      if (!result.ok) return refusal(result.code);
      return json(201, { project: "created", org: result.claims.org!.id, by: result.claims.sub });
    }
    return json(404, { code: "not_found" });
  },
} satisfies ExportedHandler<Env>;
