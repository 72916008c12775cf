// The refresh-token format (src/services/sessions/refresh-token.ts): what is
// refused before any I/O, recomputed here with WebCrypto rather than the
// service's own HMAC code.
import { describe, expect, it } from "vitest";
import { RefreshTokenCodec } from "../../src/services/sessions";

const SECRET = "unit-test refresh secret, 32+ characters long";
const NEXT_SECRET = "the next refresh secret, also 32+ characters";

const utf8 = (text: string) => new TextEncoder().encode(text);
const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function hmac(secret: string, text: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(text)));
}

/** sart_ + body + base64url(first 6 bytes of HMAC(secret, "sart-tag:" + body)). */
async function tagged(body: string, secret = SECRET): Promise<string> {
  return "sart_" + body + base64url((await hmac(secret, `sart-tag:${body}`)).subarray(0, 6));
}

describe("refresh-token format", () => {
  const codec = new RefreshTokenCodec(SECRET);

  it("mints sart_ + 43 random base64url characters + the 8-character HMAC tag", async () => {
    const token = codec.mint();
    expect(token).toMatch(/^sart_[A-Za-z0-9_-]{51}$/);
    expect(token).toBe(await tagged(token.slice(5, 48)));
    expect(codec.mint()).not.toBe(token);
  });

  it("the successor of T is the tagged form of base64url(HMAC-SHA256(secret, T))", async () => {
    const token = codec.mint();
    expect(codec.successorOf(token)).toBe(await tagged(base64url(await hmac(SECRET, token))));
    expect(codec.check(codec.successorOf(token))).toBe("tagged");
  });

  it("refuses a forged token with a wrong tag as junk, so it never reaches the database", () => {
    const token = codec.mint();
    const wrongTag = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    expect(codec.check(wrongTag)).toBe("junk");
    expect(new RefreshTokenCodec(NEXT_SECRET).check(token)).toBe("junk");
  });

  it("refuses anything not shaped like a token as junk: other prefix, length, alphabet", () => {
    const token = codec.mint();
    for (const junk of ["", "sart_", token.slice(0, -1), token + "A", "sbrt_" + token.slice(5), "sart_" + "+".repeat(51), "sart_" + "A".repeat(44), "x".repeat(10_000)]) {
      expect(codec.check(junk), junk.slice(0, 20)).toBe("junk");
    }
  });

  it("still looks up a token minted before tags existed (sart_ + 43 characters): legacy", () => {
    expect(codec.check("sart_" + base64url(crypto.getRandomValues(new Uint8Array(32))))).toBe("legacy");
  });

  it("accepts tags of the previous secret after REFRESH_TOKEN_SECRET changes, and tags successors with the new one", async () => {
    const issuedBefore = codec.mint();
    const rotated = new RefreshTokenCodec(NEXT_SECRET, SECRET);
    expect(rotated.check(issuedBefore)).toBe("tagged");
    const successor = rotated.successorOf(issuedBefore);
    expect(successor).toBe(await tagged(base64url(await hmac(NEXT_SECRET, issuedBefore)), NEXT_SECRET));
    expect(new RefreshTokenCodec(NEXT_SECRET).check(successor)).toBe("tagged");
  });

  it("stores only the hex SHA-256 of a token", async () => {
    const token = codec.mint();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(token)));
    expect(codec.hash(token)).toBe([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
  });

  it("refuses a secret shorter than 32 characters when built (a misconfiguration, not a bad token)", () => {
    expect(() => new RefreshTokenCodec("short")).toThrow(TypeError);
    expect(() => new RefreshTokenCodec(SECRET, "short")).toThrow(TypeError);
  });
});
