// The access token's `idp` claim: the provider id, present only in the
// tokens of a session a federated sign-in opened (the browser flow's
// exchange, a native ID token, or the second step after a provider), kept
// across refreshes and re-authentication, and absent after every other
// sign-in. The session row holds it, so a refresh reads it in its one
// statement.
import { describe, expect, it } from "vitest";
import { inbox } from "../support/mail";
import { totpCode } from "../support/totp";
import { claimsOf, fakeClock, problemOf, testService, uniqueEmail } from "../support/harness";
import {
  exchange,
  federationEnv,
  nativeIdToken,
  providerAccount,
  signInThrough,
  TestBrowser,
  uniqueSubject,
} from "../support/federation";

const service = testService({ env: federationEnv() });

type SignedIn = {
  user: { id: string };
  tokens: { accessToken: string; refreshToken: string; sessionId: string };
};

async function acmeSignIn(s = service): Promise<SignedIn> {
  const sub = uniqueSubject("idp");
  await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
  const flow = await signInThrough(new TestBrowser(s), "acme", sub);
  const res = await exchange(s, flow.query.code!, flow.verifier);
  expect(res.status).toBe(200);
  return (await res.json()) as SignedIn;
}

describe("the idp claim", () => {
  it("a provider sign-in's access token names the provider; a refresh keeps it", async () => {
    const { tokens } = await acmeSignIn();
    expect(claimsOf(tokens.accessToken)).toMatchObject({ amr: ["fed"], idp: "acme" });
    const refreshed = await service.refreshOk(tokens.refreshToken);
    expect(claimsOf(refreshed.accessToken).idp).toBe("acme");
    const again = await service.refreshOk(refreshed.refreshToken);
    expect(claimsOf(again.accessToken).idp).toBe("acme");
    const [row] = await service.db.query<{ idp: string | null }>("select idp from sessions where id = $1", [
      tokens.sessionId,
    ]);
    expect(row!.idp).toBe("acme");
  });

  it("re-authentication by email code keeps the provider that opened the session", async () => {
    const sub = uniqueSubject("idp-reauth");
    const email = `${sub}@acme.example`;
    await providerAccount(sub, { email, email_verified: true });
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const { tokens } = (await (await exchange(service, flow.query.code!, flow.verifier)).json()) as SignedIn;
    const sent = await service.call("POST", "/auth/reauthenticate/email", { token: tokens.accessToken });
    expect(sent.status).toBe(202);
    let code: string | undefined;
    for (let tries = 0; !code && tries < 100; tries++) {
      const [mail] = (await inbox.all({ to: email })).filter((m) => / is your confirmation code$/.test(m.subject));
      code = mail && /^(\d{6})/.exec(mail.subject)?.[1];
      if (!code) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const res = await service.call("POST", "/auth/reauthenticate", {
      token: tokens.accessToken,
      body: { emailCode: code },
    });
    expect(res.status).toBe(200);
    const renewed = (await res.json()) as { tokens: { accessToken: string } };
    expect(claimsOf(renewed.tokens.accessToken)).toMatchObject({ amr: ["email"], idp: "acme" });
  });

  it("a native ID token's sign-in names its provider", async () => {
    const sub = uniqueSubject("idp-native");
    const nonce = `nonce-${crypto.randomUUID()}-${crypto.randomUUID()}`;
    await providerAccount(sub, { email: `${sub}@gmail.com`, email_verified: true });
    const res = await service.call("POST", "/auth/oauth/google/id-token", {
      body: { idToken: await nativeIdToken("google", "google-ios", sub, nonce), nonce },
    });
    expect(res.status).toBe(200);
    const { tokens } = (await res.json()) as SignedIn;
    expect(claimsOf(tokens.accessToken).idp).toBe("google");
  });

  it("/auth/verify answers idp among the claims", async () => {
    const { tokens } = await acmeSignIn();
    const res = await service.call("GET", "/auth/verify", { token: tokens.accessToken });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { claims: { idp?: string } }).claims.idp).toBe("acme");
  });

  it("a password login's and a registration's access tokens carry no idp, before and after a refresh", async () => {
    const registered = await service.register({ email: uniqueEmail("idp-pwd") });
    expect(claimsOf(registered.tokens.accessToken)).not.toHaveProperty("idp");
    const { tokens } = await service.login(registered.email, registered.password);
    expect(claimsOf(tokens.accessToken)).not.toHaveProperty("idp");
    const refreshed = await service.refreshOk(tokens.refreshToken);
    expect(claimsOf(refreshed.accessToken)).not.toHaveProperty("idp");
    const verified = await service.call("GET", "/auth/verify", { token: refreshed.accessToken });
    expect(((await verified.json()) as { claims: object }).claims).not.toHaveProperty("idp");
  });

  it("the second step after a provider names the provider, and refreshes keep it", async () => {
    const time = fakeClock();
    const s = testService({ env: federationEnv(), clock: time.clock });
    const sub = uniqueSubject("idp-mfa");
    await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
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
    const problem = (await problemOf(await exchange(s, second.query.code!, second.verifier))) as {
      mfaToken: string;
    };
    const done = await s.call("POST", "/auth/mfa", {
      body: { mfaToken: problem.mfaToken, code: totpCode(secret, time.now()) },
    });
    expect(done.status).toBe(200);
    const body = (await done.json()) as SignedIn;
    expect(claimsOf(body.tokens.accessToken)).toMatchObject({ amr: ["fed", "otp", "mfa"], idp: "acme" });
    expect(claimsOf((await s.refreshOk(body.tokens.refreshToken)).accessToken).idp).toBe("acme");
  });
});
