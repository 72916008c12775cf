// `npm run bench`'s ceiling for a verify: a bare Worker that checks a Bearer
// access token with jose's jwtVerify, with the same public key, issuer,
// audience and algorithm as SecureAuth, and nothing else (no revocation, no
// claims answer beyond sub). JWT_PUBLIC_JWK is the public half of the
// bench's signing key.
//
// On /verify-as-contract it answers as GET /auth/verify does instead: the
// verified payload as `{claims}`, the service's own constant headers (posted
// once to /__headers, captured from a real answer) and the four identity
// headers from the payload. The bench's information row compares the service
// with it, so the contract's answer is on both sides and the ratio is the
// check's own cost.
import { importJWK, type JWK, type JWTPayload, jwtVerify } from "jose";

type Env = { JWT_PUBLIC_JWK: string; JWT_ISSUER: string; JWT_AUDIENCE: string };

let key: Promise<CryptoKey | Uint8Array> | undefined;
let contractHeaders: Headers | undefined;

const list = (value: unknown) => (Array.isArray(value) ? value.join(",") : "");

function asContract(payload: JWTPayload): Response {
  const res = new Response(JSON.stringify({ claims: payload }), { status: 200, headers: contractHeaders });
  const headers = res.headers;
  headers.append("X-Auth-User-Id", String(payload.sub));
  headers.append("X-Auth-Session-Id", String(payload.sid));
  headers.append("X-Auth-Roles", list(payload.roles));
  headers.append("X-Auth-Permissions", list(payload.permissions));
  return res;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method === "POST" && request.url.endsWith("/__headers")) {
      contractHeaders = new Headers((await request.json()) as [string, string][]);
      return new Response(null, { status: 204 });
    }
    const header = request.headers.get("Authorization") ?? "";
    if (!header.startsWith("Bearer ")) return Response.json({ error: "missing bearer token" }, { status: 401 });
    key ??= importJWK(JSON.parse(env.JWT_PUBLIC_JWK) as JWK, "EdDSA");
    try {
      const { payload } = await jwtVerify(header.slice(7), await key, {
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        algorithms: ["EdDSA"],
        typ: "at+jwt",
      });
      if (contractHeaders && request.url.endsWith("/verify-as-contract")) return asContract(payload);
      return Response.json({ sub: payload.sub });
    } catch {
      return Response.json({ error: "invalid token" }, { status: 401 });
    }
  },
};
