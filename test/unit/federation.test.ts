// Federated sign-in's pure rules: what counts as a verified email at each
// provider, the exact redirect-URL rule, the app's PKCE, Microsoft's tenant
// issuer, and Apple's client secret, minted and renewed by the service.
import { decodeJwt, decodeProtectedHeader, exportPKCS8, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { appleClientSecret } from "../../src/features/federation/apple-secret";
import { appleNameOf, assertsVerifiedEmail } from "../../src/features/federation/claims";
import { checkCodeChallenge, exactRedirect, pkceChallenge, verifierMatches } from "../../src/features/federation/flows";
import { microsoftIssuer } from "../../src/features/federation/provider-client";

describe("a verified email, provider by provider", () => {
  it.each([
    ["generic", { email: "a@x.example", email_verified: true }, true],
    ["generic", { email: "a@x.example", email_verified: "true" }, false],
    ["generic", { email: "a@x.example" }, false],
    ["google", { email: "a@gmail.com", email_verified: true }, true],
    ["google", { email: "a@corp.example", email_verified: true }, false],
    ["google", { email: "a@corp.example", email_verified: true, hd: "corp.example" }, true],
    ["google", { email: "a@gmail.com", email_verified: false }, false],
    ["microsoft", { email: "a@corp.example", email_verified: true }, false],
    ["microsoft", { email: "a@corp.example", xms_edov: true }, true],
    ["microsoft", { email: "a@corp.example", xms_edov: "true" }, false],
    ["apple", { email: "a@privaterelay.appleid.com", email_verified: "true" }, true],
    ["apple", { email: "a@privaterelay.appleid.com", email_verified: true }, true],
    ["apple", { email: "a@privaterelay.appleid.com", email_verified: "false" }, false],
    ["generic", { email: "not an address", email_verified: true }, false],
  ] as const)("%s %j: %s", (quirks, claims, verified) => {
    expect(assertsVerifiedEmail(quirks, claims)).toBe(verified);
  });

  it("reads Apple's first-authorization name, and nothing from junk", () => {
    expect(appleNameOf('{"name":{"firstName":"Ada","lastName":"Lovelace"}}')).toBe("Ada Lovelace");
    expect(appleNameOf("{not json")).toBeNull();
    expect(appleNameOf(null)).toBeNull();
  });
});

describe("exactRedirect", () => {
  const allowed = ["https://app.example.com/auth/return", "https://app.example.com/"];
  it("accepts an allowed URL as written", () => {
    expect(exactRedirect("https://app.example.com/auth/return", allowed, "f")).toBe(
      "https://app.example.com/auth/return",
    );
    expect(exactRedirect("https://app.example.com", allowed, "f")).toBe("https://app.example.com/");
  });
  it.each([
    "https://app.example.com/auth/return/",
    "https://app.example.com/auth/return?x=1",
    "https://app.example.com/auth/return#x",
    "https://app.example.com/auth",
    "https://APP.example.com/auth/return",
    "https://app.example.com:444/auth/return",
    "http://app.example.com/auth/return",
    "https://app.example.com.evil.example/auth/return",
    "//app.example.com/auth/return",
  ])("refuses %s", (url) => {
    expect(() => exactRedirect(url, allowed, "f")).toThrow("Request validation failed");
  });
});

describe("PKCE", () => {
  it("binds a verifier to its S256 challenge only", () => {
    const verifier = "v".repeat(43);
    const challenge = pkceChallenge(verifier);
    expect(checkCodeChallenge(challenge, "S256", "c")).toBe(challenge);
    expect(verifierMatches(verifier, challenge)).toBe(true);
    expect(verifierMatches("w".repeat(43), challenge)).toBe(false);
    expect(verifierMatches("short", pkceChallenge("short"))).toBe(false);
    expect(() => checkCodeChallenge(challenge, "plain", "c")).toThrow();
    expect(() => checkCodeChallenge(verifier.slice(0, 20), "S256", "c")).toThrow();
  });
});

describe("Microsoft's multi-tenant issuer", () => {
  const template = "https://login.microsoftonline.com/{tenantid}/v2.0";
  it("is the template with the token's tenant id, a GUID", () => {
    expect(microsoftIssuer(template, "9188040d-6c67-4c5b-b112-36a304b66dad")).toBe(
      "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
    );
    for (const tid of [undefined, "common", "../evil", "9188040d-6c67-4c5b-b112-36a304b66dad/x"])
      expect(() => microsoftIssuer(template, tid)).toThrow();
  });
});

describe("Apple's client secret", () => {
  it("is an ES256 JWT the service mints, reused for most of its hour and renewed before it lapses", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const key = { teamId: "TEAM123456", keyId: "KEY1234567", privateKey: await exportPKCS8(privateKey) };
    let now = Date.parse("2026-12-07T09:00:00Z");
    const clock = () => now;
    const first = await appleClientSecret("com.example.web", key, clock);
    expect(decodeProtectedHeader(first)).toEqual({ alg: "ES256", kid: "KEY1234567" });
    expect(decodeJwt(first)).toMatchObject({
      iss: "TEAM123456",
      sub: "com.example.web",
      aud: "https://appleid.apple.com",
      iat: now / 1000,
      exp: now / 1000 + 3600,
    });
    now += 50 * 60_000;
    expect(await appleClientSecret("com.example.web", key, clock)).toBe(first);
    now += 6 * 60_000;
    const renewed = await appleClientSecret("com.example.web", key, clock);
    expect(renewed).not.toBe(first);
    expect(decodeJwt(renewed).exp).toBe(now / 1000 + 3600);
  });
});
