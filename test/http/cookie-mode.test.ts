// Browser (cookie) mode on the real stack (docs/browser-mode.md): the three __Host- cookies and their attributes,
// refresh and logout from the cookies, the access cookie on routes that take an access token, and the CSRF rule. Each
// refusal is named after the attack: a cross-site form posting with the victim's cookies, a page on another origin
// adding the custom header, a login CSRF.
import { describe, expect, it } from "vitest";
import { BASE, call, claimsOf, problemOf, register, STRONG_PASSWORD, uniqueEmail } from "../support/harness";

const APP = "https://app.example.com";
const EVIL = "https://evil.example.net";
const COOKIE_MODE = { "X-Auth-Mode": "cookie", Origin: APP };

type SetCookie = { name: string; value: string; attributes: Map<string, string> };

function setCookies(res: Response): Map<string, SetCookie> {
  const cookies = new Map<string, SetCookie>();
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(";").map((part) => part.trim());
    const eq = pair!.indexOf("=");
    const attributes = new Map(
      attrs.map((a) => {
        const i = a.indexOf("=");
        return i < 0 ? [a.toLowerCase(), ""] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      }),
    );
    cookies.set(pair!.slice(0, eq), {
      name: pair!.slice(0, eq),
      value: decodeURIComponent(pair!.slice(eq + 1)),
      attributes,
    });
  }
  return cookies;
}

const cookieHeader = (cookies: Map<string, SetCookie>, ...names: string[]) =>
  names.map((name) => `${name}=${encodeURIComponent(cookies.get(name)!.value)}`).join("; ");

async function cookieLogin() {
  const account = await register();
  const res = await call("POST", "/auth/login", {
    headers: COOKIE_MODE,
    body: { email: account.email, password: STRONG_PASSWORD },
  });
  expect(res.status).toBe(200);
  return {
    account,
    res,
    cookies: setCookies(res),
    body: (await res.json()) as { user: { id: string }; tokens: Record<string, unknown>; deviceToken: string },
  };
}

describe("signing in in cookie mode", () => {
  it(
    "sets __Host-sa_rt (Strict), __Host-sa_at (Lax, Max-Age its lifetime) " +
      "and __Host-sa_dev, all HttpOnly, Secure, Path=/; the body never holds " +
      "the refresh token",
    async () => {
      const { cookies, body } = await cookieLogin();
      const rt = cookies.get("__Host-sa_rt")!;
      const at = cookies.get("__Host-sa_at")!;
      const dev = cookies.get("__Host-sa_dev")!;
      for (const cookie of [rt, at, dev]) {
        expect(cookie.attributes.has("httponly")).toBe(true);
        expect(cookie.attributes.has("secure")).toBe(true);
        expect(cookie.attributes.get("path")).toBe("/");
        expect(cookie.attributes.has("domain")).toBe(false);
      }
      expect(rt.attributes.get("samesite")).toBe("Strict");
      expect(at.attributes.get("samesite")).toBe("Lax");
      expect(at.attributes.get("max-age")).toBe("600");
      expect(rt.value).toMatch(/^sart_/);
      expect(at.value).toBe(body.tokens.accessToken);
      expect(body.tokens).not.toHaveProperty("refreshToken");
      expect(body.tokens.accessToken).toBeTypeOf("string");
      expect(dev.value).toBe(body.deviceToken);
    },
  );

  it("register in cookie mode sets the cookies too", async () => {
    const res = await call("POST", "/auth/register", {
      headers: COOKIE_MODE,
      body: { email: uniqueEmail("cookie"), password: STRONG_PASSWORD },
    });
    expect(res.status).toBe(201);
    expect([...setCookies(res).keys()].sort()).toEqual(["__Host-sa_at", "__Host-sa_rt"]);
    expect(((await res.json()) as { tokens: object }).tokens).not.toHaveProperty("refreshToken");
  });

  it("bearer mode is unchanged: no cookies, the refresh token in the body", async () => {
    const account = await register();
    const res = await call("POST", "/auth/login", { body: { email: account.email, password: STRONG_PASSWORD } });
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(((await res.json()) as { tokens: { refreshToken: string } }).tokens.refreshToken).toMatch(/^sart_/);
  });

  it(
    "login CSRF: a cookie-mode sign-in from another origin, or with no " + "Origin, is refused and sets nothing",
    async () => {
      const account = await register();
      for (const headers of [{ "X-Auth-Mode": "cookie", Origin: EVIL }, { "X-Auth-Mode": "cookie" }] as Record<
        string,
        string
      >[]) {
        const res = await call("POST", "/auth/login", {
          headers,
          body: { email: account.email, password: STRONG_PASSWORD },
        });
        expect(res.status).toBe(403);
        expect((await problemOf(res)).code).toBe("csrf_rejected");
        expect(res.headers.getSetCookie()).toEqual([]);
      }
    },
  );
});

describe("refresh and logout from the cookies", () => {
  it(
    "POST /auth/refresh with no body rotates the refresh cookie and sets its " + "successor; the old one is then reuse",
    async () => {
      const { cookies } = await cookieLogin();
      const res = await call("POST", "/auth/refresh", {
        headers: { ...COOKIE_MODE, Cookie: cookieHeader(cookies, "__Host-sa_rt") },
      });
      expect(res.status).toBe(200);
      const next = setCookies(res);
      expect(next.get("__Host-sa_rt")!.value).toMatch(/^sart_/);
      expect(next.get("__Host-sa_rt")!.value).not.toBe(cookies.get("__Host-sa_rt")!.value);
      const body = (await res.json()) as { tokens: { accessToken: string } };
      expect(body.tokens).not.toHaveProperty("refreshToken");
      expect(next.get("__Host-sa_at")!.value).toBe(body.tokens.accessToken);
    },
  );

  it(
    "a cross-site refresh cannot be driven: without X-Auth-Mode the cookie " +
      "is not read; from another origin it is refused",
    async () => {
      const { cookies } = await cookieLogin();
      const noHeader = await call("POST", "/auth/refresh", {
        headers: { Origin: APP, Cookie: cookieHeader(cookies, "__Host-sa_rt") },
      });
      expect((await problemOf(noHeader)).code).toBe("validation_failed");
      const evil = await call("POST", "/auth/refresh", {
        headers: { "X-Auth-Mode": "cookie", Origin: EVIL, Cookie: cookieHeader(cookies, "__Host-sa_rt") },
      });
      expect((await problemOf(evil)).code).toBe("csrf_rejected");
    },
  );

  it("refresh in cookie mode without the cookie is invalid_refresh_token", async () => {
    const res = await call("POST", "/auth/refresh", { headers: COOKIE_MODE });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_refresh_token");
  });

  it("logout ends the session named by the cookies and clears its two cookies, keeping the device cookie", async () => {
    const { cookies, body } = await cookieLogin();
    const res = await call("POST", "/auth/logout", {
      headers: { ...COOKIE_MODE, Cookie: cookieHeader(cookies, "__Host-sa_rt", "__Host-sa_at", "__Host-sa_dev") },
    });
    expect(res.status).toBe(204);
    const cleared = setCookies(res);
    for (const name of ["__Host-sa_rt", "__Host-sa_at"]) {
      expect(cleared.get(name)!.value).toBe("");
      expect(cleared.get(name)!.attributes.get("max-age")).toBe("0");
    }
    expect(cleared.has("__Host-sa_dev")).toBe(false);
    // The session ended: its access token stops at the edge, its refresh token is refused.
    expect((await call("GET", "/me", { token: body.tokens.accessToken as string })).status).toBe(401);
    const again = await call("POST", "/auth/refresh", {
      headers: { ...COOKIE_MODE, Cookie: cookieHeader(cookies, "__Host-sa_rt") },
    });
    expect(again.status).toBe(401);
  });
});

describe("the access cookie", () => {
  it("is accepted where an access token is, when no Authorization header is sent (GET /me, forward auth)", async () => {
    const { cookies, account } = await cookieLogin();
    const me = await call("GET", "/me", { headers: { Cookie: cookieHeader(cookies, "__Host-sa_at") } });
    expect(me.status).toBe(200);
    const verify = await call("GET", "/auth/verify", { headers: { Cookie: cookieHeader(cookies, "__Host-sa_at") } });
    expect(verify.status).toBe(200);
    expect(verify.headers.get("X-Auth-User-Id")).toBe(account.user.id);
  });

  it(
    "CSRF: a cookie-authenticated state change without X-Auth-Mode (a " +
      "cross-site form) is refused, and changes nothing",
    async () => {
      const { cookies, account } = await cookieLogin();
      const res = await call("PATCH", "/me", {
        headers: { Origin: APP, Cookie: cookieHeader(cookies, "__Host-sa_at") },
        body: { name: "Mallory was here" },
      });
      expect(res.status).toBe(403);
      expect((await problemOf(res)).code).toBe("csrf_rejected");
      const me = (await (await call("GET", "/me", { token: cookies.get("__Host-sa_at")!.value })).json()) as {
        user: { name: string };
      };
      expect(me.user.name).not.toBe("Mallory was here");
      void account;
    },
  );

  it(
    "CSRF: the header from an origin outside the allowlist (the service's " +
      "own included, as it is not listed), or with no Origin, is refused",
    async () => {
      const { cookies } = await cookieLogin();
      for (const headers of [
        { "X-Auth-Mode": "cookie", Origin: EVIL },
        { "X-Auth-Mode": "cookie", Origin: BASE },
        { "X-Auth-Mode": "cookie" },
      ] as Record<string, string>[]) {
        const res = await call("DELETE", "/sessions", {
          headers: { ...headers, Cookie: cookieHeader(cookies, "__Host-sa_at") },
        });
        expect((await problemOf(res)).code).toBe("csrf_rejected");
      }
    },
  );

  it("with X-Auth-Mode from an allowed origin, the state change goes through", async () => {
    const { cookies } = await cookieLogin();
    const res = await call("PATCH", "/me", {
      headers: { ...COOKIE_MODE, Cookie: cookieHeader(cookies, "__Host-sa_at") },
      body: { name: "Alice" },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { name: string } }).user.name).toBe("Alice");
  });

  it("a Bearer header wins over the cookie, and needs no CSRF header (it cannot be sent cross-site)", async () => {
    const { cookies } = await cookieLogin();
    const other = await register();
    const res = await call("GET", "/me", {
      token: other.tokens.accessToken,
      headers: { Cookie: cookieHeader(cookies, "__Host-sa_at") },
    });
    expect(((await res.json()) as { user: { id: string } }).user.id).toBe(other.user.id);
    expect((await call("PATCH", "/me", { token: other.tokens.accessToken, body: { name: "Bob" } })).status).toBe(200);
    expect(claimsOf(other.tokens.accessToken).sub).toBe(other.user.id);
  });
});

describe("CORS for cookie mode", () => {
  it(
    "the preflight of an allowed origin allows X-Auth-Mode and credentials; " + "another origin gets no CORS headers",
    async () => {
      const headers = {
        Origin: APP,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "content-type, x-auth-mode",
      };
      const ok = await call("OPTIONS", "/me", { headers });
      expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(APP);
      expect(ok.headers.get("Access-Control-Allow-Credentials")).toBe("true");
      expect(ok.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("x-auth-mode");
      expect(ok.headers.get("Access-Control-Allow-Methods")).toContain("PATCH");
      const evil = await call("OPTIONS", "/me", { headers: { ...headers, Origin: EVIL } });
      expect(evil.headers.get("Access-Control-Allow-Origin")).toBeNull();
    },
  );
});
