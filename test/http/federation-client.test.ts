// The client package's provider sign-in against the Worker and the local
// providers: signInWithProvider makes and keeps the PKCE verifier and state,
// the browser goes to the provider and back, and handleRedirect exchanges
// the code (a sign-in) or completes a link; an error return rejects.
import { describe, expect, it } from "vitest";
import { AuthApiError, AuthClient } from "../../packages/client/src";
import { testService, uniqueEmail } from "../support/harness";
import { federationEnv, providerAccount, RETURN_URL, TestBrowser, uniqueSubject } from "../support/federation";

const service = testService({ env: federationEnv() });
const client = () =>
  new AuthClient({ baseUrl: "https://auth.test", fetch: (input, init) => service.fetch(new Request(input, init)) });

describe("AuthClient: sign-in through a provider", () => {
  it("lists the providers, signs in through one and handles the return", async () => {
    const auth = client();
    const { providers } = await auth.listSignInProviders();
    expect(providers.map((p) => p.id)).toContain("acme");
    const sub = uniqueSubject("client");
    await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
    const start = await auth.signInWithProvider("acme", { redirectTo: RETURN_URL });
    const { url } = await new TestBrowser(service).follow(start, RETURN_URL, sub);
    const result = await auth.handleRedirect(url);
    expect(result).toMatchObject({ kind: "signed_in", result: { isNewUser: true } });
    expect((await auth.getMe()).user.email).toBe(`${sub}@acme.example`);
    // The flow is spent: the same return handled again is no flow of this tab.
    expect(await auth.handleRedirect(url)).toBeNull();
  });

  it("links a provider from a signed-in account and lists and unlinks it", async () => {
    const auth = client();
    const email = uniqueEmail("client-link");
    const { user } = await auth.register({ email, password: "correct horse battery staple 42" });
    await service.db.markEmailVerified(user.id);
    const sub = uniqueSubject("client-link");
    await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true });
    const start = await auth.linkProvider("acme", { redirectTo: RETURN_URL });
    const { url } = await new TestBrowser(service).follow(start, RETURN_URL, sub);
    const result = await auth.handleRedirect(url);
    expect(result).toMatchObject({ kind: "linked", identity: { provider: "acme" } });
    const { identities } = await auth.listIdentities();
    expect(identities).toHaveLength(1);
    await auth.unlinkIdentity(identities[0]!.id);
    expect((await auth.listIdentities()).identities).toEqual([]);
  });

  it("an error return rejects with its code", async () => {
    const auth = client();
    const start = await auth.signInWithProvider("github", { redirectTo: RETURN_URL });
    const { url } = await new TestBrowser(service).follow(start, RETURN_URL, "nobody-at-github");
    const error = await auth.handleRedirect(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthApiError);
    expect((error as AuthApiError).code).toBe("identity_provider_error");
  });
});
