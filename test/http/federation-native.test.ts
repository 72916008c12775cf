// Native apps' sign-in with the provider's ID token (POST
// /auth/oauth/{provider}/id-token), through the Worker, with tokens the local
// stand-ins really issue (the app's own code flow against them), and forged
// ones for what no honest provider issues.
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { claimsOf, problemOf, testService, uniqueEmail } from "../support/harness";
import { federationEnv, nativeIdToken, providerAccount, uniqueSubject } from "../support/federation";

const service = testService({ env: federationEnv() });

const rawNonce = () => `nonce-${crypto.randomUUID()}-${crypto.randomUUID()}`;

async function googleToken(claims: Record<string, unknown> = {}, nonce = rawNonce()) {
  const sub = uniqueSubject("gnative");
  await providerAccount(sub, { email: `${sub}@gmail.com`, email_verified: true, ...claims });
  return { token: await nativeIdToken("google", "google-ios", sub, nonce), nonce, sub };
}

const signIn = (provider: string, body: Record<string, unknown>, s = service) =>
  s.call("POST", `/auth/oauth/${provider}/id-token`, { body });

describe("POST /auth/oauth/{provider}/id-token", () => {
  it("signs in with a Google ID token for a native client id: answers as the exchange, amr fed", async () => {
    const { token, nonce, sub } = await googleToken();
    const res = await signIn("google", { idToken: token, nonce, deviceName: "Phone" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: { email: string }; tokens: { accessToken: string }; isNewUser: boolean };
    expect(body).toMatchObject({ isNewUser: true, user: { email: `${sub}@gmail.com` } });
    expect(claimsOf(body.tokens.accessToken).amr).toEqual(["fed"]);
  });

  it("signs in with Apple's and a listed OpenID provider's native tokens", async () => {
    const nonce = rawNonce();
    const sub = uniqueSubject("anative");
    await providerAccount(sub, { email: uniqueEmail("apple-native"), email_verified: "true" });
    const apple = await signIn("apple", {
      idToken: await nativeIdToken("apple", "com.example.ios", sub, nonce),
      nonce,
    });
    expect(apple.status).toBe(200);
    const other = rawNonce();
    const acmeSub = uniqueSubject("acme-native");
    await providerAccount(acmeSub, { email: uniqueEmail("acme-native"), email_verified: true });
    const acme = await signIn("acme", {
      idToken: await nativeIdToken("generic", "acme-native", acmeSub, other),
      nonce: other,
    });
    expect(acme.status).toBe(200);
  });

  it("nonce replay on id-token: a leaked ID token presented again with its nonce is refused", async () => {
    const { token, nonce } = await googleToken();
    expect((await signIn("google", { idToken: token, nonce })).status).toBe(200);
    const replay = await signIn("google", { idToken: token, nonce });
    expect(replay.status).toBe(401);
    expect((await problemOf(replay)).code).toBe("invalid_credentials");
  });

  it("the nonce is required (400 validation_failed)", async () => {
    const { token } = await googleToken();
    const res = await signIn("google", { idToken: token });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });

  it("a token whose nonce is not the SHA-256 of the nonce sent is refused", async () => {
    const { token } = await googleToken();
    const res = await signIn("google", { idToken: token, nonce: rawNonce() });
    expect((await problemOf(res)).code).toBe("invalid_credentials");
  });

  it("wrong audience: a token issued to a client the service does not list is refused", async () => {
    const { token, nonce } = await googleToken();
    const s = testService({ env: federationEnv({ GOOGLE_NATIVE_CLIENT_IDS: "" }) });
    expect((await problemOf(await signIn("google", { idToken: token, nonce }, s))).code).toBe("invalid_credentials");
  });

  it("wrong issuer: another provider's token for a listed client id is refused", async () => {
    const nonce = rawNonce();
    const sub = uniqueSubject("cross");
    await providerAccount(sub, { email: `${sub}@gmail.com`, email_verified: true });
    const token = await nativeIdToken("generic", "acme-native", sub, nonce);
    const s = testService({ env: federationEnv({ GOOGLE_NATIVE_CLIENT_IDS: "google-ios,acme-native" }) });
    expect((await problemOf(await signIn("google", { idToken: token, nonce }, s))).code).toBe("invalid_credentials");
  });

  it("a token signed by another key under the provider's kid is refused", async () => {
    const { token, nonce } = await googleToken();
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT(decodeJwt(token))
      .setProtectedHeader(decodeProtectedHeader(token) as { alg: string; kid: string })
      .sign(privateKey);
    expect((await problemOf(await signIn("google", { idToken: forged, nonce }))).code).toBe("invalid_credentials");
  });

  it("alg none: an unsigned token is refused", async () => {
    const { token, nonce } = await googleToken();
    const encode = (value: unknown) =>
      btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${encode(decodeJwt(token))}.`;
    expect((await problemOf(await signIn("google", { idToken: unsigned, nonce }))).code).toBe("invalid_credentials");
  });

  it("account_link_required is answered directly (409) for an address the token does not prove", async () => {
    const holder = await service.register({ email: uniqueEmail("holder") });
    await service.db.markEmailVerified(holder.user.id);
    // A Google address outside gmail.com without hd: Google is no authority for it.
    const { token, nonce } = await googleToken({ email: holder.email });
    const res = await signIn("google", { idToken: token, nonce });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("account_link_required");
  });

  it("GitHub and OpenID providers without native client ids take no ID tokens (404)", async () => {
    expect((await signIn("github", { idToken: "x", nonce: rawNonce() })).status).toBe(404);
    expect((await signIn("untrusted", { idToken: "x", nonce: rawNonce() })).status).toBe(404);
  });
});
