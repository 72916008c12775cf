// The refresh-token format (src/features/sessions/refresh-token.ts): what is
// refused before any I/O, recomputed here with WebCrypto rather than the
// service's own HMAC code.
import { describe, expect, it } from "vitest";
import { RefreshTokenCodec } from "../../src/features/sessions";

const SECRET = "unit-test refresh secret, 32+ characters long";
const NEXT_SECRET = "the next refresh secret, also 32+ characters";
const SESSION = "0b6f1c3e-5d2a-4e8f-9a41-2c7d8e9f0a1b";

const utf8 = (text: string) => new TextEncoder().encode(text);
const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const sessionPart = (id: string) =>
  base64url(
    Uint8Array.from(
      id
        .replace(/-/g, "")
        .match(/../g)!
        .map((h) => parseInt(h, 16)),
    ),
  );

async function hmac(secret: string, text: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(text)));
}

/** sart_ + session + secret part + base64url(first 6 bytes of HMAC(secret, "sart-tag:" + session + secret part)). */
async function tagged(sessionId: string, secretPart: string, secret = SECRET): Promise<string> {
  const untagged = sessionPart(sessionId) + secretPart;
  return `sart_${untagged}${base64url((await hmac(secret, `sart-tag:${untagged}`)).subarray(0, 6))}`;
}

describe("refresh-token format", () => {
  const codec = new RefreshTokenCodec(SECRET);

  it("mints sart_ + the session id (22) + 43 random base64url characters + the 8-character HMAC tag", async () => {
    const token = codec.mint(SESSION);
    expect(token).toMatch(/^sart_[A-Za-z0-9_-]{73}$/);
    expect(token).toBe(await tagged(SESSION, token.slice(27, 70)));
    expect(codec.mint(SESSION)).not.toBe(token);
    expect(codec.check(token)).toEqual({ kind: "tagged", sessionId: SESSION });
  });

  it("takes the session id in any case and carries it in lower case", () => {
    expect(codec.check(codec.mint(SESSION.toUpperCase()))).toEqual({ kind: "tagged", sessionId: SESSION });
    expect(() => codec.mint("not-a-uuid")).toThrow(TypeError);
  });

  it("the successor of T keeps the session and is the tagged form of base64url(HMAC-SHA256(secret, T))", async () => {
    const token = codec.mint(SESSION);
    const successor = codec.successorOf(token, SESSION);
    expect(successor).toBe(await tagged(SESSION, base64url(await hmac(SECRET, token))));
    expect(codec.check(successor)).toEqual({ kind: "tagged", sessionId: SESSION });
  });

  it(
    "refuses a forged token as junk, so it never reaches the database: wrong " +
      "tag, another secret, another session under the old tag",
    () => {
      const token = codec.mint(SESSION);
      expect(codec.check(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"))).toEqual({ kind: "junk" });
      expect(new RefreshTokenCodec(NEXT_SECRET).check(token)).toEqual({ kind: "junk" });
      const otherSession = codec.mint(crypto.randomUUID());
      expect(codec.check(`sart_${otherSession.slice(5, 27)}${token.slice(27)}`)).toEqual({ kind: "junk" });
    },
  );

  it("refuses anything not shaped like a token as junk: other prefix, length, alphabet", () => {
    const token = codec.mint(SESSION);
    for (const junk of [
      "",
      "sart_",
      token.slice(0, -1),
      `${token}A`,
      `sbrt_${token.slice(5)}`,
      `sart_${"+".repeat(73)}`,
      `sart_${"A".repeat(44)}`,
      "x".repeat(10_000),
    ]) {
      expect(codec.check(junk), junk.slice(0, 20)).toEqual({ kind: "junk" });
    }
  });

  it("still looks up a token minted before tags existed (sart_ + 43 characters): legacy", () => {
    expect(codec.check(`sart_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`)).toEqual({ kind: "legacy" });
  });

  it(
    "accepts tags of the previous secret after REFRESH_TOKEN_SECRET changes, " + "and tags successors with the new one",
    async () => {
      const issuedBefore = codec.mint(SESSION);
      const rotated = new RefreshTokenCodec(NEXT_SECRET, SECRET);
      expect(rotated.check(issuedBefore)).toEqual({ kind: "tagged", sessionId: SESSION });
      const successor = rotated.successorOf(issuedBefore, SESSION);
      expect(successor).toBe(await tagged(SESSION, base64url(await hmac(NEXT_SECRET, issuedBefore)), NEXT_SECRET));
      expect(new RefreshTokenCodec(NEXT_SECRET).check(successor)).toEqual({ kind: "tagged", sessionId: SESSION });
    },
  );

  it("stores only the hex SHA-256 of a token", async () => {
    const token = codec.mint(SESSION);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(token)));
    expect(codec.hash(token)).toBe([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
  });

  it("refuses a secret shorter than 32 characters when built (a misconfiguration, not a bad token)", () => {
    expect(() => new RefreshTokenCodec("short")).toThrow(TypeError);
    expect(() => new RefreshTokenCodec(SECRET, "short")).toThrow(TypeError);
  });
});
