// TOTP against RFC 6238's own test vectors (Appendix B, SHA-1, the 20-byte
// ASCII seed "12345678901234567890"; the 8-digit values' last 6 digits are
// the 6-digit codes), and the drift window and step matching the replay
// protection relies on.
import { describe, expect, it } from "vitest";
import { matchingStep, otpauthUri, stepAt } from "../../src/features/mfa/totp";
import { SecretBox } from "../../src/features/mfa/secret-box";
import { hashRecoveryCode, newRecoveryCodes } from "../../src/features/mfa/recovery-codes";

const SEED = new TextEncoder().encode("12345678901234567890");
const VECTORS: [seconds: number, code: string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP (RFC 6238)", () => {
  it.each(VECTORS)("at T=%i the code is the vector's last six digits, matched at its own step", (seconds, code) => {
    const at = new Date(seconds * 1000);
    expect(matchingStep(SEED, code.slice(-6), at)).toBe(Math.floor(seconds / 30));
  });

  it("accepts one step of drift either side and nothing beyond", () => {
    const at = new Date(59 * 1000); // step 1, code 287082
    expect(matchingStep(SEED, "287082", new Date(at.getTime() - 30_000))).toBe(1);
    expect(matchingStep(SEED, "287082", new Date(at.getTime() + 30_000))).toBe(1);
    expect(matchingStep(SEED, "287082", new Date(at.getTime() + 60_000))).toBeUndefined();
    expect(matchingStep(SEED, "287082", new Date(at.getTime() - 60_000))).toBeUndefined();
  });

  it("refuses what is not six digits", () => {
    for (const code of ["", "28708", "2870820", "28708a", " 287082", "94287082"])
      expect(matchingStep(SEED, code, new Date(59_000))).toBeUndefined();
  });

  it("steps are 30 seconds from the epoch", () => {
    expect(stepAt(new Date(0))).toBe(0);
    expect(stepAt(new Date(29_999))).toBe(0);
    expect(stepAt(new Date(30_000))).toBe(1);
  });

  it("the otpauth URI names the issuer, the account and the parameters", () => {
    const uri = new URL(otpauthUri("SecureAuth", "alice@example.com", SEED));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.searchParams.get("secret")).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    expect(uri.searchParams.get("issuer")).toBe("SecureAuth");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
  });
});

describe("TOTP secrets at rest (AES-GCM)", () => {
  const box = new SecretBox(new Uint8Array(32).fill(7));

  it("a sealed secret opens for its user and holds no plaintext", async () => {
    const sealed = await box.seal(SEED, "user-a");
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(sealed).not.toContain("GEZDGNBV");
    expect(await box.open(sealed, "user-a")).toEqual(SEED);
  });

  it("a ciphertext copied to another user's row does not open (the user id is bound in)", async () => {
    const sealed = await box.seal(SEED, "user-a");
    await expect(box.open(sealed, "user-b")).rejects.toThrow();
  });

  it("another key does not open it, and tampering is detected", async () => {
    const sealed = await box.seal(SEED, "user-a");
    await expect(new SecretBox(new Uint8Array(32).fill(8)).open(sealed, "user-a")).rejects.toThrow();
    const [v, iv, body] = sealed.split(".");
    const flipped = body!.slice(0, -2) + (body!.at(-2) === "A" ? "B" : "A") + body!.at(-1);
    await expect(box.open(`${v}.${iv}.${flipped}`, "user-a")).rejects.toThrow();
  });
});

describe("recovery codes", () => {
  it("ten distinct codes of 80 bits, hashed; typing them loosely still matches", () => {
    const { codes, hashes } = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    expect(hashes).toEqual(codes.map(hashRecoveryCode));
    const first = codes[0]!;
    expect(hashRecoveryCode(` ${first.toUpperCase().replace(/-/g, " ")} `)).toBe(hashes[0]);
    for (const hash of hashes) expect(hash).not.toContain(first.replace(/-/g, ""));
  });
});
