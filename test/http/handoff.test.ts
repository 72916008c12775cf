// POST /auth/handoff: the hosted pages' signed-in session hands the app that
// sent the browser to /sign-in a one-time code, which POST /auth/exchange
// spends for a session of the app's own with the page session's amr and
// auth_time. Each rule named after the attack it stops.
import { describe, expect, it } from "vitest";
import { claimsOf, fakeClock, problemOf, STRONG_PASSWORD, testService, type TestService } from "../support/harness";
import {
  exchange,
  federationEnv,
  pkcePair,
  providerAccount,
  RETURN_URL,
  signInThrough,
  TestBrowser,
  uniqueSubject,
} from "../support/federation";

/** The hosted pages' origin as the test env allows it (ALLOWED_ORIGINS). */
const PAGES = "https://app.example.com";
const COOKIE_MODE = { "X-Auth-Mode": "cookie", Origin: PAGES };

type SignedIn = { user: { id: string; email: string }; tokens: { accessToken: string; sessionId: string } };

/** A user signed in on the hosted pages in cookie mode: the access token's cookie, as the browser sends it. */
async function pageSession(s: TestService) {
  const { email } = await s.register();
  const res = await s.call("POST", "/auth/login", {
    body: { email, password: STRONG_PASSWORD },
    headers: COOKIE_MODE,
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as SignedIn;
  const at = res.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0]!)
    .find((pair) => pair.startsWith("__Host-sa_at="))!;
  return { email, cookie: at, accessToken: at.slice("__Host-sa_at=".length), userId: body.user.id, body };
}

function handoff(s: TestService, cookie: string | null, body: unknown, headers: Record<string, string> = COOKIE_MODE) {
  return s.call("POST", "/auth/handoff", { body, headers: { ...headers, ...(cookie ? { Cookie: cookie } : {}) } });
}

/** A handoff that must succeed: the code and state it sends the browser back with. */
async function handedOff(s: TestService, cookie: string, state = "app-state-1") {
  const pkce = await pkcePair();
  const res = await handoff(s, cookie, { redirectTo: RETURN_URL, codeChallenge: pkce.challenge, state });
  expect(res.status).toBe(200);
  const { redirect } = (await res.json()) as { redirect: string };
  const url = new URL(redirect);
  return { url, code: url.searchParams.get("code")!, state: url.searchParams.get("state"), verifier: pkce.verifier };
}

describe("POST /auth/handoff", () => {
  const service = testService({ env: federationEnv() });

  it(
    "sends the browser back to redirectTo with a code and the app's state; the exchange opens a new session with " +
      "the page session's amr and auth_time",
    async () => {
      const time = fakeClock();
      const s = testService({ env: federationEnv(), clock: time.clock });
      const page = await pageSession(s);
      const pageClaims = claimsOf(page.accessToken);
      time.advance(30);

      const back = await handedOff(s, page.cookie);
      expect(back.url.origin + back.url.pathname).toBe(RETURN_URL);
      expect(back.state).toBe("app-state-1");
      expect(back.code).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const res = await exchange(s, back.code, back.verifier);
      expect(res.status).toBe(200);
      const app = (await res.json()) as SignedIn & { isNewUser: boolean };
      expect(app.user.id).toBe(page.userId);
      expect(app.isNewUser).toBe(false);
      expect(app.tokens.sessionId).not.toBe(page.body.tokens.sessionId);
      const appClaims = claimsOf(app.tokens.accessToken);
      expect(appClaims.amr).toEqual(pageClaims.amr);
      expect(appClaims.auth_time).toBe(pageClaims.auth_time);
      expect(appClaims.iat).toBeGreaterThanOrEqual((pageClaims.auth_time as number) + 30);
      // The stored session keeps that proof: a refresh answers the same auth_time.
      const [row] = await s.db.query<{ auth_time: Date; amr: string[] }>(
        "select auth_time, amr from sessions where id = $1",
        [app.tokens.sessionId],
      );
      expect(Math.floor(new Date(row!.auth_time).getTime() / 1000)).toBe(pageClaims.auth_time);
      expect(row!.amr).toEqual(pageClaims.amr);
      // Both sessions live: the page's stays signed in.
      expect((await s.call("GET", "/me", { token: page.accessToken })).status).toBe(200);
      expect((await s.call("GET", "/me", { token: app.tokens.accessToken })).status).toBe(200);
    },
  );

  it(
    "a page session a provider opened hands the app a session that names the same provider: idp, amr and " +
      "auth_time as the page's",
    async () => {
      const time = fakeClock();
      const s = testService({ env: federationEnv(), clock: time.clock });
      // The hosted page signs in through Acme (its provider button), exchanging its code in cookie mode.
      const sub = uniqueSubject("handoff-idp");
      await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
      const flow = await signInThrough(new TestBrowser(s), "acme", sub);
      const pageExchange = await exchange(s, flow.query.code!, flow.verifier, COOKIE_MODE);
      expect(pageExchange.status).toBe(200);
      const cookie = pageExchange.headers
        .getSetCookie()
        .map((line) => line.split(";")[0]!)
        .find((pair) => pair.startsWith("__Host-sa_at="))!;
      const pageClaims = claimsOf(cookie.slice("__Host-sa_at=".length));
      expect(pageClaims).toMatchObject({ amr: ["fed"], idp: "acme" });
      time.advance(30);

      const back = await handedOff(s, cookie);
      const res = await exchange(s, back.code, back.verifier);
      expect(res.status).toBe(200);
      const app = (await res.json()) as SignedIn & { tokens: { refreshToken: string } };
      const appClaims = claimsOf(app.tokens.accessToken);
      expect(appClaims.idp).toBe("acme");
      expect(appClaims.amr).toEqual(pageClaims.amr);
      expect(appClaims.auth_time).toBe(pageClaims.auth_time);
      // The app's session row keeps it, so its refreshed tokens name the provider too.
      const [row] = await s.db.query<{ idp: string | null }>("select idp from sessions where id = $1", [
        app.tokens.sessionId,
      ]);
      expect(row!.idp).toBe("acme");
      expect(claimsOf((await s.refreshOk(app.tokens.refreshToken)).accessToken).idp).toBe("acme");
    },
  );

  it("a page session a password opened hands off a session with no idp", async () => {
    const page = await pageSession(service);
    const back = await handedOff(service, page.cookie);
    const app = (await (await exchange(service, back.code, back.verifier)).json()) as SignedIn;
    expect(claimsOf(app.tokens.accessToken)).not.toHaveProperty("idp");
  });

  it.each([
    ["an unlisted URL", "https://evil.example/steal"],
    ["another path of an allowed origin", "https://app.example.com/any-page"],
    ["an allowed URL with a query", `${RETURN_URL}?next=https://evil.example`],
    ["an allowed URL with a fragment", `${RETURN_URL}#x`],
    ["not a URL", "not a url"],
  ])("a foreign redirectTo (%s) is refused with 400 validation_failed, and no code is made", async (_, redirectTo) => {
    const page = await pageSession(service);
    const { challenge } = await pkcePair();
    const res = await handoff(service, page.cookie, { redirectTo, codeChallenge: challenge });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe("validation_failed");
    expect(JSON.stringify(problem)).toContain("redirectTo");
    const [made] = await service.db.query<{ n: number }>(
      "select count(*)::int as n from oauth_codes where kind = 'handoff' and user_id = $1",
      [page.userId],
    );
    expect(made!.n).toBe(0);
  });

  it("code replay: a code exchanged twice is refused and ends the session its first exchange opened", async () => {
    const page = await pageSession(service);
    const back = await handedOff(service, page.cookie);
    const first = (await (await exchange(service, back.code, back.verifier)).json()) as SignedIn;
    expect((await service.call("GET", "/me", { token: first.tokens.accessToken })).status).toBe(200);

    const replay = await exchange(service, back.code, back.verifier);
    expect(replay.status).toBe(400);
    expect((await problemOf(replay)).code).toBe("invalid_one_time_token");
    expect((await service.call("GET", "/me", { token: first.tokens.accessToken })).status).toBe(401);
    const [ended] = await service.db.query<{ revoked_reason: string }>(
      "select revoked_reason from sessions where id = $1",
      [first.tokens.sessionId],
    );
    expect(ended!.revoked_reason).toBe("code_replayed");
    // The page's own session is not the one the code opened: it stays.
    expect((await service.call("GET", "/me", { token: page.accessToken })).status).toBe(200);
  });

  it("wrong verifier: a stolen handoff code with another verifier is refused, and spent for the app too", async () => {
    const page = await pageSession(service);
    const back = await handedOff(service, page.cookie);
    const thief = await pkcePair();
    const stolen = await exchange(service, back.code, thief.verifier);
    expect(stolen.status).toBe(400);
    expect((await problemOf(stolen)).code).toBe("invalid_one_time_token");
    expect((await problemOf(await exchange(service, back.code, back.verifier))).code).toBe("invalid_one_time_token");
  });

  it("an expired handoff code (past 60 s) is refused", async () => {
    const time = fakeClock();
    const s = testService({ env: federationEnv(), clock: time.clock });
    const page = await pageSession(s);
    const back = await handedOff(s, page.cookie);
    time.advance(61);
    expect((await problemOf(await exchange(s, back.code, back.verifier))).code).toBe("invalid_one_time_token");
  });

  it("no session: 401, and no code is made", async () => {
    const { challenge } = await pkcePair();
    const res = await handoff(service, null, { redirectTo: RETURN_URL, codeChallenge: challenge });
    expect(res.status).toBe(401);
    const forged = await handoff(service, "__Host-sa_at=not.a.token", {
      redirectTo: RETURN_URL,
      codeChallenge: challenge,
    });
    expect(forged.status).toBe(401);
  });

  it("cross-site: the cookie sent from another origin or without X-Auth-Mode: cookie is refused", async () => {
    const page = await pageSession(service);
    const { challenge } = await pkcePair();
    const body = { redirectTo: RETURN_URL, codeChallenge: challenge };
    const evil = await handoff(service, page.cookie, body, { "X-Auth-Mode": "cookie", Origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    expect((await problemOf(evil)).code).toBe("csrf_rejected");
    const noMode = await handoff(service, page.cookie, body, { Origin: PAGES });
    expect(noMode.status).toBe(403);
    expect((await problemOf(noMode)).code).toBe("csrf_rejected");
    // A bearer token does not lift the rule: the handoff is the pages' own, in cookie mode only.
    const bearer = await service.call("POST", "/auth/handoff", { body, token: page.accessToken });
    expect(bearer.status).toBe(403);
    expect((await problemOf(bearer)).code).toBe("csrf_rejected");
    const [made] = await service.db.query<{ n: number }>(
      "select count(*)::int as n from oauth_codes where kind = 'handoff' and user_id = $1",
      [page.userId],
    );
    expect(made!.n).toBe(0);
  });

  it.each([
    ["a state over 512 characters", { state: "s".repeat(513) }, "state"],
    ["a code_challenge that is not a base64url S256", { codeChallenge: "plain-verifier" }, "codeChallenge"],
  ])("%s is refused with 400 validation_failed", async (_, override, field) => {
    const page = await pageSession(service);
    const { challenge } = await pkcePair();
    const res = await handoff(service, page.cookie, { redirectTo: RETURN_URL, codeChallenge: challenge, ...override });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe("validation_failed");
    expect(JSON.stringify(problem)).toContain(field);
  });

  it("a state of exactly 512 characters comes back unchanged", async () => {
    const page = await pageSession(service);
    const state = "s".repeat(512);
    expect((await handedOff(service, page.cookie, state)).state).toBe(state);
  });
});
