// A signing key that parses as JSON but is not a usable key is a
// misconfiguration like a missing secret: every request answers 500 with no
// details, before anything is written.
import { describe, expect, it } from "vitest";
import { TEST_SIGNING_KEYS } from "../setup/secrets";
import { db, problemOf, STRONG_PASSWORD, testService, uniqueEmail } from "../support/harness";

describe("signing keys that cannot be used", () => {
  const [current, previous] = TEST_SIGNING_KEYS;
  const mismatched = { ...current!, d: previous!.d };
  const garbage = { ...current!, x: "AAAA", d: "BBBB" };

  it.each([
    ["a private half that does not match its public half", mismatched],
    ["key material that is not an Ed25519 key", garbage],
  ])("with %s, every request answers 500 internal_error and register writes nothing", async (_label, key) => {
    const service = testService({ env: { JWT_SIGNING_KEYS: JSON.stringify([key]) } });
    const health = await service.call("GET", "/health");
    expect(health.status).toBe(500);
    const problem = await problemOf(health);
    expect(problem).toEqual({
      type: "https://secureauth.dev/errors/internal_error",
      title: "Internal server error",
      status: 500,
      code: "internal_error",
    });

    const email = uniqueEmail("misconfigured");
    const register = await service.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } });
    expect(register.status).toBe(500);
    expect(await db.query("select 1 from users where email = $1", [email])).toHaveLength(0);
  });
});
