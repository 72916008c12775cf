// Federated sign-in's browser flow through the Worker against real providers
// running locally (test/setup/identity-providers.ts): the start, the
// callback, the one-time code's exchange, and each rule of the flow named
// after the attack it stops. The linking rules are in
// federation-linking.test.ts, native ID tokens and /me/identities in
// federation-native.test.ts and federation-identities.test.ts.
import { describe, expect, it } from "vitest";
import { totpCode } from "../support/totp";
import { BASE, claimsOf, fakeClock, problemOf, testService } from "../support/harness";
import {
  exchange,
  federationEnv,
  githubUser,
  OTHER_RETURN_URL,
  pkcePair,
  providerAccount,
  RETURN_URL,
  returned,
  signInThrough,
  TestBrowser,
  uniqueSubject,
} from "../support/federation";

const service = testService({ env: federationEnv() });

type SignedIn = {
  user: { id: string; email: string; emailVerified: boolean; hasPassword: boolean; name: string | null };
  tokens: { accessToken: string; refreshToken?: string; sessionId: string };
  deviceToken: string;
  isNewUser: boolean;
};

/** An account at the generic provider with a verified address. */
async function acmeAccount(claims: Record<string, unknown> = {}) {
  const sub = uniqueSubject("acme");
  const email = `${sub}@acme.example`;
  await providerAccount(sub, { email, email_verified: true, name: "Ada Acme", ...claims });
  return { sub, email };
}

/** The URL the provider sends the browser back to (the service's callback), without following it. */
async function callbackUrlOf(browser: TestBrowser, provider: string, login: string) {
  const { challenge, verifier } = await pkcePair();
  const start =
    `${BASE}/auth/oauth/${provider}?redirect_to=${encodeURIComponent(RETURN_URL)}` +
    `&code_challenge=${challenge}&state=s1`;
  const { url } = await browser.follow(start, `${BASE}/auth/oauth/${provider}/callback`, login);
  return { callback: url, verifier };
}

describe("GET /auth/providers", () => {
  it("lists the configured providers in order, built-ins first, and whether email sign-in is on", async () => {
    const res = await service.call("GET", "/auth/providers");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      providers: [
        { id: "google", name: "Google", kind: "oidc" },
        { id: "github", name: "GitHub", kind: "oauth" },
        { id: "apple", name: "Apple", kind: "oidc" },
        { id: "microsoft", name: "Microsoft", kind: "oidc" },
        { id: "acme", name: "Acme SSO", kind: "oidc" },
        { id: "untrusted", name: "Untrusted", kind: "oidc" },
      ],
      emailSignIn: true,
    });
  });

  it("says email sign-in is off when EMAIL_SIGN_IN is false, so a sign-in page offers no email code", async () => {
    const res = await testService({ env: federationEnv({ EMAIL_SIGN_IN: "false" }) }).call("GET", "/auth/providers");
    expect(((await res.json()) as { emailSignIn: boolean }).emailSignIn).toBe(false);
  });

  it("lists none when no provider is configured", async () => {
    const res = await testService().call("GET", "/auth/providers");
    expect(((await res.json()) as { providers: unknown[] }).providers).toEqual([]);
  });
});

describe("the browser flow", () => {
  it(
    "signs a new user in: 302 to the provider with state, PKCE S256 and nonce, a binding cookie, back to the " +
      "app with a code and the app's state; the exchange answers as login with amr fed and isNewUser",
    async () => {
      const { sub, email } = await acmeAccount();
      const browser = new TestBrowser(service);
      const { challenge, verifier } = await pkcePair();
      const start = await browser.request(
        `${BASE}/auth/oauth/acme?redirect_to=${encodeURIComponent(RETURN_URL)}&code_challenge=${challenge}` +
          "&code_challenge_method=S256&state=the%20app%27s%20own",
      );
      expect(start.status).toBe(302);
      expect(start.headers.get("Cache-Control")).toContain("no-store");
      const toProvider = new URL(start.headers.get("Location")!);
      expect(toProvider.searchParams.get("code_challenge_method")).toBe("S256");
      expect(toProvider.searchParams.get("code_challenge")).not.toBe(challenge);
      expect(toProvider.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(toProvider.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(toProvider.searchParams.get("redirect_uri")).toBe(`${BASE}/auth/oauth/acme/callback`);
      const [cookie] = start.headers.getSetCookie();
      expect(cookie).toMatch(/^__Host-sa_oauth_[A-Za-z0-9_-]{22}=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; /);
      expect(cookie).toContain("HttpOnly");
      expect(cookie).toContain("Secure");
      expect(cookie).toContain("SameSite=None");
      // Stored hashed: the cookie's value is nowhere in the database.
      const [flow] = await service.db.query<{ binding_hash: string }>(
        "select binding_hash from oauth_flows order by created_at desc limit 1",
      );
      expect(flow!.binding_hash).not.toBe(cookie!.split(";")[0]!.split("=")[1]);

      const { url } = await browser.follow(toProvider.href, RETURN_URL, sub);
      const query = returned(url);
      expect(query.state).toBe("the app's own");
      expect(query.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // The binding cookie is spent with its flow.
      expect(browser.jar.names(BASE, "__Host-sa_oauth_")).toEqual([]);

      const res = await exchange(service, query.code!, verifier);
      expect(res.status).toBe(200);
      const body = (await res.json()) as SignedIn;
      expect(body.isNewUser).toBe(true);
      expect(body.user).toMatchObject({ email, emailVerified: true, hasPassword: false, name: "Ada Acme" });
      expect(body.deviceToken).toMatch(/^sadt_/);
      expect(claimsOf(body.tokens.accessToken)).toMatchObject({ amr: ["fed"], sub: body.user.id });
      const [login] = await service.db.auditRows({ userId: body.user.id, event: "auth.federated_login" });
      expect(login!.metadata).toEqual({ provider: "acme", identityId: expect.any(String), isNewUser: true });
    },
  );

  it("a second sign-in through the same identity opens the same account, isNewUser false", async () => {
    const { sub } = await acmeAccount();
    const first = await signInThrough(new TestBrowser(service), "acme", sub);
    const a = (await (await exchange(service, first.query.code!, first.verifier)).json()) as SignedIn;
    const second = await signInThrough(new TestBrowser(service), "acme", sub);
    const b = (await (await exchange(service, second.query.code!, second.verifier)).json()) as SignedIn;
    expect(b.user.id).toBe(a.user.id);
    expect(b.isNewUser).toBe(false);
  });

  it("two tabs signing in at once each keep their own flow and cookie", async () => {
    const { sub } = await acmeAccount();
    const browser = new TestBrowser(service);
    const one = await callbackUrlOf(browser, "acme", sub);
    const two = await callbackUrlOf(browser, "acme", sub);
    expect(browser.jar.names(BASE, "__Host-sa_oauth_")).toHaveLength(2);
    for (const tab of [two, one]) {
      const res = await browser.request(tab.callback);
      expect(res.status).toBe(302);
      expect(returned(res.headers.get("Location")!).code).toBeDefined();
    }
  });

  it("a provider's account without the password: password login answers invalid_credentials", async () => {
    const { sub, email } = await acmeAccount();
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    expect((await exchange(service, flow.query.code!, flow.verifier)).status).toBe(200);
    const res = await service.call("POST", "/auth/login", { body: { email, password: "!" } });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_credentials");
  });

  it("in cookie mode (X-Auth-Mode: cookie, an allowed Origin) the exchange sets the session cookies", async () => {
    const { sub } = await acmeAccount();
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const res = await exchange(service, flow.query.code!, flow.verifier, {
      "X-Auth-Mode": "cookie",
      Origin: "https://app.example.com",
    });
    expect(res.status).toBe(200);
    const names = res.headers.getSetCookie().map((c) => c.split("=")[0]);
    expect(names).toEqual(expect.arrayContaining(["__Host-sa_rt", "__Host-sa_at", "__Host-sa_dev"]));
    expect(((await res.json()) as SignedIn).tokens.refreshToken).toBeUndefined();
  });

  it("cookie-mode CSRF: an exchange setting cookies from an origin outside the allowlist is refused", async () => {
    const { sub } = await acmeAccount();
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const res = await exchange(service, flow.query.code!, flow.verifier, {
      "X-Auth-Mode": "cookie",
      Origin: "https://evil.example",
    });
    expect((await problemOf(res)).code).toBe("csrf_rejected");
  });

  it(
    "a second factor: the provider is one factor, so the exchange answers mfa_required, and TOTP completes it " +
      'with amr ["fed","otp","mfa"]',
    async () => {
      const time = fakeClock();
      const s = testService({ env: federationEnv(), clock: time.clock });
      const { sub } = await acmeAccount();
      const first = await signInThrough(new TestBrowser(s), "acme", sub);
      const { tokens } = (await (await exchange(s, first.query.code!, first.verifier)).json()) as SignedIn;
      const { secret } = (await (await s.call("POST", "/me/mfa/totp", { token: tokens.accessToken })).json()) as {
        secret: string;
      };
      const confirm = await s.call("POST", "/me/mfa/totp/confirm", {
        token: tokens.accessToken,
        body: { code: totpCode(secret, time.now()) },
      });
      expect(confirm.status).toBe(200);
      time.advance(30);

      const second = await signInThrough(new TestBrowser(s), "acme", sub);
      const refused = await exchange(s, second.query.code!, second.verifier);
      expect(refused.status).toBe(403);
      const problem = (await problemOf(refused)) as { code: string; mfaToken: string; methods: string[] };
      expect(problem).toMatchObject({ code: "mfa_required", methods: ["totp", "recovery_code"] });
      const done = await s.call("POST", "/auth/mfa", {
        body: { mfaToken: problem.mfaToken, code: totpCode(secret, time.now()) },
      });
      expect(done.status).toBe(200);
      const body = (await done.json()) as SignedIn;
      expect(claimsOf(body.tokens.accessToken).amr).toEqual(["fed", "otp", "mfa"]);
    },
  );

  it("a provider that refuses returns to the app with error=identity_provider_error and the app's state", async () => {
    // The GitHub stand-in refuses an unknown account (access_denied).
    const flow = await signInThrough(new TestBrowser(service), "github", "nobody-at-github");
    expect(flow.query).toMatchObject({ error: "identity_provider_error", state: "app-state-1" });
    expect(flow.query.error_description).toBeTruthy();
    expect(flow.query.code).toBeUndefined();
  });

  it("GitHub: signs in with the verified primary address, keyed on GitHub's numeric id", async () => {
    const id = 100_000 + Math.floor(Math.random() * 1_000_000);
    const login = `octo-${id}`;
    await githubUser({
      id,
      login,
      name: "Octo Cat",
      emails: [
        { email: `${login}@old.example`, primary: false, verified: true },
        { email: `${login}@github.example`, primary: true, verified: true },
      ],
    });
    const flow = await signInThrough(new TestBrowser(service), "github", login);
    const body = (await (await exchange(service, flow.query.code!, flow.verifier)).json()) as SignedIn;
    expect(body.user).toMatchObject({ email: `${login}@github.example`, emailVerified: true, name: "Octo Cat" });
    const [identity] = await service.db.query<{ subject: string; issuer: string }>(
      "select subject, issuer from user_identities where user_id = $1",
      [body.user.id],
    );
    expect(identity).toMatchObject({ subject: String(id) });
  });
});

describe("the flow's attacks", () => {
  it(
    "login CSRF: a callback in a browser without the flow's binding cookie " + "is refused, answered directly",
    async () => {
      const { sub } = await acmeAccount();
      // The attacker runs the flow to the callback with their own account, then plants the callback URL on the victim.
      const { callback } = await callbackUrlOf(new TestBrowser(service), "acme", sub);
      const victim = new TestBrowser(service);
      const res = await victim.request(callback);
      expect(res.status).toBe(400);
      expect(res.headers.get("Location")).toBeNull();
      expect((await problemOf(res)).code).toBe("invalid_oauth_state");
    },
  );

  it("state/cookie mismatch: another flow's binding cookie does not complete this flow", async () => {
    const { sub } = await acmeAccount();
    const attacker = new TestBrowser(service);
    const { callback } = await callbackUrlOf(attacker, "acme", sub);
    const victim = new TestBrowser(service);
    await callbackUrlOf(victim, "acme", sub);
    // The victim's own cookie, under the attacker's flow's name.
    const [attackerCookie] = attacker.jar.names(BASE, "__Host-sa_oauth_");
    const [victimCookie] = victim.jar.names(BASE, "__Host-sa_oauth_");
    const value = victim.jar.byHost.get(new URL(BASE).host)!.get(victimCookie!)!;
    victim.jar.byHost.get(new URL(BASE).host)!.set(attackerCookie!, value);
    const res = await victim.request(callback);
    expect((await problemOf(res)).code).toBe("invalid_oauth_state");
  });

  it("forged state: a callback with a state the service never issued is refused", async () => {
    const res = await service.call("GET", "/auth/oauth/acme/callback?code=anything&state=forged-state-value");
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("invalid_oauth_state");
  });

  it("replayed state: a callback presented again is refused (the flow is single use)", async () => {
    const { sub } = await acmeAccount();
    const browser = new TestBrowser(service);
    const { callback } = await callbackUrlOf(browser, "acme", sub);
    const jar = new Map(browser.jar.byHost.get(new URL(BASE).host));
    expect((await browser.request(callback)).status).toBe(302);
    browser.jar.byHost.set(new URL(BASE).host, jar);
    expect((await problemOf(await browser.request(callback))).code).toBe("invalid_oauth_state");
  });

  it("code replay: a code exchanged twice is refused and ends the session the first exchange opened", async () => {
    const { sub } = await acmeAccount();
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const first = (await (await exchange(service, flow.query.code!, flow.verifier)).json()) as SignedIn;
    expect((await service.call("GET", "/me", { token: first.tokens.accessToken })).status).toBe(200);

    const replay = await exchange(service, flow.query.code!, flow.verifier);
    expect(replay.status).toBe(400);
    expect((await problemOf(replay)).code).toBe("invalid_one_time_token");
    expect((await service.call("GET", "/me", { token: first.tokens.accessToken })).status).toBe(401);
    expect((await service.refresh(first.tokens.refreshToken!)).status).toBe(401);
    const [ended] = await service.db.query<{ revoked_reason: string }>(
      "select revoked_reason from sessions where id = $1",
      [first.tokens.sessionId],
    );
    expect(ended!.revoked_reason).toBe("code_replayed");
  });

  it("wrong verifier: a stolen code with another verifier is refused, and spent for its owner too", async () => {
    const { sub } = await acmeAccount();
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const thief = await pkcePair();
    const stolen = await exchange(service, flow.query.code!, thief.verifier);
    expect((await problemOf(stolen)).code).toBe("invalid_one_time_token");
    expect((await problemOf(await exchange(service, flow.query.code!, flow.verifier))).code).toBe(
      "invalid_one_time_token",
    );
  });

  it("an expired code (past 60 s) is refused", async () => {
    const time = fakeClock();
    const s = testService({ env: federationEnv(), clock: time.clock });
    const { sub } = await acmeAccount();
    const flow = await signInThrough(new TestBrowser(s), "acme", sub);
    time.advance(61);
    expect((await problemOf(await exchange(s, flow.query.code!, flow.verifier))).code).toBe("invalid_one_time_token");
  });

  it.each([
    ["an unlisted URL", "https://evil.example/steal"],
    ["another path of an allowed origin", "https://app.example.com/any-page"],
    ["an allowed URL with a query", `${RETURN_URL}?next=/admin`],
    ["an allowed URL with a fragment", `${RETURN_URL}#x`],
    ["an allowed URL with a trailing slash", `${RETURN_URL}/`],
  ])("redirect_to not exact (%s): 400 validation_failed, and the browser goes nowhere", async (_name, target) => {
    const { challenge } = await pkcePair();
    const res = await service.call(
      "GET",
      `/auth/oauth/acme?redirect_to=${encodeURIComponent(target)}&code_challenge=${challenge}`,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("Location")).toBeNull();
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((await problemOf(res)) as { errors: unknown }).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "redirect_to" }],
    });
  });

  it("accepts every listed URL exactly, loopback http included", async () => {
    const flow = await signInThrough(new TestBrowser(service), "acme", (await acmeAccount()).sub, {
      redirectTo: OTHER_RETURN_URL,
    });
    expect(flow.url.startsWith(`${OTHER_RETURN_URL}?`)).toBe(true);
  });

  it.each([
    ["no code_challenge", "redirect_to=R"],
    ["the plain method", "redirect_to=R&code_challenge=C&code_challenge_method=plain"],
    ["a challenge that is no S256", "redirect_to=R&code_challenge=short"],
    ["a state over 512 characters", `redirect_to=R&code_challenge=C&state=${"s".repeat(513)}`],
  ])("refuses a start with %s (400 validation_failed)", async (_name, query) => {
    const { challenge } = await pkcePair();
    const filled = query.replace("=R", `=${encodeURIComponent(RETURN_URL)}`).replace("=C", `=${challenge}`);
    const path = `/auth/oauth/acme?${filled}`;
    const res = await service.call("GET", path);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });

  it("flooding: flow starts and exchanges are limited per client network (429 past the limit)", async () => {
    const { challenge, verifier } = await pkcePair();
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const start = () =>
      service.call(
        "GET",
        `/auth/oauth/acme?redirect_to=${encodeURIComponent(RETURN_URL)}&code_challenge=${challenge}`,
        {
          headers: { "CF-Connecting-IP": ip },
        },
      );
    const starts: number[] = [];
    for (let i = 0; i < 31; i++) starts.push((await start()).status);
    expect(starts.slice(0, 30).every((status) => status === 302)).toBe(true);
    expect(starts[30]).toBe(429);
    const exchanges: number[] = [];
    for (let i = 0; i < 31; i++)
      exchanges.push(
        (
          await service.call("POST", "/auth/exchange", {
            body: { code: `guess-${i}`, codeVerifier: verifier },
            headers: { "CF-Connecting-IP": ip },
          })
        ).status,
      );
    expect(exchanges.slice(0, 30).every((status) => status === 400)).toBe(true);
    expect(exchanges[30]).toBe(429);
  });

  it("an unknown provider is 404", async () => {
    const { challenge } = await pkcePair();
    const res = await service.call(
      "GET",
      `/auth/oauth/nowhere?redirect_to=${encodeURIComponent(RETURN_URL)}&code_challenge=${challenge}`,
    );
    expect(res.status).toBe(404);
  });

  it("the callback's form_post takes a form body without an allowed Origin; JSON elsewhere is unchanged", async () => {
    const res = await service.call("POST", "/auth/oauth/apple/callback", {
      rawBody: "state=forged&code=x",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://appleid.apple.com" },
    });
    expect((await problemOf(res)).code).toBe("invalid_oauth_state");
    const login = await service.call("POST", "/auth/login", {
      rawBody: "email=a&password=b",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(login.status).toBe(415);
  });

  it("the daily maintenance prunes flows and codes a day after they expired", async () => {
    const { sub } = await acmeAccount();
    await signInThrough(new TestBrowser(service), "acme", sub);
    const [before] = await service.db.query<{ n: number }>("select count(*)::int as n from oauth_codes");
    expect(before!.n).toBeGreaterThan(0);
    await service.scheduled(new Date(Date.now() + 2 * 24 * 3600_000));
    const [flows] = await service.db.query<{ n: number }>("select count(*)::int as n from oauth_flows");
    const [codes] = await service.db.query<{ n: number }>("select count(*)::int as n from oauth_codes");
    expect({ flows: flows!.n, codes: codes!.n }).toEqual({ flows: 0, codes: 0 });
  });
});
