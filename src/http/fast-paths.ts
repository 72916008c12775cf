// The two requests a Worker gets most, answered at its entry before the Hono
// app: GET /auth/verify (the forward-auth check, on every request a proxy
// passes through) and GET /health (a platform's liveness probe). Their common
// case takes no router, no Context and no middleware chain. The verify's
// check is the one every authenticated route runs (AccessTokens.authenticate:
// signature, claims, then the revocation feed from memory); each answer is
// the route's, byte for byte: the same status, body and headers
// (test/http/fast-paths.test.ts compares the two ways for every case). What
// these paths do not take goes to the app unchanged: any method but GET,
// another path, a query other than one plain `permission` (`?org=` included), a request with an
// Origin (CORS, and the CSRF rule's allowlist), a /health request presenting
// an access token, an isolate whose keys are not imported yet or whose
// configuration does not load, and any failure that is not the contract's own
// error.
import type { Env } from "../config";
import { type Overrides, tokenCheckNow } from "../composition";
import { AuthError, InvalidToken } from "../core/errors";
import { checkForwardAuth, identityHeaders } from "../features/tokens/forward-auth";
import type { VerifiedAccessToken } from "../features/tokens/types";
import { parseBearerToken } from "./authenticate/bearer";
import { carriesAccessToken } from "./authenticate/credential";
import { accessTokenCookieOf, refuseForwardedCrossSiteOf } from "./cookie-mode";
import { problemBody } from "./errors/problem";
import { SECURITY_HEADERS } from "./security-headers";

const VERIFY = "/auth/verify";
const HEALTH = "/health";

/**
 * The one query this path answers itself: `permission`, once, in characters no decoding changes, within the
 * route's bounds (1 to 128). Anything else (encoded, repeated, empty, another key) is the route's to validate.
 */
const PERMISSION_QUERY = /^permission=([A-Za-z0-9:._~-]{1,128})$/;

/**
 * What every answer of GET /auth/verify carries: the security headers, no-store (it presents or refuses someone's
 * session) and Vary: Origin (the CORS layer's, for a request without an Origin). Built once per isolate as Headers:
 * a Response copies a Headers object in the runtime, where a list of pairs costs about 2 µs a header to convert
 * (measured in workerd: 20 µs for this answer's twelve).
 */
const COMMON_HEADERS = new Headers({
  ...SECURITY_HEADERS,
  "Cache-Control": "no-store",
  Pragma: "no-cache",
  Vary: "Origin",
});
const OK_HEADERS = new Headers(COMMON_HEADERS);
OK_HEADERS.set("Content-Type", "application/json; charset=utf-8");

/**
 * GET /auth/verify's answer for a token this isolate remembers (from its second use: verify.ts), by the isolate's
 * record of it (so it lives as long as the record is remembered): its body from the record's first answer, and its
 * headers from the next. The claims of a token never change, so neither does the answer; the checks before it run on
 * every use. A token seen once keeps nothing here.
 */
const prepared = new WeakMap<VerifiedAccessToken, { body: string; headers: Headers | undefined }>();

/** GET /health's answer: no I/O, the same for every request; its body is built once. */
const HEALTH_BODY = JSON.stringify({ status: "ok" });
const HEALTH_HEADERS = new Headers({
  ...SECURITY_HEADERS,
  Vary: "Origin",
  "Content-Type": "application/json; charset=utf-8",
});

/**
 * The answer to `request` when one of these paths takes it, else undefined (the app answers). `general` is the app's
 * answer to the same request, for an unexpected failure: the app logs and answers it as it does any route's.
 */
export function fastPath(
  request: Request,
  env: Env,
  general: () => Response | Promise<Response>,
  overrides?: Overrides,
): Response | Promise<Response> | undefined {
  if (request.method !== "GET") return undefined;
  const url = request.url;
  // An absolute URL: its path starts at the first "/" after the scheme's "//" and the host.
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return undefined;
  if (url.startsWith(VERIFY, start)) return verify(request, env, general, overrides, url, start + VERIFY.length);
  if (url.startsWith(HEALTH, start) && url.length === start + HEALTH.length) return health(request, env, overrides);
  return undefined;
}

function health(request: Request, env: Env, overrides: Overrides | undefined): Response | undefined {
  const headers = request.headers;
  // An Origin is CORS's; an access token makes the answer no-store: the app's.
  if (headers.has("Origin") || carriesAccessToken(headers)) return undefined;
  // A configuration that does not load, or keys not imported yet: the app answers (and logs) as it does.
  if (!tokenCheckNow(env, overrides)) return undefined;
  return new Response(HEALTH_BODY, { status: 200, headers: HEALTH_HEADERS });
}

function verify(
  request: Request,
  env: Env,
  general: () => Response | Promise<Response>,
  overrides: Overrides | undefined,
  url: string,
  end: number,
): Response | Promise<Response> | undefined {
  let permission: string | undefined;
  if (end !== url.length) {
    if (url.charCodeAt(end) !== 63 /* ? */) return undefined;
    const query = PERMISSION_QUERY.exec(url.slice(end + 1));
    if (!query) return undefined;
    permission = query[1];
  }
  const headers = request.headers;
  if (headers.has("Origin")) return undefined;
  const check = tokenCheckNow(env, overrides);
  if (!check) return undefined;
  const tokens = check.tokens;
  const allowedOrigins = check.config.allowedOrigins;
  // The authenticate middleware's reading: the Bearer credential, or the access cookie when no Authorization came.
  const authorization = headers.get("Authorization");
  const fromCookie = authorization === null;
  let token: string | undefined;
  try {
    token = fromCookie ? accessTokenCookieOf(headers.get("Cookie")) : parseBearerToken(authorization);
    if (token === undefined) {
      throw new InvalidToken({
        bearerError: "invalid_request",
        cause: new Error("no Bearer credential in the Authorization header"),
      });
    }
    // A token this isolate remembers, its revocation copy fresh: answered with no turn of the event loop.
    const known = tokens.authenticatedRecordNow(token);
    if (known) return answer(known, true, headers, fromCookie, allowedOrigins, permission);
  } catch (error) {
    return error instanceof AuthError ? problem(error) : general();
  }
  // The isolate's own record of the token (read here, never handed on), revocation checked as on every route.
  const presented = token;
  return tokens.authenticatedRecord(presented).then(
    (record) => {
      try {
        return answer(record, tokens.remembers(presented, record), headers, fromCookie, allowedOrigins, permission);
      } catch (error) {
        return error instanceof AuthError ? problem(error) : general();
      }
    },
    (error: unknown) => (error instanceof AuthError ? problem(error) : general()),
  );
}

/**
 * The 200 answer for a token that passed the check, after the checks that read the request and the claims: the
 * forwarded cross-site rule for a cookie, and the permission. `remembered`: the record is the isolate's for the
 * token's next uses, so its answer is worth keeping; a token seen once (a stream of new sessions) keeps nothing.
 */
function answer(
  record: VerifiedAccessToken,
  remembered: boolean,
  headers: Headers,
  fromCookie: boolean,
  allowedOrigins: readonly string[],
  permission: string | undefined,
): Response {
  const claims = record.claims;
  if (fromCookie) refuseForwardedCrossSiteOf(headers, allowedOrigins);
  checkForwardAuth(claims, permission === undefined ? {} : { permission });
  const ready = remembered ? prepared.get(record) : undefined;
  if (ready?.headers) return new Response(ready.body, { status: 200, headers: ready.headers });
  const body = ready?.body ?? JSON.stringify({ claims });
  const res = new Response(body, { status: 200, headers: OK_HEADERS });
  const identity = res.headers;
  // Appended: none of the names is among OK_HEADERS, and an append skips a set's search for an existing one.
  for (const [name, value] of identityHeaders(claims)) identity.append(name, value);
  // A token seen twice is a client's that comes back: its whole answer is kept for its next uses.
  if (remembered) prepared.set(record, { body, headers: ready ? new Headers(identity) : undefined });
  return res;
}

/** The route's problem answer: problem+json, the error's own headers (WWW-Authenticate), and the common ones. */
function problem(error: AuthError): Response {
  const res = new Response(JSON.stringify(problemBody(error)), { status: error.status, headers: COMMON_HEADERS });
  const headers = res.headers;
  for (const name in error.headers) headers.set(name, error.headers[name]!);
  headers.set("Content-Type", "application/problem+json");
  return res;
}
