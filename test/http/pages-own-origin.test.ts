// The hosted pages call the API from the service's own origin in cookie mode:
// that origin is trusted by the CSRF rule without the operator listing it in
// ALLOWED_ORIGINS (PUBLIC_URL's origin, or on a loopback host the request's
// own, as the providers' callback URL is found), and no other origin is.
import { describe, expect, it } from "vitest";
import { BASE, problemOf, STRONG_PASSWORD, testService, type TestService } from "../support/harness";
import { pkcePair, RETURN_URL } from "../support/federation";

/** ALLOWED_ORIGINS lists the apps only (the test env's https://app.example.com), never the service itself. */
const OWN_ORIGIN_ENV = { PUBLIC_URL: BASE, REDIRECT_URLS: RETURN_URL };
const EVIL = "https://evil.example.net";

const cookieMode = (origin: string) => ({ "X-Auth-Mode": "cookie", Origin: origin });

/** The `name=value` pairs of an answer's Set-Cookie headers, as a browser would send them back. */
function cookiesOf(res: Response): Record<string, string> {
  const pairs = res.headers.getSetCookie().map((line) => line.split(";")[0]!);
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair]));
}

/** POST /auth/login in cookie mode from `origin` (through `base`, the URL the request is sent to). */
async function pageLogin(s: TestService, origin: string, base = BASE) {
  const { email } = await s.register();
  return s.fetch(
    new Request(`${base}/auth/login`, {
      method: "POST",
      headers: { ...cookieMode(origin), "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: STRONG_PASSWORD }),
    }),
  );
}

describe("the hosted pages on the service's own origin, which ALLOWED_ORIGINS does not list", () => {
  const s = testService({ env: OWN_ORIGIN_ENV });

  it("sign in, hand off to an app, refresh and log out in cookie mode from PUBLIC_URL's origin", async () => {
    const login = await pageLogin(s, BASE);
    expect(login.status).toBe(200);
    const cookies = cookiesOf(login);
    expect(Object.keys(cookies)).toEqual(expect.arrayContaining(["__Host-sa_at", "__Host-sa_rt"]));

    const pkce = await pkcePair();
    const handoff = await s.call("POST", "/auth/handoff", {
      headers: { ...cookieMode(BASE), Cookie: cookies["__Host-sa_at"]! },
      body: { redirectTo: RETURN_URL, codeChallenge: pkce.challenge },
    });
    expect(handoff.status).toBe(200);

    const refreshed = await s.call("POST", "/auth/refresh", {
      headers: { ...cookieMode(BASE), Cookie: cookies["__Host-sa_rt"]! },
    });
    expect(refreshed.status).toBe(200);
    const logout = await s.call("POST", "/auth/logout", {
      headers: { ...cookieMode(BASE), Cookie: cookiesOf(refreshed)["__Host-sa_rt"]! },
    });
    expect(logout.status).toBe(204);
  });

  it("on a loopback host without PUBLIC_URL (npm run dev), the request's own origin", async () => {
    const local = testService({ env: { PUBLIC_URL: "", ALLOWED_ORIGINS: "" } });
    const res = await pageLogin(local, "http://localhost:8787", "http://localhost:8787");
    expect(res.status).toBe(200);
    expect(Object.keys(cookiesOf(res))).toContain("__Host-sa_rt");
  });
});

describe("trusting the service's own origin trusts no other", () => {
  const s = testService({ env: OWN_ORIGIN_ENV });

  it("a cross-site page posting with the victim's page cookies is refused: 403 csrf_rejected", async () => {
    const login = await pageLogin(s, BASE);
    const cookies = cookiesOf(login);
    const pkce = await pkcePair();
    const handoff = await s.call("POST", "/auth/handoff", {
      headers: { ...cookieMode(EVIL), Cookie: cookies["__Host-sa_at"]! },
      body: { redirectTo: RETURN_URL, codeChallenge: pkce.challenge },
    });
    expect(handoff.status).toBe(403);
    expect((await problemOf(handoff)).code).toBe("csrf_rejected");
    const refreshed = await s.call("POST", "/auth/refresh", {
      headers: { ...cookieMode(EVIL), Cookie: cookies["__Host-sa_rt"]! },
    });
    expect(refreshed.status).toBe(403);
  });

  it("a login CSRF from a lookalike of the service's origin (another scheme, port or host) is refused", async () => {
    for (const origin of [EVIL, "http://auth.test", "https://auth.test:8443", "https://auth.test.evil.example"]) {
      const res = await pageLogin(s, origin);
      expect(res.status, origin).toBe(403);
      expect((await problemOf(res)).code).toBe("csrf_rejected");
    }
  });

  it("on loopback, another local port is another origin: a page on http://localhost:9999 is refused", async () => {
    const local = testService({ env: { PUBLIC_URL: "", ALLOWED_ORIGINS: "" } });
    const res = await pageLogin(local, "http://localhost:9999", "http://localhost:8787");
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("csrf_rejected");
  });

  it("off loopback without PUBLIC_URL, the Host a request names does not vouch for its Origin", async () => {
    const unset = testService({ env: { PUBLIC_URL: "" } });
    const res = await pageLogin(unset, BASE);
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("csrf_rejected");
  });
});
