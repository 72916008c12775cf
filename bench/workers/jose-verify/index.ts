// `npm run bench`'s ceiling for a verify: a bare Worker that checks a Bearer
// access token with jose's jwtVerify, with the same public key, issuer,
// audience and algorithm as SecureAuth, and nothing else (no revocation, no
// claims answer beyond sub). JWT_PUBLIC_JWK is the public half of the
// bench's signing key.
import { importJWK, type JWK, jwtVerify } from "jose";

type Env = { JWT_PUBLIC_JWK: string; JWT_ISSUER: string; JWT_AUDIENCE: string };

let key: Promise<CryptoKey | Uint8Array> | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
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
      return Response.json({ sub: payload.sub });
    } catch {
      return Response.json({ error: "invalid token" }, { status: 401 });
    }
  },
};
