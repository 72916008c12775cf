// Unit tests for src/features/accounts/passwords: hashing, the password policy, email
// normalisation and the breached-password range check (with a fake fetcher).
import { describe, expect, it } from "vitest";
import { ValidationFailed } from "../../src/core/errors";
import {
  BreachedPasswordChecker,
  checkPasswordPolicy,
  normalizeEmail,
  normalizePassword,
  PasswordHasher,
} from "../../src/features/accounts/passwords";

// Cheap parameters keep the suite fast; one test runs the production cost.
const CHEAP = { memoryKib: 64, iterations: 1, parallelism: 1 };
const PRODUCTION = { memoryKib: 19456, iterations: 2, parallelism: 1 };
const PASSWORD = "correct horse battery staple";

function decodeBase64(text: string): Uint8Array {
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

function policyError(password: string, field?: string): ValidationFailed {
  try {
    checkPasswordPolicy(password, field);
  } catch (error) {
    if (error instanceof ValidationFailed) return error;
    throw error;
  }
  throw new Error("expected the policy to refuse the password");
}

describe("PasswordHasher", () => {
  const hasher = new PasswordHasher(CHEAP);

  it("a hash verifies the password it was made from", async () => {
    const phc = await hasher.hash(PASSWORD);
    expect(await hasher.verify(phc, PASSWORD)).toBe(true);
  });

  it("a wrong password does not verify", async () => {
    const phc = await hasher.hash(PASSWORD);
    expect(await hasher.verify(phc, "correct horse battery stapler")).toBe(false);
    expect(await hasher.verify(phc, PASSWORD.toUpperCase())).toBe(false);
  });

  it("the hash is an argon2id PHC string carrying its parameters, a 16-byte salt and a 32-byte hash", async () => {
    const phc = await hasher.hash(PASSWORD);
    const match = /^\$argon2id\$v=19\$m=64,t=1,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
    expect(match).not.toBeNull();
    expect(decodeBase64(match![1]!)).toHaveLength(16);
    expect(decodeBase64(match![2]!)).toHaveLength(32);
  });

  it("two hashes of the same password have different salts", async () => {
    const [first, second] = await Promise.all([hasher.hash(PASSWORD), hasher.hash(PASSWORD)]);
    expect(first.split("$")[4]).not.toBe(second.split("$")[4]);
    expect(first).not.toBe(second);
  });

  it("works at the production parameters m=19456, t=2, p=1", async () => {
    const production = new PasswordHasher(PRODUCTION);
    const phc = await production.hash(PASSWORD);
    expect(phc.startsWith("$argon2id$v=19$m=19456,t=2,p=1$")).toBe(true);
    expect(await production.verify(phc, PASSWORD)).toBe(true);
    expect(production.needsRehash(phc)).toBe(false);
  });

  it(
    "a hash made with older parameters still verifies and needs a rehash; " + "one at the current parameters does not",
    async () => {
      const older = await new PasswordHasher({ memoryKib: 32, iterations: 1, parallelism: 1 }).hash(PASSWORD);
      const current = await hasher.hash(PASSWORD);
      expect(await hasher.verify(older, PASSWORD)).toBe(true);
      expect(hasher.needsRehash(older)).toBe(true);
      expect(new PasswordHasher({ ...CHEAP, iterations: 2 }).needsRehash(current)).toBe(true);
      expect(hasher.needsRehash(current)).toBe(false);
    },
  );

  it("a hash that is not argon2id needs a rehash", () => {
    expect(hasher.needsRehash("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")).toBe(true);
    expect(hasher.needsRehash("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW")).toBe(true);
    expect(hasher.needsRehash("")).toBe(true);
  });

  it("verify answers false, without throwing, for a malformed or tampered hash", async () => {
    const valid = await hasher.hash(PASSWORD);
    const [, , , , salt, hash] = valid.split("$");
    const tampered = [
      "",
      "not a hash",
      `${valid}\n`,
      valid.replace("$v=19$", "$v=16$"),
      valid.replace("$v=19$", "$"),
      valid.replace("m=64", "m=sixty-four"),
      valid.replace("m=64", "m=064"),
      valid.replace("m=64", "m=-64"),
      valid.replace("t=1", "t=0"),
      valid.replace("p=1", "p=0"),
      valid.replace("m=64,t=1,p=1", "t=1,m=64,p=1"),
      valid.replace("p=1", "p=1,keyid=abc"),
      valid.replace("$argon2id$", "$argon2i$"),
      `${valid.slice(0, valid.lastIndexOf("$"))}$${hash}==`,
      `${valid.slice(0, valid.lastIndexOf("$"))}$${hash!.slice(0, -1)}*`,
      `${valid.slice(0, valid.lastIndexOf("$"))}$${hash!.slice(0, -1)}B`, // non-canonical trailing bits
      valid.replace(salt!, "c2FsdA"), // 4-byte salt
      valid.replace(`$${hash}`, ""),
      null as unknown as string,
    ];
    for (const phc of tampered) {
      await expect(hasher.verify(phc, PASSWORD), JSON.stringify(phc)).resolves.toBe(false);
    }
  });

  it("a tampered hash asking for absurd cost is refused before any work starts (DoS)", async () => {
    const valid = await hasher.hash(PASSWORD);
    // Each of these would allocate a gigabyte or run for hours if it reached argon2.
    const absurd = [
      valid.replace("m=64", "m=1048576"),
      valid.replace("m=64", "m=4294967295"),
      valid.replace("t=1", "t=1000000"),
      valid.replace("p=1", "p=16777215"),
    ];
    for (const phc of absurd) {
      await expect(hasher.verify(phc, PASSWORD), phc).resolves.toBe(false);
      expect(hasher.needsRehash(phc)).toBe(true);
    }
  });

  it("composed and decomposed forms of a password verify alike (NFC)", async () => {
    const phc = await hasher.hash("caf\u00e9 au lait, s'il vous pla\u00eet");
    expect(await hasher.verify(phc, "cafe\u0301 au lait, s'il vous plai\u0302t")).toBe(true);
  });

  it("verifyDummy answers false, whatever the password", async () => {
    await expect(hasher.verifyDummy(PASSWORD)).resolves.toBe(false);
    await expect(hasher.verifyDummy("")).resolves.toBe(false);
  });

  it("refuses to be built with parameters outside the configured bounds", () => {
    expect(() => new PasswordHasher({ memoryKib: 4, iterations: 1, parallelism: 1 })).toThrow(TypeError);
    expect(() => new PasswordHasher({ memoryKib: 1_048_576, iterations: 1, parallelism: 1 })).toThrow(TypeError);
    expect(() => new PasswordHasher({ memoryKib: 64, iterations: 0, parallelism: 1 })).toThrow(TypeError);
    expect(() => new PasswordHasher({ memoryKib: 16, iterations: 1, parallelism: 4 })).toThrow(TypeError);
    expect(() => new PasswordHasher({ memoryKib: 64.5, iterations: 1, parallelism: 1 })).toThrow(TypeError);
  });
});

describe("checkPasswordPolicy", () => {
  it("refuses 11 characters and accepts 12", () => {
    expect(policyError("abcdefghijk").errors).toEqual([
      { path: "password", message: "Must be at least 12 characters" },
    ]);
    expect(checkPasswordPolicy("abcdefghijkl")).toBe("abcdefghijkl");
  });

  it("refuses 129 characters and accepts 128", () => {
    const longest = `${"x".repeat(127)}y`;
    expect(checkPasswordPolicy(longest)).toBe(longest);
    expect(policyError(`${longest}z`).errors[0]?.message).toBe("Must be at most 128 characters");
  });

  it("counts length in code points, not UTF-16 units", () => {
    // Each emoji is one code point but two UTF-16 units.
    expect(policyError("\u{1F512}".repeat(11)).errors[0]?.message).toBe("Must be at least 12 characters");
    expect(checkPasswordPolicy("\u{1F512}".repeat(12))).toBe("\u{1F512}".repeat(12));
    expect(checkPasswordPolicy("\u{1F511}".repeat(128))).toHaveLength(256);
    expect(policyError("\u{1F511}".repeat(129)).errors[0]?.message).toBe("Must be at most 128 characters");
  });

  it("normalises to NFC before counting, so composed and decomposed input give the same password", () => {
    const composed = "r\u00e9sum\u00e9 r\u00e9sum\u00e9 r\u00e9sum\u00e9";
    const decomposed = "re\u0301sume\u0301 re\u0301sume\u0301 re\u0301sume\u0301";
    expect(decomposed).not.toBe(composed);
    expect(checkPasswordPolicy(decomposed)).toBe(composed);
    expect(checkPasswordPolicy(composed)).toBe(composed);
    // 22 code points as typed, 11 once composed.
    expect(policyError("e\u0301".repeat(11)).errors[0]?.message).toBe("Must be at least 12 characters");
  });

  it("refuses a common password, whatever its case", () => {
    for (const common of ["password1234", "Password1234", "qwerty123456", "1qaz2wsx3edc"]) {
      expect(policyError(common).errors[0]?.message, common).toBe("Is too common: choose a less predictable password");
    }
  });

  it("bundles every entry of the maintained list that is long enough to pass the length rule", async () => {
    const { commonPasswordsAtLeast } = await import("../../scripts/lib/common-passwords.ts");
    const { default: bundled } = await import("../../src/features/accounts/passwords/common-passwords.json");
    // Run `npm run passwords:generate` when this fails after a package update.
    expect(bundled).toEqual(commonPasswordsAtLeast(12));
    expect(bundled.length).toBeGreaterThan(100);
  });

  it("never repeats the password in the error", () => {
    for (const password of ["short-pw", "password1234", "y".repeat(200)]) {
      const error = policyError(password);
      expect(JSON.stringify({ message: error.message, detail: error.detail, errors: error.errors })).not.toContain(
        password,
      );
    }
  });

  it("names the field it was given, and password by default", () => {
    expect(policyError("short").errors[0]?.path).toBe("password");
    expect(policyError("short", "newPassword").errors[0]?.path).toBe("newPassword");
    expect(policyError("short").code).toBe("validation_failed");
  });

  it("refuses a lone surrogate, which UTF-8 would collapse into U+FFFD", () => {
    expect(policyError("abcdefghijk\uD800").errors[0]?.message).toBe("Contains characters that cannot be typed");
  });

  it("keeps everything else exactly as typed (no trimming, no case folding)", () => {
    expect(checkPasswordPolicy("  Tr0ub4dor&3 Horse  ")).toBe("  Tr0ub4dor&3 Horse  ");
  });
});

describe("normalizePassword", () => {
  it("applies NFC only", () => {
    expect(normalizePassword(" Cafe\u0301 ")).toBe(" Caf\u00e9 ");
    expect(normalizePassword("short")).toBe("short");
  });
});

describe("normalizeEmail", () => {
  it("trims and lower-cases", () => {
    expect(normalizeEmail("  Alice@Example.COM \n")).toBe("alice@example.com");
  });

  it("applies NFKC, so fullwidth letters and a composed accent match their plain forms", () => {
    expect(normalizeEmail("\uFF21\uFF2C\uFF29\uFF23\uFF25\uFF20\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45.com")).toBe(
      "alice@example.com",
    );
    expect(normalizeEmail("Jose\u0301@example.com")).toBe("jos\u00e9@example.com");
  });

  it("is stable when applied twice (uniqueness holds on one form)", () => {
    for (const email of ["\u212Aelvin@Example.com", "\u0130stanbul@example.com", " \u3000Bob@EXAMPLE.com"]) {
      const once = normalizeEmail(email);
      expect(normalizeEmail(once)).toBe(once);
    }
  });
});

describe("BreachedPasswordChecker", () => {
  // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
  const BREACHED = "password";
  const PREFIX = "5BAA6";
  const SUFFIX = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";
  const BASE = "https://range.test";

  function fakeRange(body: string, status = 200) {
    const urls: string[] = [];
    const fetcher = (async (input: RequestInfo | URL) => {
      urls.push(String(input instanceof Request ? input.url : input));
      return new Response(body, { status });
    }) as typeof fetch;
    return { fetcher, urls };
  }

  it("reports a password whose suffix is in the range as breached", async () => {
    const { fetcher } = fakeRange(`0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n${SUFFIX}:9659365\r\n`);
    expect(await new BreachedPasswordChecker(BASE, fetcher).isBreached(BREACHED)).toBe(true);
  });

  it("reports a password whose suffix is absent as not breached", async () => {
    const { fetcher } = fakeRange("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\n");
    expect(await new BreachedPasswordChecker(BASE, fetcher).isBreached(BREACHED)).toBe(false);
  });

  it("ignores padding entries, which carry a count of 0", async () => {
    const { fetcher } = fakeRange(`${SUFFIX}:0\r\n`);
    expect(await new BreachedPasswordChecker(BASE, fetcher).isBreached(BREACHED)).toBe(false);
  });

  it("sends only the 5-character SHA-1 prefix, never the password or the rest of its hash", async () => {
    const { fetcher, urls } = fakeRange("");
    await new BreachedPasswordChecker(`${BASE}/`, fetcher).isBreached(BREACHED);
    expect(urls).toEqual([`${BASE}/range/${PREFIX}`]);
    expect(urls[0]).not.toContain(SUFFIX.slice(0, 5));
  });

  it("fails open when the fetch throws", async () => {
    const fetcher = (async () => {
      throw new TypeError("network down");
    }) as typeof fetch;
    expect(await new BreachedPasswordChecker(BASE, fetcher).isBreached(BREACHED)).toBe(false);
  });

  it("fails open on an error status", async () => {
    const { fetcher } = fakeRange(`${SUFFIX}:5`, 503);
    expect(await new BreachedPasswordChecker(BASE, fetcher).isBreached(BREACHED)).toBe(false);
  });

  it("fails open when the range service times out", async () => {
    let aborted = false;
    const fetcher = ((_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => {
          aborted = true;
          reject(init.signal?.reason);
        });
      })) as typeof fetch;
    expect(await new BreachedPasswordChecker(BASE, fetcher, 20).isBreached(BREACHED)).toBe(false);
    expect(aborted).toBe(true);
  });

  it("fails open on time even when the fetcher ignores the abort signal", async () => {
    const fetcher = (() => new Promise<Response>(() => {})) as typeof fetch;
    expect(await new BreachedPasswordChecker(BASE, fetcher, 20).isBreached(BREACHED)).toBe(false);
  });

  it("is off, without any fetch, when no base URL is configured", async () => {
    let calls = 0;
    const fetcher = (async () => {
      calls++;
      return new Response(`${SUFFIX}:1`);
    }) as typeof fetch;
    expect(await new BreachedPasswordChecker(undefined, fetcher).isBreached(BREACHED)).toBe(false);
    expect(calls).toBe(0);
  });
});
