// The fast paths (src/http/fast-paths.ts) answer GET /auth/verify's and
// GET /health's common case before the Hono app. A client cannot tell which
// way answered: for every case a path takes, its answer (status, body, every
// header) is compared with the app's own route's answer to the same request,
// and the cases it must leave to the app (CORS, HEAD, a query the route
// validates, a token sent to /health) are shown to go there.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/http/app";
import { fastPath } from "../../src/http/fast-paths";
import { buildRequest, type CallOptions, call, env, mintAccessToken, signIn, testService } from "../support/harness";
import { createOrganization } from "../support/organization-fixtures";

const generalApp = createApp();

async function general(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await generalApp.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function snapshot(res: Response) {
  return { status: res.status, headers: [...res.headers].sort(), body: await res.text() };
}

/** The fast path's answer, which must take the request (no fallback to the app), and the app's, for one request. */
async function bothWays(method: string, path: string, options: CallOptions = {}) {
  const fast = fastPath(buildRequest(method, path, options), env, () => {
    throw new Error("the fast path handed the request to the app");
  });
  expect(fast, "the fast path takes the request").toBeDefined();
  return { fast: await snapshot(await fast!), app: await snapshot(await general(buildRequest(method, path, options))) };
}

let accessToken: string;

beforeAll(async () => {
  // This isolate's keys imported for this env, as any earlier request of a running Worker has done.
  await (await testService().runtime()).close();
  ({
    tokens: { accessToken },
  } = await signIn());
});

describe("GET /auth/verify: the fast path answers exactly as the route", () => {
  const cases: [string, () => Promise<[string, CallOptions]>][] = [
    ["a valid Bearer token", async () => ["/auth/verify", { token: accessToken }]],
    ["a permission the token holds", async () => ["/auth/verify?permission=profile:read", { token: accessToken }]],
    ["a permission the token lacks", async () => ["/auth/verify?permission=users:read", { token: accessToken }]],
    ["no credential at all", async () => ["/auth/verify", {}]],
    ["another scheme", async () => ["/auth/verify", { headers: { Authorization: "Basic dXNlcjpwYXNz" } }]],
    ["an empty Authorization header", async () => ["/auth/verify", { headers: { Authorization: "" } }]],
    ["a token that is not a JWT", async () => ["/auth/verify", { token: "not-a-token" }]],
    ["an expired token", async () => ["/auth/verify", { token: await mintAccessToken({ exp: 1, iat: 0 }) }]],
    [
      "a token whose kid names no key",
      async () => ["/auth/verify", { token: await mintAccessToken({}, { header: { kid: "unknown" } }) }],
    ],
    ["the access cookie", async () => ["/auth/verify", { headers: { Cookie: `__Host-sa_at=${accessToken}` } }]],
    [
      "the access cookie for an unsafe original request without an Origin",
      async () => [
        "/auth/verify",
        { headers: { Cookie: `__Host-sa_at=${accessToken}`, "X-Forwarded-Method": "POST" } },
      ],
    ],
    [
      "the access cookie for a safe original request",
      async () => [
        "/auth/verify",
        { headers: { Cookie: `a=b; __Host-sa_at=${accessToken}`, "X-Original-Method": "GET" } },
      ],
    ],
    [
      "a Bearer token beside a broken cookie",
      async () => ["/auth/verify", { token: accessToken, headers: { Cookie: "__Host-sa_at=junk" } }],
    ],
  ];
  for (const [name, request] of cases) {
    it(name, async () => {
      const [path, options] = await request();
      const { fast, app } = await bothWays("GET", path, options);
      expect(fast).toEqual(app);
    });
  }

  it("a token answered again and again: its kept answer is the route's every time", async () => {
    const { tokens } = await signIn();
    for (let use = 0; use < 4; use++) {
      const { fast, app } = await bothWays("GET", "/auth/verify", { token: tokens.accessToken });
      expect(fast.status).toBe(200);
      expect(fast).toEqual(app);
    }
  });

  it("a kept answer is not given once the session has ended: revocation is checked on every use", async () => {
    const { tokens } = await signIn();
    for (let use = 0; use < 3; use++)
      expect((await bothWays("GET", "/auth/verify", { token: tokens.accessToken })).fast.status).toBe(200);
    await call("POST", "/auth/logout", { token: tokens.accessToken });
    const { fast, app } = await bothWays("GET", "/auth/verify", { token: tokens.accessToken });
    expect(fast.status).toBe(401);
    expect(fast).toEqual(app);
  });

  it("a remembered token is answered with no turn of the event loop, and refused at once after a logout", async () => {
    const { tokens } = await signIn();
    const at = () =>
      fastPath(buildRequest("GET", "/auth/verify", { token: tokens.accessToken }), env, () => {
        throw new Error("the fast path handed the request to the app");
      });
    for (let use = 0; use < 2; use++) expect((await at())?.status).toBe(200); // remembered from its second use
    const now = at();
    expect(now).toBeInstanceOf(Response);
    expect(await snapshot(now as Response)).toEqual(
      (await bothWays("GET", "/auth/verify", { token: tokens.accessToken })).app,
    );
    await call("POST", "/auth/logout", { token: tokens.accessToken });
    const refused = at();
    expect(refused).toBeInstanceOf(Response);
    expect((refused as Response).status).toBe(401);
  });

  it("a token acting in an organization: the X-Auth-Org-* headers, and its permissions never global, as the route", async () => {
    const member = await signIn();
    const org = await createOrganization({ members: { [member.user.id]: ["admin"] } });
    const switched = await call("POST", "/auth/org", { token: member.tokens.accessToken, body: { orgId: org.id } });
    expect(switched.status).toBe(200);
    const { accessToken: inOrg } = ((await switched.json()) as { tokens: { accessToken: string } }).tokens;
    for (const path of ["/auth/verify", "/auth/verify", "/auth/verify?permission=profile:read"]) {
      const { fast, app } = await bothWays("GET", path, { token: inOrg });
      expect(fast.status).toBe(200);
      expect(fast.headers).toContainEqual(["x-auth-org-id", org.id]);
      expect(fast).toEqual(app);
    }
    // members:invite is held in the organization only: without ?org= it counts nowhere.
    const { fast, app } = await bothWays("GET", "/auth/verify?permission=members:invite", { token: inOrg });
    expect(fast.status).toBe(403);
    expect(fast).toEqual(app);
    // ?org= is the route's to read.
    const request = buildRequest("GET", `/auth/verify?permission=members:invite&org=${org.id}`, { token: inOrg });
    expect(fastPath(request, env, () => new Response())).toBeUndefined();
  });

  it("a token of an ended session: 401 the same way as the route", async () => {
    const { tokens } = await signIn();
    await call("POST", "/auth/logout", { token: tokens.accessToken });
    const { fast, app } = await bothWays("GET", "/auth/verify", { token: tokens.accessToken });
    expect(fast.status).toBe(401);
    expect(fast).toEqual(app);
  });
});

describe("GET /health: the fast path answers exactly as the route", () => {
  it("a probe without an Origin or a token", async () => {
    const { fast, app } = await bothWays("GET", "/health");
    expect(fast.status).toBe(200);
    expect(fast).toEqual(app);
  });
});

describe("what the fast paths leave to the app", () => {
  const cases: [string, string, string, CallOptions][] = [
    ["HEAD", "HEAD", "/auth/verify", {}],
    ["an Origin (CORS)", "GET", "/auth/verify", { headers: { Origin: "https://app.example.com" } }],
    ["a repeated permission", "GET", "/auth/verify?permission=a&permission=b", {}],
    ["an encoded permission", "GET", "/auth/verify?permission=users%3Aread", {}],
    ["an empty permission", "GET", "/auth/verify?permission=", {}],
    ["another query key", "GET", "/auth/verify?other=1", {}],
    ["a trailing slash", "GET", "/auth/verify/", {}],
    ["another path", "GET", "/auth/verifyx", {}],
    ["HEAD /health", "HEAD", "/health", {}],
    ["/health with an Origin", "GET", "/health", { headers: { Origin: "https://app.example.com" } }],
    ["/health with a query", "GET", "/health?probe=1", {}],
    ["/health/ready", "GET", "/health/ready", {}],
  ];
  for (const [name, method, path, options] of cases) {
    it(name, () => {
      const request = buildRequest(method, path, { token: "x", ...options });
      expect(fastPath(request, env, () => new Response())).toBeUndefined();
    });
  }
  for (const headers of [{ Authorization: "Bearer x" }, { Cookie: "__Host-sa_at=x" }] as Record<string, string>[]) {
    it(`/health presenting an access token (${Object.keys(headers)[0]}): no-store is the app's`, () => {
      expect(fastPath(buildRequest("GET", "/health", { headers }), env, () => new Response())).toBeUndefined();
    });
  }
});
