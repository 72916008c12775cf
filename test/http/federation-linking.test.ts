// Which account a provider identity signs in to, through the Worker against
// the local stand-ins for Google, Microsoft, Apple, GitHub and a generic
// OpenID provider: each linking rule of the contract, and what counts as a
// verified email at each provider, named after the attack it stops.
import { describe, expect, it } from "vitest";
import { inbox } from "../support/mail";
import { claimsOf, problemOf, testService, uniqueEmail } from "../support/harness";
import {
  appleRevocations,
  exchange,
  federationEnv,
  githubUser,
  MICROSOFT_TENANT,
  providerAccount,
  signInThrough,
  TestBrowser,
  uniqueSubject,
} from "../support/federation";

const service = testService({ env: federationEnv() });

type SignedIn = {
  user: { id: string; email: string; emailVerified: boolean; hasPassword: boolean; name: string | null };
  tokens: { accessToken: string; refreshToken: string; sessionId: string };
  isNewUser: boolean;
};

/** Through `provider` as a new account at it with these claims; the app's return and the exchange, if a code came. */
async function signInAs(provider: string, claims: Record<string, unknown>, sub = uniqueSubject(provider)) {
  await providerAccount(sub, claims);
  const flow = await signInThrough(new TestBrowser(service), provider, sub);
  if (!flow.query.code) return { query: flow.query, signedIn: undefined, sub };
  const res = await exchange(service, flow.query.code, flow.verifier);
  expect(res.status).toBe(200);
  return { query: flow.query, signedIn: (await res.json()) as SignedIn, sub };
}

/** A password account; its address verified when asked. */
async function passwordAccount(verified: boolean) {
  const account = await service.register({ email: uniqueEmail("holder") });
  if (verified) await service.db.markEmailVerified(account.user.id);
  return account;
}

const identitiesOf = (userId: string) =>
  service.db.query<{ provider: string; subject: string; issuer: string; refresh_token_ciphertext: string | null }>(
    "select provider, subject, issuer, refresh_token_ciphertext from user_identities where user_id = $1",
    [userId],
  );

describe("a verified email from a provider trusted for email", () => {
  it("joins the account with that verified email, and mails the address a notice", async () => {
    const holder = await passwordAccount(true);
    await inbox.clear();
    const { signedIn } = await signInAs("acme", { email: holder.email, email_verified: true });
    expect(signedIn!.user.id).toBe(holder.user.id);
    expect(signedIn!.isNewUser).toBe(false);
    expect(signedIn!.user.hasPassword).toBe(true);
    const notice = await inbox.waitFor({ to: holder.email, subject: "Acme SSO was linked to your account" });
    expect(notice.text).toContain("Acme SSO");
    const [linked] = await service.db.auditRows({ userId: holder.user.id, event: "identity.linked" });
    expect(linked!.metadata).toEqual({ provider: "acme", identityId: expect.any(String) });
  });

  it(
    "unverified-email account claimed by proof: the provider's proof of the address ends what its unproven " +
      "holder set up (sessions, password) and links the identity",
    async () => {
      // A squatter registered the victim's address with a password and never verified it.
      const squatter = await passwordAccount(false);
      const { signedIn } = await signInAs("acme", { email: squatter.email, email_verified: true });
      expect(signedIn!.user).toMatchObject({ id: squatter.user.id, emailVerified: true, hasPassword: false });
      // The squatter's session and password are gone.
      expect((await service.refresh(squatter.tokens.refreshToken)).status).toBe(401);
      const login = await service.call("POST", "/auth/login", {
        body: { email: squatter.email, password: squatter.password },
      });
      expect((await problemOf(login)).code).toBe("invalid_credentials");
      const [claim] = await service.db.auditRows({ userId: squatter.user.id, event: "user.claimed_by_proof" });
      expect(claim!.metadata).toMatchObject({ proof: "federated_sign_in", sessions: 1, passwordEnded: true });
      expect(await identitiesOf(squatter.user.id)).toHaveLength(1);
    },
  );

  it("no account with that email: a new account, email verified, no password", async () => {
    const email = uniqueEmail("fresh");
    const { signedIn } = await signInAs("acme", { email, email_verified: true, name: "Fresh" });
    expect(signedIn).toMatchObject({ isNewUser: true, user: { email, emailVerified: true, hasPassword: false } });
  });
});

describe("an email the provider does not assert, or a provider not trusted for email", () => {
  it("account_link_required: an untrusted provider's verified email never joins an existing account", async () => {
    const holder = await passwordAccount(true);
    const { query } = await signInAs("untrusted", { email: holder.email, email_verified: true });
    expect(query).toMatchObject({ error: "account_link_required", state: "app-state-1" });
    expect(await identitiesOf(holder.user.id)).toEqual([]);
  });

  it("account_link_required: an unverified provider email that matches an account does not link", async () => {
    const holder = await passwordAccount(false);
    const { query } = await signInAs("acme", { email: holder.email, email_verified: false });
    expect(query.error).toBe("account_link_required");
    // Nothing of the holder's ended.
    expect((await service.refresh(holder.tokens.refreshToken)).status).toBe(200);
  });

  it("no account: a new account with the email unverified", async () => {
    const email = uniqueEmail("unproven");
    const { signedIn } = await signInAs("untrusted", { email, email_verified: true });
    expect(signedIn).toMatchObject({ isNewUser: true, user: { email, emailVerified: false } });
  });
});

describe("what counts as a verified email, provider by provider", () => {
  it("Google: a verified address of a domain Google is no authority for (no hd, not gmail) does not link", async () => {
    const holder = await passwordAccount(true);
    const { query } = await signInAs("google", { email: holder.email, email_verified: true });
    expect(query.error).toBe("account_link_required");
  });

  it("Google: a Workspace account (hd) or a gmail.com address links", async () => {
    const holder = await passwordAccount(true);
    const { signedIn } = await signInAs("google", {
      email: holder.email,
      email_verified: true,
      hd: "example.com",
    });
    expect(signedIn!.user.id).toBe(holder.user.id);
    const gmail = `${uniqueSubject("g")}@gmail.com`;
    const { signedIn: fresh } = await signInAs("google", { email: gmail, email_verified: true });
    expect(fresh!.user).toMatchObject({ email: gmail, emailVerified: true });
  });

  it("Microsoft email without xms_edov not linking: an admin-typed address is no proof (nOAuth)", async () => {
    const holder = await passwordAccount(true);
    const { query } = await signInAs("microsoft", {
      email: holder.email,
      email_verified: true,
      tid: MICROSOFT_TENANT,
    });
    expect(query.error).toBe("account_link_required");
    expect(await identitiesOf(holder.user.id)).toEqual([]);
  });

  it("Microsoft with xms_edov: links, the issuer validated as the tenant's (multi-tenant template)", async () => {
    const holder = await passwordAccount(true);
    const { signedIn } = await signInAs("microsoft", {
      email: holder.email,
      xms_edov: true,
      tid: MICROSOFT_TENANT,
    });
    expect(signedIn!.user.id).toBe(holder.user.id);
    const [identity] = await identitiesOf(holder.user.id);
    expect(identity!.issuer).toMatch(new RegExp(`/ms/${MICROSOFT_TENANT}/v2\\.0$`));
  });

  it("Microsoft: a token whose tid is no tenant id is refused (the issuer cannot be validated)", async () => {
    const { query } = await signInAs("microsoft", { email: uniqueEmail("ms"), xms_edov: true, tid: "common" });
    expect(query.error).toBe("identity_provider_error");
  });

  it(
    'Apple: form_post, email_verified as the string "true" links, the name only on the first sign-in, the ' +
      "refresh token kept sealed and revoked at Apple when the account is deleted",
    async () => {
      const holder = await passwordAccount(true);
      const sub = uniqueSubject("apple");
      const claims = { email: holder.email, email_verified: "true", given_name: "Ada", family_name: "Lovelace" };
      const { signedIn } = await signInAs("apple", claims, sub);
      expect(signedIn!.user.id).toBe(holder.user.id);
      const [identity] = await identitiesOf(holder.user.id);
      expect(identity!.refresh_token_ciphertext).toMatch(/^v1\./);
      const [row] = await service.db.query<{ name: string | null }>(
        "select name from user_identities where user_id = $1",
        [holder.user.id],
      );
      expect(row!.name).toBe("Ada Lovelace");

      const fresh = uniqueEmail("apple-new");
      const { signedIn: created } = await signInAs("apple", { ...claims, email: fresh, email_verified: true });
      expect(created!.user).toMatchObject({ email: fresh, emailVerified: true, name: "Ada Lovelace" });

      // Deleting the account revokes the app's Apple grant (App Store rule 5.1.1(v)).
      const before = await appleRevocations();
      const res = await service.call("DELETE", "/me", {
        token: (await service.login(holder.email, holder.password)).tokens.accessToken,
        body: { currentPassword: holder.password },
      });
      expect(res.status).toBe(204);
      expect(await appleRevocations()).toBe(before + 1);
    },
  );

  it(
    "Apple: an account Apple created (no password) deletes itself with a recent sign-in alone, and its Apple " +
      "grant is revoked at Apple",
    async () => {
      const { signedIn } = await signInAs("apple", { email: uniqueEmail("apple-only"), email_verified: "true" });
      expect(signedIn!.user.hasPassword).toBe(false);
      const before = await appleRevocations();
      const res = await service.call("DELETE", "/me", { token: signedIn!.tokens.accessToken });
      expect(res.status).toBe(204);
      expect(await appleRevocations()).toBe(before + 1);
      const [user] = await service.db.query("select id from users where id = $1", [signedIn!.user.id]);
      expect(user).toBeUndefined();
    },
  );

  it("Apple: email_verified false does not link", async () => {
    const holder = await passwordAccount(true);
    const { query } = await signInAs("apple", { email: holder.email, email_verified: "false" });
    expect(query.error).toBe("account_link_required");
  });

  it("GitHub: a primary address GitHub has not verified does not link", async () => {
    const holder = await passwordAccount(true);
    const id = 2_000_000 + Math.floor(Math.random() * 1_000_000);
    await githubUser({ id, login: `gh-${id}`, emails: [{ email: holder.email, primary: true, verified: false }] });
    const flow = await signInThrough(new TestBrowser(service), "github", `gh-${id}`);
    expect(flow.query.error).toBe("account_link_required");
  });

  it("GitHub: the verified primary address links", async () => {
    const holder = await passwordAccount(true);
    const id = 3_000_000 + Math.floor(Math.random() * 1_000_000);
    await githubUser({ id, login: `gh-${id}`, emails: [{ email: holder.email, primary: true, verified: true }] });
    const flow = await signInThrough(new TestBrowser(service), "github", `gh-${id}`);
    const body = (await (await exchange(service, flow.query.code!, flow.verifier)).json()) as SignedIn;
    expect(body.user.id).toBe(holder.user.id);
    expect(claimsOf(body.tokens.accessToken).amr).toEqual(["fed"]);
  });
});

describe("a disabled account", () => {
  it("disabled account: its linked identity returns error=invalid_credentials, as a wrong password does", async () => {
    const sub = uniqueSubject("acme");
    const email = uniqueEmail("disabled");
    const { signedIn } = await signInAs("acme", { email, email_verified: true }, sub);
    await service.db.query("update users set status = 'disabled' where id = $1", [signedIn!.user.id]);
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    expect(flow.query).toMatchObject({ error: "invalid_credentials", state: "app-state-1" });
    const failed = await service.db.auditRows({ userId: signedIn!.user.id, event: "auth.login_failed" });
    expect(failed.map((row) => row.metadata)).toContainEqual({ reason: "account_disabled" });
  });

  it(
    "disabled account: a verified provider email matching it links nothing " + "and answers invalid_credentials",
    async () => {
      const holder = await passwordAccount(true);
      await service.db.query("update users set status = 'disabled' where id = $1", [holder.user.id]);
      const { query } = await signInAs("acme", { email: holder.email, email_verified: true });
      expect(query.error).toBe("invalid_credentials");
      expect(await identitiesOf(holder.user.id)).toEqual([]);
    },
  );

  it("an account disabled between the callback and the exchange gets no session", async () => {
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: uniqueEmail("late"), email_verified: true });
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    await service.db.query(
      "update users set status = 'disabled' where id = (select user_id from user_identities where subject = $1)",
      [sub],
    );
    expect((await problemOf(await exchange(service, flow.query.code!, flow.verifier))).code).toBe(
      "invalid_credentials",
    );
  });
});

describe("audit", () => {
  it("never a provider token, code or ID token in an audit row", async () => {
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: uniqueEmail("audit"), email_verified: true });
    const flow = await signInThrough(new TestBrowser(service), "acme", sub);
    const body = (await (await exchange(service, flow.query.code!, flow.verifier)).json()) as SignedIn;
    const rows = JSON.stringify(await service.db.auditRows({ userId: body.user.id }));
    expect(rows).not.toContain(flow.query.code!);
    expect(rows).not.toContain(flow.verifier);
    expect(rows).not.toContain(sub);
  });
});
