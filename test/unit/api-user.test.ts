// The User every answer carries (docs/api.md): hasPassword says whether the
// account can sign in with a password; a proof of the address that ends the
// password (a provider, an email code) makes it false.
import { describe, expect, it } from "vitest";
import { ENDED_PASSWORD_HASH, type UserRecord } from "../../src/core/domain";
import { toApiUser } from "../../src/http/schemas";

const record = (passwordHash: string): UserRecord => ({
  id: "5f0f1c52-8f2a-4c3e-9a59-2a3f8c1d7e10",
  email: "ada@example.com",
  name: null,
  status: "active",
  passwordHash,
  emailVerified: true,
  createdAt: new Date("2026-12-01T00:00:00.000Z"),
  roles: ["user"],
  permissions: ["profile:read"],
  grantsVersion: 0,
  deviceGeneration: 0,
  mfa: { totp: false, passkeys: 0 },
});

describe("toApiUser", () => {
  it("an account with a stored argon2id hash has a password", () => {
    expect(toApiUser(record("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA")).hasPassword).toBe(true);
  });

  it("an account whose password a proof of its address ended has none", () => {
    expect(toApiUser(record(ENDED_PASSWORD_HASH)).hasPassword).toBe(false);
  });

  it("never carries the hash", () => {
    expect(JSON.stringify(toApiUser(record("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA")))).not.toContain(
      "argon2",
    );
  });
});
