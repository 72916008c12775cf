// A signing key that parses as JSON but is not a usable key is a
// misconfiguration like a missing secret: every request answers 500 with no
// details, before anything is written.
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { query, testEnv } from "../support/db";
import { problemOf, STRONG_PASSWORD, uniqueEmail } from "../support/harness";
import { TEST_SIGNING_KEYS } from "../setup/secrets";

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

function withKeys(keys: unknown[]) {
  return { ...testEnv, JWT_SIGNING_KEYS: JSON.stringify(keys) } as never;
}

describe("signing keys that cannot be used", () => {
  const [current, previous] = TEST_SIGNING_KEYS;
  const mismatched = { ...current!, d: previous!.d };
  const garbage = { ...current!, x: "AAAA", d: "BBBB" };

  it.each([
    ["a private half that does not match its public half", mismatched],
    ["key material that is not an Ed25519 key", garbage],
  ])("with %s, every request answers 500 internal_error and register writes nothing", async (_label, key) => {
    const env = withKeys([key]);
    const health = await worker.fetch(new Request("https://auth.test/health"), env, ctx);
    expect(health.status).toBe(500);
    const problem = await problemOf(health);
    expect(problem).toEqual({ type: "https://secureauth.dev/errors/internal_error", title: "Internal server error", status: 500, code: "internal_error" });

    const email = uniqueEmail("misconfigured");
    const register = await worker.fetch(
      new Request("https://auth.test/auth/register", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password: STRONG_PASSWORD }) }),
      env,
      ctx,
    );
    expect(register.status).toBe(500);
    expect(await query("select 1 from users where email = $1", [email])).toHaveLength(0);
  });
});
