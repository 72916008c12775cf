// Per-account throttling under concurrency: every attempt is admitted before
// the password is checked, so parallel guessing gets no more tries than
// sequential guessing.
import { describe, expect, it } from "vitest";
import { call, db, login, problemOf, register, STRONG_PASSWORD, testService, uniqueEmail } from "../support/harness";

const { query } = db;

/** The stored key: a hash of the normalised email, never the address. */
async function throttleKey(email: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`login:${email}`));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function parallelLogins(email: string, count: number) {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) => call("POST", "/auth/login", { body: { email, password: `wrong password number ${i}` } })),
  );
  return responses.map((r) => r.status);
}

describe("parallel password guessing", () => {
  it("with LOGIN_MAX_FAILURES=1, exactly one of 20 simultaneous first attempts is checked", async () => {
    const oneTry = testService({ env: { LOGIN_MAX_FAILURES: "1" } });
    const email = uniqueEmail("one-try");
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => oneTry.call("POST", "/auth/login", { body: { email, password: `guess ${i} of many` } })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(19);
    // Every refusal reports the real lock: 15 s from the first attempt.
    for (const res of responses.filter((r) => r.status === 429)) {
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(14);
      expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(15);
    }
  });

  it("gets at most LOGIN_MAX_FAILURES password checks on an existing account; the rest answer 429", async () => {
    const account = await register();
    const statuses = await parallelLogins(account.email, 40);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect((await query("select 1 from audit_logs where user_id = $1 and event = 'auth.login_failed'", [account.user.id])).length).toBeLessThanOrEqual(5);
  });

  it("gets the same treatment on an email that has no account", async () => {
    const email = uniqueEmail("ghost");
    const statuses = await parallelLogins(email, 40);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
    const [row] = await query<{ locked_until: Date | null }>("select locked_until from login_throttles where key = $1", [await throttleKey(email)]);
    expect(row!.locked_until).not.toBeNull();
  });

  it("lets the right password through after a few wrong ones, and clears the count", async () => {
    const account = await register();
    for (let i = 0; i < 4; i++) expect((await call("POST", "/auth/login", { body: { email: account.email, password: `nope nope nope ${i}` } })).status).toBe(401);
    await login(account.email, account.password);
    expect(await query("select 1 from login_throttles where key = $1", [await throttleKey(account.email)])).toHaveLength(0);
    // The count starts over: four more wrong ones are still answered 401.
    for (let i = 0; i < 4; i++) expect((await call("POST", "/auth/login", { body: { email: account.email, password: `again no ${i} xx` } })).status).toBe(401);
  });

  it("throttles guesses of the current password on POST /auth/password the same way", async () => {
    const account = await register();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call("POST", "/auth/password", { token: account.tokens.accessToken, body: { currentPassword: `guess number ${i} here`, newPassword: STRONG_PASSWORD + "!" } }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    const limited = responses.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await problemOf(limited)).code).toBe("rate_limited");
  });
});

describe("password change", () => {
  it("a rejected new password is not counted as a guess: no lock, and sign-in still works", async () => {
    const account = await register();
    for (let i = 0; i < 7; i++) {
      const res = await call("POST", "/auth/password", { token: account.tokens.accessToken, body: { currentPassword: account.password, newPassword: "short" } });
      expect(res.status).toBe(400);
    }
    await login(account.email, account.password);
  });
});
