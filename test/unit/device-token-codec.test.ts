// The device-token format (services/device-tokens.ts), recomputed here with
// WebCrypto rather than the service's code: `sadt_` + a 22-character nonce +
// base64url(HMAC-SHA256(HMAC-SHA256(secret, "sadt-key:v1"), "sadt-tag:" +
// nonce + ":" + normalised email)). Valid only for the account it names and
// only with the secret; checked without I/O.
import { describe, expect, it } from "vitest";
import { deviceThrottleKey, DeviceTokenCodec } from "../../src/services/device-tokens";

const SECRET = "unit-test refresh secret, 32+ characters long";
const NEXT_SECRET = "the next refresh secret, also 32+ characters";
const EMAIL = "ada@example.com";

const utf8 = (text: string) => new TextEncoder().encode(text);
const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function hmac(key: Uint8Array, text: string): Promise<Uint8Array> {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, utf8(text)));
}

async function expectedToken(secret: string, nonce: string, email: string): Promise<string> {
  const key = await hmac(utf8(secret), "sadt-key:v1");
  return `sadt_${nonce}${base64url(await hmac(key, `sadt-tag:${nonce}:${email}`))}`;
}

describe("DeviceTokenCodec", () => {
  it("issues sadt_ + a 22-character random nonce + the 43-character HMAC tag over (nonce, email), recomputed independently", async () => {
    const codec = new DeviceTokenCodec(SECRET);
    const token = codec.issue(EMAIL);
    expect(token).toMatch(/^sadt_[A-Za-z0-9_-]{65}$/);
    expect(token).toBe(await expectedToken(SECRET, token.slice(5, 27), EMAIL));
    expect(codec.issue(EMAIL).slice(5, 27)).not.toBe(token.slice(5, 27));
  });

  it("checks a token for the email it was issued to, naming its nonce, and refuses it for any other", () => {
    const codec = new DeviceTokenCodec(SECRET);
    const token = codec.issue(EMAIL);
    expect(codec.check(token, EMAIL)).toEqual({ nonce: token.slice(5, 27), token });
    expect(codec.check(token, "grace@example.com")).toBeUndefined();
    expect(codec.check(token, "ada@example.co")).toBeUndefined();
  });

  it("refuses a token of another secret, and every garbled form", () => {
    const codec = new DeviceTokenCodec(SECRET);
    const token = codec.issue(EMAIL);
    expect(new DeviceTokenCodec(NEXT_SECRET).check(token, EMAIL)).toBeUndefined();
    for (const garbled of [
      "",
      token.slice(0, -1),
      token + "A",
      "SADT_" + token.slice(5),
      token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"),
      token.slice(0, 5) + (token[5] === "A" ? "B" : "A") + token.slice(6),
      token.slice(0, 10) + "+/" + token.slice(12),
      "sart_" + token.slice(5),
    ]) {
      expect(codec.check(garbled, EMAIL), garbled).toBeUndefined();
    }
  });

  it("accepts a token of the previous secret and hands it back re-tagged under the current one, with the same nonce", async () => {
    const old = new DeviceTokenCodec(SECRET).issue(EMAIL);
    const codec = new DeviceTokenCodec(NEXT_SECRET, SECRET);
    const checked = codec.check(old, EMAIL)!;
    expect(checked.nonce).toBe(old.slice(5, 27));
    expect(checked.token).toBe(await expectedToken(NEXT_SECRET, checked.nonce, EMAIL));
    expect(new DeviceTokenCodec(NEXT_SECRET).check(checked.token, EMAIL)).toEqual({ nonce: checked.nonce, token: checked.token });
  });

  it("refuses secrets shorter than 32 characters", () => {
    expect(() => new DeviceTokenCodec("short")).toThrow(TypeError);
    expect(() => new DeviceTokenCodec(SECRET, "short")).toThrow(TypeError);
  });
});

describe("deviceThrottleKey", () => {
  it("is device:<account key>:<hex SHA-256 of the nonce>, holding nothing of the token", () => {
    const token = new DeviceTokenCodec(SECRET).issue(EMAIL);
    const nonce = token.slice(5, 27);
    const key = deviceThrottleKey("a".repeat(64), nonce);
    expect(key).toMatch(new RegExp(`^device:${"a".repeat(64)}:[0-9a-f]{64}$`));
    expect(key).not.toContain(nonce);
    expect(deviceThrottleKey("a".repeat(64), nonce)).toBe(key);
    expect(deviceThrottleKey("b".repeat(64), nonce)).not.toBe(key);
  });
});
