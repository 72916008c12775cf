// A signed-in user's provider identities (/me/identities) through the Worker
// against the local providers: listing, linking with a code only the same
// user redeems, and unlinking short of the account's last way in.
import { describe, expect, it } from "vitest";
import { inbox } from "../support/mail";
import { problemOf, testService, uniqueEmail } from "../support/harness";
import {
  exchange,
  federationEnv,
  pkcePair,
  providerAccount,
  RETURN_URL,
  returned,
  signInThrough,
  TestBrowser,
  uniqueSubject,
} from "../support/federation";

const service = testService({ env: federationEnv() });

type Identity = { id: string; provider: string; email: string | null; createdAt: string; lastUsedAt: string | null };

/** A password account with a verified address, signed in. */
async function verifiedAccount() {
  const account = await service.register({ email: uniqueEmail("owner") });
  await service.db.markEmailVerified(account.user.id);
  return account;
}

/** POST /me/identities/{provider} for the caller, the browser sent on as `login` at the provider, back to the app. */
async function linkFlow(token: string, provider: string, login: string) {
  const { verifier, challenge } = await pkcePair();
  const res = await service.call("POST", `/me/identities/${provider}`, {
    token,
    body: { redirectTo: RETURN_URL, codeChallenge: challenge, state: "linking" },
  });
  expect(res.status).toBe(200);
  const { url } = (await res.json()) as { url: string };
  const { url: back } = await new TestBrowser(service).follow(url, RETURN_URL, login);
  return { query: returned(back), verifier };
}

const complete = (token: string, code: string, codeVerifier: string) =>
  service.call("POST", "/me/identities/complete", { token, body: { code, codeVerifier } });

const identities = async (token: string) =>
  ((await (await service.call("GET", "/me/identities", { token })).json()) as { identities: Identity[] }).identities;

describe("linking from a signed-in account", () => {
  it("links a provider with a code only the caller redeems, mails the notice, and lists it", async () => {
    const owner = await verifiedAccount();
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: `${sub}@elsewhere.example`, email_verified: true });
    await inbox.clear();
    const { query, verifier } = await linkFlow(owner.tokens.accessToken, "acme", sub);
    expect(query).toMatchObject({ state: "linking", code: expect.any(String) });
    const res = await complete(owner.tokens.accessToken, query.code!, verifier);
    expect(res.status).toBe(200);
    const { identity } = (await res.json()) as { identity: Identity };
    expect(identity).toMatchObject({ provider: "acme", email: `${sub}@elsewhere.example` });
    expect(await identities(owner.tokens.accessToken)).toEqual([identity]);
    await inbox.waitFor({ to: owner.email, subject: "Acme SSO was linked to your account" });
    // The provider now signs in to this account.
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const signedIn = (await (await exchange(service, flow.query.code!, flow.verifier)).json()) as {
      user: { id: string };
    };
    expect(signedIn.user.id).toBe(owner.user.id);
  });

  it(
    "link URL opened by another user linking nothing: a code completed by someone else is refused and " +
      "spends nothing",
    async () => {
      const attacker = await verifiedAccount();
      const victim = await verifiedAccount();
      const sub = uniqueSubject("acme");
      await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
      // The attacker's link flow, run in the victim's browser with the victim's provider account.
      const { query, verifier } = await linkFlow(attacker.tokens.accessToken, "acme", sub);
      const refused = await complete(victim.tokens.accessToken, query.code!, verifier);
      expect(refused.status).toBe(400);
      expect((await problemOf(refused)).code).toBe("invalid_one_time_token");
      expect(await identities(victim.tokens.accessToken)).toEqual([]);
      // A wrong verifier spends nothing either; the code's own caller still can.
      const wrong = await pkcePair();
      expect((await complete(attacker.tokens.accessToken, query.code!, wrong.verifier)).status).toBe(400);
      expect((await complete(attacker.tokens.accessToken, query.code!, verifier)).status).toBe(200);
      expect((await complete(attacker.tokens.accessToken, query.code!, verifier)).status).toBe(400);
    },
  );

  it("a link flow's callback needs no binding cookie: its code is bound to the caller instead", async () => {
    const owner = await verifiedAccount();
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
    const { query } = await linkFlow(owner.tokens.accessToken, "acme", sub);
    expect(query.code).toBeDefined();
  });

  it("409 account_link_required when the identity belongs to another account", async () => {
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: uniqueEmail("taken"), email_verified: true });
    const first = await signInThrough(new TestBrowser(service), "acme", sub);
    expect((await exchange(service, first.query.code!, first.verifier)).status).toBe(200);
    const owner = await verifiedAccount();
    const { query, verifier } = await linkFlow(owner.tokens.accessToken, "acme", sub);
    const res = await complete(owner.tokens.accessToken, query.code!, verifier);
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("account_link_required");
  });

  it("needs a verified address (403 email_not_verified) and an exact redirect URL", async () => {
    const unverified = await service.register({ email: uniqueEmail("unverified") });
    const { challenge } = await pkcePair();
    const res = await service.call("POST", "/me/identities/acme", {
      token: unverified.tokens.accessToken,
      body: { redirectTo: RETURN_URL, codeChallenge: challenge },
    });
    expect((await problemOf(res)).code).toBe("email_not_verified");
    const owner = await verifiedAccount();
    const off = await service.call("POST", "/me/identities/acme", {
      token: owner.tokens.accessToken,
      body: { redirectTo: `${RETURN_URL}/x`, codeChallenge: challenge },
    });
    expect((await problemOf(off)).code).toBe("validation_failed");
  });
});

describe("DELETE /me/identities/{id}", () => {
  it("unlinks one of the caller's identities with an identity.unlinked row; 404 for another's", async () => {
    const owner = await verifiedAccount();
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
    const { query, verifier } = await linkFlow(owner.tokens.accessToken, "acme", sub);
    const { identity } = (await (await complete(owner.tokens.accessToken, query.code!, verifier)).json()) as {
      identity: Identity;
    };
    const stranger = await verifiedAccount();
    const theirs = await service.call("DELETE", `/me/identities/${identity.id}`, {
      token: stranger.tokens.accessToken,
    });
    expect(theirs.status).toBe(404);
    const res = await service.call("DELETE", `/me/identities/${identity.id}`, { token: owner.tokens.accessToken });
    expect(res.status).toBe(204);
    expect(await identities(owner.tokens.accessToken)).toEqual([]);
    const [row] = await service.db.auditRows({ userId: owner.user.id, event: "identity.unlinked" });
    expect(row!.metadata).toEqual({ provider: "acme", identityId: identity.id });
  });

  it("with email sign-in on, a provider account's only identity may go: email codes still sign it in", async () => {
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: uniqueEmail("only"), email_verified: true });
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const { tokens } = (await (await exchange(service, flow.query.code!, flow.verifier)).json()) as {
      tokens: { accessToken: string };
    };
    const [identity] = await identities(tokens.accessToken);
    expect((await service.call("DELETE", `/me/identities/${identity!.id}`, { token: tokens.accessToken })).status).toBe(
      204,
    );
  });

  it("last_credential: with email sign-in off, the only way into an account is never unlinked", async () => {
    const emailOff = testService({ env: federationEnv({ EMAIL_SIGN_IN: "false" }) });
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: uniqueEmail("last"), email_verified: true });
    const flow = await signInThrough(new TestBrowser(emailOff), "acme", sub);
    const { user, tokens } = (await (await exchange(emailOff, flow.query.code!, flow.verifier)).json()) as {
      user: { id: string };
      tokens: { accessToken: string };
    };
    const [identity] = await identities(tokens.accessToken);
    const refused = await emailOff.call("DELETE", `/me/identities/${identity!.id}`, { token: tokens.accessToken });
    expect(refused.status).toBe(409);
    expect((await problemOf(refused)).code).toBe("last_credential");
    expect(await identities(tokens.accessToken)).toHaveLength(1);
    // A password is another way in.
    await emailOff.db.query("update users set password_hash = 'argon2id-stand-in' where id = $1", [user.id]);
    const unlinked = await emailOff.call("DELETE", `/me/identities/${identity!.id}`, { token: tokens.accessToken });
    expect(unlinked.status).toBe(204);
  });
});
