// Throttling through the real stack. Per account, under concurrency: every
// attempt is admitted before the password is checked, so parallel guessing
// gets no more tries than sequential guessing, and each lock is audited
// once. At the edge (the real Miniflare rate-limiting bindings of
// wrangler.toml): per client network, per normalised email on register, and
// per session, not per network, on refresh.
import { describe, expect, it } from "vitest";
import {
  call,
  db,
  fakeClock,
  login,
  problemOf,
  refresh,
  register,
  STRONG_PASSWORD,
  testService,
  uniqueEmail,
  type TokenPair,
} from "../support/harness";

const { query, auditRows } = db;

/** The stored key: a hash of the normalised email, never the address. */
async function throttleKey(email: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`login:${email}`));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function parallelLogins(email: string, count: number) {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      call("POST", "/auth/login", { body: { email, password: `wrong password number ${i}` } }),
    ),
  );
  return responses.map((r) => r.status);
}

describe("parallel password guessing", () => {
  it("with LOGIN_MAX_FAILURES=1, exactly one of 20 simultaneous first attempts is checked", async () => {
    const oneTry = testService({ env: { LOGIN_MAX_FAILURES: "1" } });
    const email = uniqueEmail("one-try");
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        oneTry.call("POST", "/auth/login", { body: { email, password: `guess ${i} of many` } }),
      ),
    );
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
    expect(
      (await query("select 1 from audit_logs where user_id = $1 and event = 'auth.login_failed'", [account.user.id]))
        .length,
    ).toBeLessThanOrEqual(5);
  });

  it("gets the same treatment on an email that has no account", async () => {
    const email = uniqueEmail("ghost");
    const statuses = await parallelLogins(email, 40);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
    const [row] = await query<{ locked_until: Date | null }>(
      "select locked_until from login_throttles where key = $1",
      [await throttleKey(email)],
    );
    expect(row!.locked_until).not.toBeNull();
  });

  it("lets the right password through after a few wrong ones, and clears the count", async () => {
    const account = await register();
    for (let i = 0; i < 4; i++)
      expect(
        (await call("POST", "/auth/login", { body: { email: account.email, password: `nope nope nope ${i}` } })).status,
      ).toBe(401);
    await login(account.email, account.password);
    expect(
      await query("select 1 from login_throttles where key = $1", [await throttleKey(account.email)]),
    ).toHaveLength(0);
    // The count starts over: four more wrong ones are still answered 401.
    for (let i = 0; i < 4; i++)
      expect(
        (await call("POST", "/auth/login", { body: { email: account.email, password: `again no ${i} xx` } })).status,
      ).toBe(401);
  });

  it("throttles guesses of the current password on POST /auth/password the same way", async () => {
    const account = await register();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call("POST", "/auth/password", {
          token: account.tokens.accessToken,
          body: { currentPassword: `guess number ${i} here`, newPassword: `${STRONG_PASSWORD}!` },
        }),
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
      const res = await call("POST", "/auth/password", {
        token: account.tokens.accessToken,
        body: { currentPassword: account.password, newPassword: "short" },
      });
      expect(res.status).toBe(400);
    }
    await login(account.email, account.password);
  });
});

describe("auth.throttled: one row per lock, not per refused attempt", () => {
  it(
    "many refused attempts during one lock, parallel ones too, write exactly " +
      "one row; a new lock after it expires writes another",
    async () => {
      const clock = fakeClock();
      const service = testService({ clock: clock.clock });
      const account = await service.register();
      const guesses = (n: number, password = "a wrong guess xx") =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            service.call("POST", "/auth/login", { body: { email: account.email, password: `${password} ${i}` } }),
          ),
        );

      const first = (await guesses(30)).map((r) => r.status);
      expect(first.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
      for (let i = 0; i < 10; i++)
        expect(
          (await service.call("POST", "/auth/login", { body: { email: account.email, password: account.password } }))
            .status,
        ).toBe(429);
      expect(await auditRows({ userId: account.user.id, event: "auth.throttled" })).toEqual([
        expect.objectContaining({ metadata: { scope: "account" } }),
      ]);

      // The 15 s lock expires; the next guess is checked and sets a new, longer lock.
      clock.advance(15);
      expect(
        (
          await service.call("POST", "/auth/login", {
            body: { email: account.email, password: "one more wrong guess" },
          })
        ).status,
      ).toBe(401);
      const again = await guesses(10);
      expect(again.map((r) => r.status)).toEqual(Array(10).fill(429));
      expect(Number(again[0]!.headers.get("retry-after"))).toBe(30);
      const rows = await auditRows({ userId: account.user.id, event: "auth.throttled" });
      expect(rows).toHaveLength(2);
      expect(rows.map((r) => r.metadata)).toEqual([{ scope: "account" }, { scope: "account" }]);
      expect(JSON.stringify(rows)).not.toContain(account.email);
    },
  );

  it("an unknown email's lock is audited once too, naming no user", async () => {
    const oneTry = testService({ env: { LOGIN_MAX_FAILURES: "1" } });
    const email = uniqueEmail("ghost-audit");
    const marker = `ghost-audit-${crypto.randomUUID()}`;
    const statuses = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        oneTry.call("POST", "/auth/login", {
          body: { email, password: `guess ${i} of many` },
          headers: { "User-Agent": marker },
        }),
      ),
    );
    expect(statuses.filter((r) => r.status === 429)).toHaveLength(14);
    const rows = await query<{ user_id: string | null; metadata: unknown }>(
      "select user_id, metadata from audit_logs where event = 'auth.throttled' and user_agent = $1",
      [marker],
    );
    expect(rows).toEqual([{ user_id: null, metadata: { scope: "account" } }]);
  });
});

// ---- The edge limits (wrangler.toml [[ratelimits]]) -------------------------

/** wrangler.toml: AUTH_IP_RATE_LIMITER 30, AUTH_EMAIL_RATE_LIMITER 5, AUTH_REFRESH_RATE_LIMITER 60, each per 60 s. */
const IP_LIMIT = 30;
const EMAIL_LIMIT = 5;
const REFRESH_LIMIT = 60;
const PERIOD_SECONDS = 60;

/**
 * The limiters count in fixed windows of the wall clock (Miniflare:
 * floor(now / period)). Before a burst whose exact count matters, wait, if
 * need be, for a window that has `seconds` left, so the burst is not split
 * across two counts.
 */
async function windowWithRoomFor(seconds: number): Promise<void> {
  const left = PERIOD_SECONDS * 1000 - (Date.now() % (PERIOD_SECONDS * 1000));
  if (left < seconds * 1000) await new Promise((resolve) => setTimeout(resolve, left + 250));
}

const hextet = () => Math.floor(Math.random() * 0xffff).toString(16);
/** A documentation /64 (2001:db8::/32) no other run of this file uses: its first four hextets. */
const fresh64 = () => `2001:db8:${hextet()}:${hextet()}`;
/** A shared-address-space IPv4 address (100.64.0.0/10) unlikely to be used twice. */
const freshIPv4 = () =>
  `100.${64 + Math.floor(Math.random() * 64)}.${Math.floor(Math.random() * 256)}.` +
  `${1 + Math.floor(Math.random() * 250)}`;

/** A login that the IP limiter counts and that is answered 400 at once (no body fields): cheap enough for bursts. */
const countedLogin = (ip: string) => call("POST", "/auth/login", { body: {}, headers: { "CF-Connecting-IP": ip } });

describe("per client network (AUTH_IP_RATE_LIMITER): an IPv4 address, an IPv6 /64", () => {
  it("IPv6 addresses in one /64 share one bucket; another /64 has its own", async () => {
    const net = fresh64();
    const [a, b, c, d] = net.split(":");
    // Every spelling of addresses in the one /64: compressed, full with leading zeros, upper case, bracketed, with a
    // zone.
    const sameNetwork = [
      `${net}::1`,
      `${net}:ffff:ffff:ffff:ffff`,
      `${a}:${b!.padStart(4, "0")}:${c!.padStart(4, "0").toUpperCase()}:${d!.padStart(4, "0")}:0:0:0:2`,
      `[${net}::3]`,
      `${net}::4%eth0`,
    ];
    await windowWithRoomFor(10);
    for (let i = 0; i < IP_LIMIT; i++)
      expect((await countedLogin(sameNetwork[i % sameNetwork.length]!)).status).toBe(400);
    const limited = await countedLogin(`${net}:1234:5678:9abc:def0`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe(String(PERIOD_SECONDS));
    expect((await problemOf(limited)).code).toBe("rate_limited");

    // The neighbouring /64 and another /48 are other networks.
    const neighbour = `2001:db8:${b}:${(parseInt(d!, 16) ^ 1).toString(16)}::1`;
    expect((await countedLogin(neighbour)).status).toBe(400);
    expect((await countedLogin(`2001:db8:${hextet()}::1`)).status).toBe(400);
    // The key is scoped per route: the same network may still register.
    expect(
      (await call("POST", "/auth/register", { body: {}, headers: { "CF-Connecting-IP": `${net}::5` } })).status,
    ).toBe(400);
  });

  it("IPv4 is keyed on the address as it is; an IPv4-mapped IPv6 address counts as that IPv4 address", async () => {
    const ip = freshIPv4();
    const [o1, o2, o3, o4] = ip.split(".").map(Number) as [number, number, number, number];
    const mappedHex = `::ffff:${((o1 << 8) | o2).toString(16)}:${((o3 << 8) | o4).toString(16)}`;
    await windowWithRoomFor(10);
    for (let i = 0; i < IP_LIMIT - 2; i++) expect((await countedLogin(ip)).status).toBe(400);
    expect((await countedLogin(`::ffff:${ip}`)).status).toBe(400);
    expect((await countedLogin(mappedHex)).status).toBe(400);
    expect((await countedLogin(ip)).status).toBe(429);
    expect((await countedLogin(`::FFFF:${ip}`)).status).toBe(429);
    // The next address is another client.
    expect((await countedLogin(`${o1}.${o2}.${o3}.${o4 === 251 ? 250 : o4 + 1}`)).status).toBe(400);
  });
});

describe("register per normalised email (AUTH_EMAIL_RATE_LIMITER)", () => {
  it(
    `the ${EMAIL_LIMIT + 1}th registration of one normalised email in a ` +
      `minute is 429, even from different client networks`,
    async () => {
      const email = uniqueEmail("email-limit");
      const [local, domain] = email.split("@") as [string, string];
      const spellings = [
        email,
        email.toUpperCase(),
        `  ${email} `,
        `${local}@${domain.toUpperCase()}`,
        `${local.toUpperCase()}@${domain}`,
        `${local}@${domain}`,
      ];
      await windowWithRoomFor(10);
      const statuses: number[] = [];
      for (const [i, spelling] of spellings.slice(0, EMAIL_LIMIT).entries()) {
        const res = await call("POST", "/auth/register", {
          body: { email: spelling, password: STRONG_PASSWORD },
          headers: { "CF-Connecting-IP": freshIPv4() },
        });
        statuses.push(res.status);
        if (i === 0) expect(res.status).toBe(201);
      }
      expect(statuses).toEqual([201, 409, 409, 409, 409]);
      const limited = await call("POST", "/auth/register", {
        body: { email: spellings[EMAIL_LIMIT], password: STRONG_PASSWORD },
        headers: { "CF-Connecting-IP": `${fresh64()}::1` },
      });
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe(String(PERIOD_SECONDS));
      expect((await problemOf(limited)).code).toBe("rate_limited");
      // Another email is another bucket.
      expect(
        (
          await call("POST", "/auth/register", {
            body: { email: uniqueEmail("email-limit"), password: STRONG_PASSWORD },
          })
        ).status,
      ).toBe(201);
    },
  );

  it(
    "a refused registration computes no hash and creates nothing: no user " +
      "row, and it answers in a fraction of a hash's time",
    async () => {
      // The production argon2id cost, so a hash would show in the time.
      const costly = testService({
        env: { ARGON2_MEMORY_KIB: "19456", ARGON2_ITERATIONS: "2", ARGON2_BELOW_OWASP_MINIMUM_FOR_TESTS_ONLY: "false" },
      });
      const email = uniqueEmail("email-limit-cost");
      await windowWithRoomFor(20);
      // Weak passwords are refused before any hash, but each attempt counts.
      for (let i = 0; i < EMAIL_LIMIT; i++)
        expect((await costly.call("POST", "/auth/register", { body: { email, password: "too short" } })).status).toBe(
          400,
        );

      const hashedStart = Date.now();
      expect(
        (
          await costly.call("POST", "/auth/register", {
            body: { email: uniqueEmail("email-limit-cost"), password: STRONG_PASSWORD },
          })
        ).status,
      ).toBe(201);
      const hashed = Date.now() - hashedStart;

      const refusedStart = Date.now();
      const refused = await costly.call("POST", "/auth/register", { body: { email, password: STRONG_PASSWORD } });
      const refusedTook = Date.now() - refusedStart;
      expect(refused.status).toBe(429);
      expect(await query("select 1 from users where email = $1", [email])).toHaveLength(0);
      expect(refusedTook).toBeLessThan(hashed / 2);
    },
  );
});

describe("refresh is limited per session (AUTH_REFRESH_RATE_LIMITER), not per client network", () => {
  /** Registers `n` accounts (no client IP, so no per-network limit applies), a few at a time. */
  async function sessions(n: number): Promise<TokenPair[]> {
    const pairs: TokenPair[] = [];
    for (let i = 0; i < n; i += 5)
      pairs.push(
        ...(await Promise.all(Array.from({ length: Math.min(5, n - i) }, async () => (await register()).tokens))),
      );
    return pairs;
  }

  it(
    `more than ${IP_LIMIT} refreshes of different sessions from one client ` +
      `network in a minute all succeed (thousands of users share a NAT address)`,
    async () => {
      const pairs = await sessions(IP_LIMIT + 5);
      const ip = freshIPv4();
      await windowWithRoomFor(15);
      const statuses: number[] = [];
      for (const pair of pairs) {
        const res = await refresh(pair.refreshToken, { headers: { "CF-Connecting-IP": ip } });
        statuses.push(res.status);
        await res.body?.cancel();
      }
      expect(statuses).toEqual(Array(IP_LIMIT + 5).fill(200));
    },
  );

  it(
    `the ${REFRESH_LIMIT + 1}st refresh of one session within the period is ` +
      `429 with Retry-After, before any database statement`,
    async () => {
      const [pair] = await sessions(1);
      const [other] = await sessions(1);
      await windowWithRoomFor(25);
      let token = pair!.refreshToken;
      for (let i = 0; i < REFRESH_LIMIT; i++) {
        const res = await refresh(token, { headers: { "CF-Connecting-IP": freshIPv4() } });
        expect(res.status, `refresh ${i + 1}`).toBe(200);
        token = ((await res.json()) as { tokens: TokenPair }).tokens.refreshToken;
      }
      await db.resetStatementStats();
      const limited = await refresh(token);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe(String(PERIOD_SECONDS));
      expect((await problemOf(limited)).code).toBe("rate_limited");
      const ran = await query(
        `select 1 from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
          and query not ilike '%pg_stat_statements%' and (query ilike '%refresh_tokens%' or query ilike '%sessions%')`,
      );
      expect(ran).toEqual([]);
      // The refused token was not used: it is still its session's current token.
      const [row] = await query<{ used_at: Date | null }>(
        "select used_at from refresh_tokens where session_id = $1 and parent_hash is not null order by created_at " +
          "desc limit 1",
        [pair!.sessionId],
      );
      expect(row!.used_at).toBeNull();
      // Other sessions are not affected.
      expect((await refresh(other!.refreshToken)).status).toBe(200);
    },
  );

  it("a burst of 20 parallel refreshes of one session all get their answer: 200 and the same successor", async () => {
    const [pair] = await sessions(1);
    await windowWithRoomFor(10);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => refresh(pair!.refreshToken, { headers: { "CF-Connecting-IP": freshIPv4() } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const successors = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { tokens: TokenPair }).tokens.refreshToken),
    );
    expect(new Set(successors).size).toBe(1);
    expect(successors[0]).not.toBe(pair!.refreshToken);
  });
});
