// The device-token format (src/features/sign-in/device-tokens.ts), recomputed here with
// WebCrypto rather than the service's code: `sadt_` + a 22-character nonce +
// `.` + the user id + `.` + the device generation + `.` +
// base64url(HMAC-SHA256(HMAC-SHA256(secret, "sadt-key:v1"), "sadt-tag:v2:" +
// nonce + ":" + user id + ":" + generation)). The tag binds the token to one
// account id and one generation, and is checked without I/O; whether they
// are still the account's is the sign-in statement's business.
import { describe, expect, it } from "vitest";
import { deviceThrottleKey, DeviceTokenCodec } from "../../src/features/sign-in/device-tokens";

const SECRET = "unit-test refresh secret, 32+ characters long";
const NEXT_SECRET = "the next refresh secret, also 32+ characters";
const USER = "0b3c6a52-8f0e-4c55-9a57-2d1f5b3e7c11";
const OTHER_USER = "7d4e0f19-2a6b-4e8c-b1d3-5f6a7b8c9d0e";

const utf8 = (text: string) => new TextEncoder().encode(text);
const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

async function hmac(key: Uint8Array, text: string): Promise<Uint8Array> {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, utf8(text)));
}

async function expectedToken(secret: string, nonce: string, userId: string, generation: number): Promise<string> {
  const key = await hmac(utf8(secret), "sadt-key:v1");
  const tag = base64url(await hmac(key, `sadt-tag:v2:${nonce}:${userId}:${generation}`));
  return `sadt_${nonce}.${userId}.${generation}.${tag}`;
}

const nonceOf = (token: string) => token.slice(5, 27);
const tagOf = (token: string) => token.slice(-43);

describe("DeviceTokenCodec", () => {
  it(
    "issues sadt_ + a 22-character random nonce, the user id and the " +
      "generation, and the 43-character HMAC tag over them, recomputed " +
      "independently",
    async () => {
      const codec = new DeviceTokenCodec(SECRET);
      const token = codec.issue(USER, 3);
      expect(token).toMatch(/^sadt_[A-Za-z0-9_-]{22}\.[0-9a-f-]{36}\.3\.[A-Za-z0-9_-]{43}$/);
      expect(token).toBe(await expectedToken(SECRET, nonceOf(token), USER, 3));
      expect(nonceOf(codec.issue(USER, 3))).not.toBe(nonceOf(token));
      // An id in upper case is the same account: the token carries it lower-cased.
      expect(codec.issue(USER.toUpperCase(), 0)).toContain(`.${USER}.0.`);
    },
  );

  it("checks a token of ours, naming its nonce, user id and generation", () => {
    const codec = new DeviceTokenCodec(SECRET);
    const token = codec.issue(USER, 0);
    expect(codec.check(token)).toEqual({ nonce: nonceOf(token), userId: USER, generation: 0, token });
  });

  it("refuses a token moved to another account or another generation: the tag covers both", () => {
    const codec = new DeviceTokenCodec(SECRET);
    const token = codec.issue(USER, 2);
    expect(codec.check(token.replace(USER, OTHER_USER))).toBeUndefined();
    expect(codec.check(token.replace(".2.", ".3."))).toBeUndefined();
    expect(codec.check(token.replace(".2.", ".02."))).toBeUndefined();
  });

  it("refuses a token of another secret, and every garbled form", () => {
    const codec = new DeviceTokenCodec(SECRET);
    const token = codec.issue(USER, 0);
    expect(new DeviceTokenCodec(NEXT_SECRET).check(token)).toBeUndefined();
    for (const garbled of [
      "",
      token.slice(0, -1),
      `${token}A`,
      `SADT_${token.slice(5)}`,
      token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"),
      token.slice(0, 5) + (token[5] === "A" ? "B" : "A") + token.slice(6),
      `${token.slice(0, 10)}+/${token.slice(12)}`,
      `sart_${token.slice(5)}`,
      token.replace(USER, USER.toUpperCase()),
      token.replaceAll(".", ""),
      `sadt_${nonceOf(token)}.${USER}.-1.${tagOf(token)}`,
      token + "x".repeat(200),
    ]) {
      expect(codec.check(garbled), garbled).toBeUndefined();
    }
  });

  it(
    "accepts a token of the previous secret and hands it back re-tagged " +
      "under the current one, with the same nonce, id and generation",
    async () => {
      const old = new DeviceTokenCodec(SECRET).issue(USER, 5);
      const codec = new DeviceTokenCodec(NEXT_SECRET, SECRET);
      const checked = codec.check(old)!;
      expect(checked).toMatchObject({ nonce: nonceOf(old), userId: USER, generation: 5 });
      expect(checked.token).toBe(await expectedToken(NEXT_SECRET, checked.nonce, USER, 5));
      expect(new DeviceTokenCodec(NEXT_SECRET).check(checked.token)).toEqual({
        nonce: checked.nonce,
        userId: USER,
        generation: 5,
        token: checked.token,
      });
    },
  );

  it("refuses secrets shorter than 32 characters", () => {
    expect(() => new DeviceTokenCodec("short")).toThrow(TypeError);
    expect(() => new DeviceTokenCodec(SECRET, "short")).toThrow(TypeError);
  });
});

describe("deviceThrottleKey", () => {
  it("is device:<account key>:<hex SHA-256 of the nonce>, holding nothing of the token", () => {
    const token = new DeviceTokenCodec(SECRET).issue(USER, 0);
    const nonce = nonceOf(token);
    const key = deviceThrottleKey("a".repeat(64), nonce);
    expect(key).toMatch(new RegExp(`^device:${"a".repeat(64)}:[0-9a-f]{64}$`));
    expect(key).not.toContain(nonce);
    expect(key).not.toContain(USER);
    expect(deviceThrottleKey("a".repeat(64), nonce)).toBe(key);
    expect(deviceThrottleKey("b".repeat(64), nonce)).not.toBe(key);
  });
});
