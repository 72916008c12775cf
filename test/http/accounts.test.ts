// Registration, login and /me against the real stack (the endpoints in
// docs/api.md).
import { describe, expect, it } from "vitest";
import {
  type ApiUser,
  call,
  claimsOf,
  db,
  login,
  problemOf,
  register,
  STRONG_PASSWORD,
  type TokenPair,
  uniqueEmail,
} from "../support/harness";

const { query, auditRows } = db;

describe("POST /auth/register", () => {
  it("creates the account with role user and answers 201 {user, tokens}", async () => {
    const email = uniqueEmail("register");
    const res = await call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD, name: "Alice" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    const { user, tokens } = (await res.json()) as { user: ApiUser; tokens: TokenPair };
    expect(user).toMatchObject({ email, name: "Alice", roles: ["user"], status: "active" });
    expect(user.permissions).toEqual(["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"]);
    expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
    // The v3 User: every field of the contract, hasPassword among them.
    expect(Object.keys(user).sort()).toEqual([
      "createdAt",
      "email",
      "emailVerified",
      "hasPassword",
      "id",
      "mfa",
      "name",
      "permissions",
      "roles",
      "status",
    ]);
    expect(user).toMatchObject({ emailVerified: false, hasPassword: true, mfa: { totp: false, passkeys: 0 } });
    expect(tokens).toMatchObject({ tokenType: "Bearer", expiresIn: 600 });
    expect(tokens.refreshToken).toMatch(/^sart_[A-Za-z0-9_-]{73}$/);
    // When the token lapses if unused: the earlier of the idle expiry (REFRESH_IDLE_TTL, 7 days) and the absolute one
    // (30 days).
    expect(tokens.refreshExpiresIn).toBe(604800);
    expect(tokens.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const claims = claimsOf(tokens.accessToken);
    expect(claims).toMatchObject({ sub: user.id, sid: tokens.sessionId, roles: ["user"] });

    const [row] = await query<{ password_hash: string; email: string }>(
      "select password_hash, email from users where id = $1",
      [user.id],
    );
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect(row!.password_hash).not.toContain(STRONG_PASSWORD);
    const sessions = await query("select * from sessions where user_id = $1", [user.id]);
    expect(sessions).toHaveLength(1);
    const tokensStored = await query<{ token_hash: string }>(
      "select token_hash from refresh_tokens where session_id = $1",
      [tokens.sessionId],
    );
    expect(tokensStored).toHaveLength(1);
    expect(tokensStored[0]!.token_hash).not.toContain(tokens.refreshToken);
    expect(tokensStored[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("writes user.registered in the audit trail with no password, token or hash", async () => {
    const { user, tokens } = await register();
    const rows = await auditRows({ userId: user.id });
    // Written in the same statement (one instant): the registration and the verification mail's link.
    expect(rows.map((r) => r.event).sort()).toEqual(["user.email_verification_sent", "user.registered"]);
    expect(rows.find((r) => r.event === "user.registered")!.session_id).toBe(tokens.sessionId);
    const [stored] = await query<{ password_hash: string }>("select password_hash from users where id = $1", [user.id]);
    const serialized = JSON.stringify(rows);
    for (const secret of [STRONG_PASSWORD, tokens.refreshToken, tokens.accessToken, stored!.password_hash])
      expect(serialized).not.toContain(secret);
  });

  it("normalises the email: trimmed, NFKC, lower-cased, unique on that form", async () => {
    const local = `Case-${crypto.randomUUID().slice(0, 8)}`;
    const res = await call("POST", "/auth/register", {
      body: { email: `  ${local}@EXAMPLE.com `, password: STRONG_PASSWORD },
    });
    expect(res.status).toBe(201);
    const { user } = (await res.json()) as { user: ApiUser; tokens: TokenPair };
    expect(user.email).toBe(`${local.toLowerCase()}@example.com`);

    // Fullwidth letters fold to ASCII under NFKC: the same account.
    const fullwidth = `${local}@ＥＸＡＭＰＬＥ.com`;
    const again = await call("POST", "/auth/register", { body: { email: fullwidth, password: STRONG_PASSWORD } });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe("email_taken");
  });

  it("answers 409 email_taken for an existing email and writes nothing", async () => {
    const { email } = await register();
    const before = await query<{ n: string }>("select count(*) as n from users");
    const res = await call("POST", "/auth/register", { body: { email, password: "another strong passphrase 9" } });
    expect(res.status).toBe(409);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({
      code: "email_taken",
      status: 409,
      type: "https://secureauth.dev/errors/email_taken",
    });
    const after = await query<{ n: string }>("select count(*) as n from users");
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  describe("password policy", () => {
    it.each([
      ["11 code points", "a".repeat(11)],
      ["129 code points", "b".repeat(129)],
      ["a common password", "password1234"],
    ])("refuses %s with validation_failed on path password and creates no user", async (_label, password) => {
      const email = uniqueEmail("policy");
      const res = await call("POST", "/auth/register", { body: { email, password } });
      expect(res.status).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors?.map((e) => e.path)).toContain("password");
      expect(JSON.stringify(problem)).not.toContain(password);
      expect(await query("select 1 from users where email = $1", [email])).toHaveLength(0);
    });

    it("accepts 12 code points and counts astral characters once each", async () => {
      const res = await call("POST", "/auth/register", {
        body: { email: uniqueEmail("policy"), password: "🔐".repeat(12) },
      });
      expect(res.status).toBe(201);
    });

    it("has no composition rules: a long lower-case passphrase is fine", async () => {
      const res = await call("POST", "/auth/register", {
        body: { email: uniqueEmail("policy"), password: "purple elephants dance quietly" },
      });
      expect(res.status).toBe(201);
    });
  });

  describe("mass assignment: privileged fields in the body", () => {
    it.each(["role", "roles", "status", "id", "permissions"])(
      "refuses %s with validation_failed and creates no user",
      async (field) => {
        const email = uniqueEmail("privileged");
        const value =
          field === "roles" || field === "permissions" ? ["admin"] : field === "id" ? crypto.randomUUID() : "admin";
        const res = await call("POST", "/auth/register", {
          body: { email, password: STRONG_PASSWORD, [field]: value },
        });
        expect(res.status).toBe(400);
        expect((await problemOf(res)).code).toBe("validation_failed");
        expect(await query("select 1 from users where email = $1", [email])).toHaveLength(0);
      },
    );

    it("refuses a __proto__ key (prototype pollution) and creates no user", async () => {
      const email = uniqueEmail("proto");
      const raw = `{"email":"${email}","password":"${STRONG_PASSWORD}","__proto__":{"roles":["admin"]}}`;
      const res = await call("POST", "/auth/register", {
        rawBody: raw,
        headers: { "Content-Type": "application/json" },
      });
      expect(res.status).toBe(400);
      expect(await query("select 1 from users where email = $1", [email])).toHaveLength(0);
    });
  });

  it.each([
    ["a missing password", { email: "x@example.com" }],
    ["a non-string email", { email: 42, password: STRONG_PASSWORD }],
    ["a malformed email", { email: "not-an-email", password: STRONG_PASSWORD }],
    ["an array body", [1, 2]],
  ])("answers 400 validation_failed for %s", async (_label, body) => {
    const res = await call("POST", "/auth/register", { body });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe("validation_failed");
    expect(Array.isArray(problem.errors)).toBe(true);
  });
});

describe("POST /auth/login", () => {
  it("signs in with the right password: 200 {user, tokens}, a new session with device info, audited", async () => {
    const account = await register();
    const res = await call("POST", "/auth/login", {
      body: { email: account.email.toUpperCase(), password: account.password, deviceName: "Alice's laptop" },
      headers: { "User-Agent": "TestAgent/1.0", "CF-Connecting-IP": "198.51.100.7", "X-Forwarded-For": "10.9.9.9" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { user, tokens } = (await res.json()) as { user: ApiUser; tokens: TokenPair };
    expect(user.id).toBe(account.user.id);
    expect(tokens.sessionId).not.toBe(account.tokens.sessionId);
    const [session] = await query<{ device: Record<string, string> }>("select device from sessions where id = $1", [
      tokens.sessionId,
    ]);
    expect(session!.device).toEqual({ name: "Alice's laptop", userAgent: "TestAgent/1.0", ip: "198.51.100.7" });
    const events = await auditRows({ userId: user.id, event: "auth.login_succeeded" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ session_id: tokens.sessionId, ip: "198.51.100.7", user_agent: "TestAgent/1.0" });
  });

  describe("user enumeration", () => {
    it("answers an unknown email, a wrong password and a disabled account identically", async () => {
      const wrong = await register();
      const disabled = await register();
      await query("update users set status = 'disabled' where id = $1", [disabled.user.id]);

      const attempts = await Promise.all([
        call("POST", "/auth/login", { body: { email: uniqueEmail("nobody"), password: STRONG_PASSWORD } }),
        call("POST", "/auth/login", { body: { email: wrong.email, password: "wrong password entirely" } }),
        call("POST", "/auth/login", { body: { email: disabled.email, password: disabled.password } }),
      ]);
      const shapes = await Promise.all(
        attempts.map(async (res) => ({
          status: res.status,
          headers: [...res.headers.entries()].filter(([name]) => name !== "date").sort(),
          body: await res.text(),
        })),
      );
      expect(shapes[0]!.status).toBe(401);
      expect(JSON.parse(shapes[0]!.body)).toMatchObject({ code: "invalid_credentials", status: 401 });
      expect(shapes[1]).toEqual(shapes[0]);
      expect(shapes[2]).toEqual(shapes[0]);
    });

    it("records auth.login_failed with a reason and no password", async () => {
      const account = await register();
      await call("POST", "/auth/login", { body: { email: account.email, password: "not the right one at all" } });
      const rows = await auditRows({ userId: account.user.id, event: "auth.login_failed" });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.metadata).toEqual({ reason: "wrong_password" });
      expect(JSON.stringify(rows)).not.toContain("not the right one at all");
    });
  });

  it("rehashes a password stored with older argon2 parameters on login", async () => {
    const account = await register();
    const [before] = await query<{ password_hash: string }>("select password_hash from users where id = $1", [
      account.user.id,
    ]);
    // The same hash relabelled with other parameters would not verify, so store a real hash made at other parameters.
    const { PasswordHasher } = await import("../../src/features/accounts/passwords");
    const older = await new PasswordHasher({ memoryKib: 32, iterations: 1, parallelism: 1 }).hash(account.password);
    await query("update users set password_hash = $2 where id = $1", [account.user.id, older]);

    await login(account.email, account.password);
    const [after] = await query<{ password_hash: string }>("select password_hash from users where id = $1", [
      account.user.id,
    ]);
    expect(after!.password_hash).not.toBe(older);
    expect(after!.password_hash).toMatch(/\$m=64,t=1,p=1\$/);
    expect(before!.password_hash).toMatch(/\$m=64,t=1,p=1\$/);
    await login(account.email, account.password);
  });

  describe("credential stuffing: per-account throttling", () => {
    it("locks the account after repeated failures with 429 and Retry-After, even for the right password", async () => {
      const account = await register();
      for (let i = 0; i < 5; i++) {
        const res = await call("POST", "/auth/login", {
          body: { email: account.email, password: `wrong password ${i} xx` },
        });
        expect(res.status).toBe(401);
      }
      const locked = await call("POST", "/auth/login", { body: { email: account.email, password: account.password } });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await problemOf(locked)).code).toBe("rate_limited");
      expect(await auditRows({ userId: account.user.id, event: "auth.throttled" })).toHaveLength(1);
    });

    it("throttles an unknown email the same way, so a lock reveals nothing", async () => {
      const email = uniqueEmail("ghost");
      for (let i = 0; i < 5; i++)
        await call("POST", "/auth/login", { body: { email, password: `wrong password ${i} xx` } });
      const locked = await call("POST", "/auth/login", { body: { email, password: STRONG_PASSWORD } });
      expect(locked.status).toBe(429);
      const stored = await query<{ key: string }>("select key from login_throttles");
      expect(JSON.stringify(stored)).not.toContain(email);
    });
  });

  describe("password spraying: per-IP rate limit", () => {
    // wrangler.toml: simple = { limit = 30, period = 60 }.
    const LIMIT = 30;

    it("answers 429 rate_limited with Retry-After once one client IP exceeds the limit", async () => {
      // A documentation address no other test uses, fresh for each run.
      const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
      // The limiter counts in fixed one-minute windows on the wall clock, so a
      // burst may straddle a window boundary and be split across two counts.
      // Two full windows plus one more request are certain to exceed one of
      // them; stop at the first 429.
      const maxRequests = 2 * LIMIT + 2;
      const statuses: number[] = [];
      let limited: Response | undefined;
      for (let i = 0; i < maxRequests && !limited; i++) {
        const res = await call("POST", "/auth/login", {
          body: { email: uniqueEmail("spray"), password: "some wrong password" },
          headers: { "CF-Connecting-IP": ip },
        });
        statuses.push(res.status);
        if (res.status === 429) limited = res;
        else await res.body?.cancel();
      }
      expect(limited, `no 429 after ${statuses.length} requests: ${statuses.join(",")}`).toBeDefined();
      expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await problemOf(limited!)).toMatchObject({ code: "rate_limited", status: 429 });
      // Everything before the first 429 was an ordinary failed login, and at
      // least a full window's worth of them got through before the limit bit.
      const before = statuses.slice(0, -1);
      expect(before.filter((s) => s !== 401)).toEqual([]);
      expect(before.length).toBeGreaterThanOrEqual(LIMIT);
    });
  });
});

describe("GET /me", () => {
  it("returns the signed-in user", async () => {
    const account = await register({ name: "Mia" });
    const res = await call("GET", "/me", { token: account.tokens.accessToken });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user: account.user });
  });

  it("answers 401 invalid_request without a token and never runs the handler", async () => {
    const res = await call("GET", "/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_request"');
    expect((await problemOf(res)).code).toBe("invalid_token");
  });
});
