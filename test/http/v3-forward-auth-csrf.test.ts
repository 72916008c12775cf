// CSRF through a forward-auth proxy (v3, docs/forward-auth.md):
// the proxy asks GET /auth/verify about every request, so a cross-site form
// posting to the protected application with the victim's access cookie
// would be let through if only the verify's own method counted. The proxy
// names the original method (X-Forwarded-Method, X-Original-Method) and
// forwards the Origin; a cookie-authenticated unsafe original needs an
// Origin in ALLOWED_ORIGINS, and a foreign Origin is refused whatever the
// method. A Bearer token (no ambient credential) is not subject to it.
import { describe, expect, it } from "vitest";
import { call, problemOf, signIn } from "../support/harness";

const APP = "https://app.example.com";
const EVIL = "https://evil.example.net";
const IDENTITY_HEADERS = ["x-auth-user-id", "x-auth-session-id", "x-auth-roles", "x-auth-permissions"];

async function accessCookie() {
  const { user, tokens } = await signIn();
  return { user, token: tokens.accessToken, cookie: `__Host-sa_at=${tokens.accessToken}` };
}

async function expectRefused(res: Response) {
  expect(res.status).toBe(403);
  expect((await problemOf(res)).code).toBe("csrf_rejected");
  for (const name of IDENTITY_HEADERS) expect(res.headers.get(name), name).toBeNull();
}

describe("GET /auth/verify for a cookie-authenticated original request", () => {
  it(
    "a cross-site POST through the proxy with the access cookie is refused: " + "403 csrf_rejected, no identity",
    async () => {
      const { cookie } = await accessCookie();
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        await expectRefused(
          await call("GET", "/auth/verify", {
            headers: { Cookie: cookie, "X-Forwarded-Method": method, Origin: EVIL },
          }),
        );
        await expectRefused(
          await call("GET", "/auth/verify", { headers: { Cookie: cookie, "X-Original-Method": method, Origin: EVIL } }),
        );
      }
    },
  );

  it("an unsafe original method without an Origin is refused: the rule fails closed", async () => {
    const { cookie } = await accessCookie();
    await expectRefused(
      await call("GET", "/auth/verify", { headers: { Cookie: cookie, "X-Original-Method": "POST" } }),
    );
    await expectRefused(
      await call("GET", "/auth/verify", { headers: { Cookie: cookie, "X-Forwarded-Method": "delete" } }),
    );
  });

  it(
    "a client cannot pass a safe method over the proxy's unsafe one: either " + "header naming an unsafe method counts",
    async () => {
      const { cookie } = await accessCookie();
      await expectRefused(
        await call("GET", "/auth/verify", {
          headers: { Cookie: cookie, "X-Forwarded-Method": "GET", "X-Original-Method": "POST", Origin: EVIL },
        }),
      );
    },
  );

  it("a cookie-authenticated check with a foreign Origin is refused whatever the method", async () => {
    const { cookie } = await accessCookie();
    await expectRefused(
      await call("GET", "/auth/verify", { headers: { Cookie: cookie, "X-Forwarded-Method": "GET", Origin: EVIL } }),
    );
    await expectRefused(await call("GET", "/auth/verify", { headers: { Cookie: cookie, Origin: EVIL } }));
    await expectRefused(await call("GET", "/auth/verify", { headers: { Cookie: cookie, Origin: "null" } }));
  });

  it(
    "passes an unsafe original from an allowed Origin (no X-Auth-Mode " + "needed), and a page load without one",
    async () => {
      const { user, cookie } = await accessCookie();
      const post = await call("GET", "/auth/verify", {
        headers: { Cookie: cookie, "X-Forwarded-Method": "POST", Origin: APP },
      });
      expect(post.status).toBe(200);
      expect(post.headers.get("x-auth-user-id")).toBe(user.id);
      const pageLoad = await call("GET", "/auth/verify", { headers: { Cookie: cookie, "X-Forwarded-Method": "GET" } });
      expect(pageLoad.status).toBe(200);
      expect((await call("GET", "/auth/verify", { headers: { Cookie: cookie } })).status).toBe(200);
    },
  );

  it("a Bearer token is not subject to it: no ambient credential, nothing to forge", async () => {
    const { user, token } = await accessCookie();
    const res = await call("GET", "/auth/verify", { token, headers: { "X-Forwarded-Method": "POST", Origin: EVIL } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-auth-user-id")).toBe(user.id);
  });

  it("an invalid cookie is still 401 first, whatever the Origin", async () => {
    const res = await call("GET", "/auth/verify", {
      headers: { Cookie: "__Host-sa_at=not-a-token", "X-Forwarded-Method": "POST", Origin: EVIL },
    });
    expect(res.status).toBe(401);
  });
});
