// Device tokens through the real stack (OWASP "Slow down online guessing
// attacks with device cookies"): a successful sign-in answers a deviceToken;
// a sign-in presenting it counts in that device's own throttle bucket, so a
// stranger filling the account's bucket never locks the owner's device out.
import { afterEach, describe, expect, it, vi } from "vitest";
import { accountThrottleKey } from "../../src/features/accounts/service";
import { call, db, problemOf, register, testService } from "../support/harness";
import { attempt, loggedIn, MAX_FAILURES, strangerLocks } from "../support/login-attempts";

const { query, auditRows } = db;

const DEVICE_TOKEN = /^sadt_[A-Za-z0-9_-]{22}\.[0-9a-f-]{36}\.(0|[1-9][0-9]*)\.[A-Za-z0-9_-]{43}$/;

/** The owner: an account and a device token from a first sign-in on their device. */
async function ownerWithDevice() {
  const account = await register();
  const { deviceToken } = await loggedIn(account.email, account.password);
  return { ...account, deviceToken };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a stranger's guesses never lock the owner's device out", () => {
  it(
    "with the account locked by a stranger, the owner's device token and the " + "right password sign in (200)",
    async () => {
      const owner = await ownerWithDevice();
      await strangerLocks(owner.email);
      expect((await attempt(owner.email, owner.password)).status).toBe(429);

      const signedIn = await loggedIn(owner.email, owner.password, owner.deviceToken);
      expect(signedIn.user.id).toBe(owner.user.id);
      expect(signedIn.deviceToken).toBe(owner.deviceToken);
      // The owner's sign-in cleared only the device's bucket: guessing stays bounded account-wide.
      expect((await attempt(owner.email, owner.password)).status).toBe(429);
      const [accountRow] = await query<{ locked_until: Date | null }>(
        "select locked_until from login_throttles where key = $1",
        [accountThrottleKey(owner.email)],
      );
      expect(accountRow!.locked_until).not.toBeNull();
    },
  );

  it(
    `wrong passwords with that device token are throttled in the device's ` +
      `own bucket after LOGIN_MAX_FAILURES (${MAX_FAILURES})`,
    async () => {
      const owner = await ownerWithDevice();
      await strangerLocks(owner.email);
      for (let i = 0; i < MAX_FAILURES; i++)
        expect((await attempt(owner.email, `the owner's typo ${i} xx`, owner.deviceToken)).status).toBe(401);
      const limited = await attempt(owner.email, owner.password, owner.deviceToken);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(14);
      expect((await problemOf(limited)).code).toBe("rate_limited");
      // One auth.throttled row per locked bucket, each naming its scope and nothing else.
      const rows = await auditRows({ userId: owner.user.id, event: "auth.throttled" });
      expect(rows.map((r) => r.metadata)).toEqual([{ scope: "account" }, { scope: "device" }]);
    },
  );

  it("guesses presenting the device token do not count in the account's bucket", async () => {
    const owner = await ownerWithDevice();
    for (let i = 0; i < MAX_FAILURES; i++)
      expect((await attempt(owner.email, `the owner's typo ${i} xx`, owner.deviceToken)).status).toBe(401);
    expect((await attempt(owner.email, owner.password, owner.deviceToken)).status).toBe(429);
    // Another device of the owner, with no device token yet, is let in.
    const elsewhere = await loggedIn(owner.email, owner.password);
    expect(elsewhere.deviceToken).not.toBe(owner.deviceToken);
  });

  it(
    "a first attempt presenting a device token is one round trip to the " +
      "throttle, with the account read in it, and the device's key holds no " +
      "part of the token",
    async () => {
      const owner = await ownerWithDevice();
      await db.resetStatementStats();
      expect((await attempt(owner.email, "the owner's typo xx", owner.deviceToken)).status).toBe(401);
      const statements = await query<{ query: string; calls: string }>(
        `select query, calls::text as calls from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
          and query not ilike '%pg_stat_statements%' and query ilike '%login_throttles%'`,
      );
      expect(statements.map((s) => s.calls)).toEqual(["1"]);
      expect(statements[0]!.query).toMatch(/from users/i);

      const keys = (
        await query<{ key: string }>("select key from login_throttles where key like $1", [
          `device:${accountThrottleKey(owner.email)}:%`,
        ])
      ).map((r) => r.key);
      expect(keys).toEqual([expect.stringMatching(/^device:[0-9a-f]{64}:[0-9a-f]{64}$/)]);
      expect(keys[0]).not.toContain(owner.deviceToken.slice(5, 27));
    },
  );
});

describe("a device token is valid only for the account it was issued to", () => {
  it(
    "a device token issued to account A is worthless for account B: B's " +
      "guesses with it count in B's account bucket",
    async () => {
      const a = await ownerWithDevice();
      const b = await register();
      for (let i = 0; i < MAX_FAILURES; i++)
        expect((await attempt(b.email, `a guess with A's token ${i}`, a.deviceToken)).status).toBe(401);
      expect((await attempt(b.email, b.password)).status).toBe(429);
      expect((await attempt(b.email, b.password, a.deviceToken)).status).toBe(429);
      // A's device is untouched.
      expect((await loggedIn(a.email, a.password, a.deviceToken)).deviceToken).toBe(a.deviceToken);
    },
  );

  it.each([
    ["a forged tag", (good: string) => good.slice(0, -1) + (good.endsWith("A") ? "B" : "A")],
    [
      "a nonce changed under its tag",
      (good: string) => good.slice(0, 5) + (good[5] === "A" ? "B" : "A") + good.slice(6),
    ],
    ["a garbled token", (good: string) => good.slice(0, 30)],
    [
      "a random token of the right shape",
      (good: string) => `sadt_${"x".repeat(22)}.${good.split(".")[1]}.0.${"x".repeat(43)}`,
    ],
    ["the right token for another generation", (good: string) => good.replace(/\.0\./, ".1.")],
    ["an empty string", () => ""],
  ])("%s counts in the account's bucket like no token at all", async (_label, spoil) => {
    const owner = await ownerWithDevice();
    await strangerLocks(owner.email);
    const res = await attempt(owner.email, owner.password, spoil(owner.deviceToken));
    expect(res.status).toBe(429);
  });

  it(
    "the response's deviceToken round-trips: the presented one comes back; a " +
      "garbled one is replaced by a new one that works",
    async () => {
      const account = await register();
      const first = await loggedIn(account.email, account.password);
      expect(first.deviceToken).toMatch(DEVICE_TOKEN);
      expect((await loggedIn(account.email.toUpperCase(), account.password, first.deviceToken)).deviceToken).toBe(
        first.deviceToken,
      );

      const replaced = await loggedIn(account.email, account.password, `${first.deviceToken.slice(0, -3)}abc`);
      expect(replaced.deviceToken).toMatch(DEVICE_TOKEN);
      expect(replaced.deviceToken).not.toBe(first.deviceToken);
      await strangerLocks(account.email);
      expect((await loggedIn(account.email, account.password, replaced.deviceToken)).deviceToken).toBe(
        replaced.deviceToken,
      );
      // The first device still has its own bucket too.
      expect((await loggedIn(account.email, account.password, first.deviceToken)).deviceToken).toBe(first.deviceToken);
    },
  );

  it("a null deviceToken is the same as none; a non-string one is validation_failed", async () => {
    const account = await register();
    expect(
      (
        await call("POST", "/auth/login", {
          body: { email: account.email, password: account.password, deviceToken: null },
        })
      ).status,
    ).toBe(200);
    const res = await call("POST", "/auth/login", {
      body: { email: account.email, password: account.password, deviceToken: 42 },
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.map((e) => e.path)).toEqual(["deviceToken"]);
  });
});

describe("the device token is a secret", () => {
  it("appears in no audit row, throttle row, session row or log line", async () => {
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    const owner = await ownerWithDevice();
    await strangerLocks(owner.email);
    for (let i = 0; i < MAX_FAILURES + 2; i++)
      await attempt(owner.email, `the owner's typo ${i} xx`, owner.deviceToken);

    const stored = JSON.stringify([
      await auditRows({ userId: owner.user.id }),
      await query("select * from login_throttles"),
      await query("select * from sessions where user_id = $1", [owner.user.id]),
    ]);
    const nonce = owner.deviceToken.slice(5, 27);
    const tag = owner.deviceToken.slice(-43);
    for (const text of [stored, logged.join("\n")]) {
      expect(text).not.toContain(nonce);
      expect(text).not.toContain(tag);
    }
  });
});

describe("POST /auth/login in /openapi.json", () => {
  it("documents deviceToken in the body (optional) and in the 200 response (required)", async () => {
    type Schema = { properties?: Record<string, unknown>; required?: string[] };
    const doc = (await (await call("GET", "/openapi.json")).json()) as {
      paths: Record<
        string,
        {
          post: {
            requestBody: { content: Record<string, { schema: Schema }> };
            responses: Record<string, { content: Record<string, { schema: Schema }> }>;
          };
        }
      >;
    };
    const login = doc.paths["/auth/login"]!.post;
    const body = login.requestBody.content["application/json"]!.schema;
    const ok = login.responses["200"]!.content["application/json"]!.schema;
    expect(Object.keys(body.properties ?? {})).toContain("deviceToken");
    expect(body.required ?? []).not.toContain("deviceToken");
    expect(Object.keys(ok.properties ?? {})).toEqual(expect.arrayContaining(["user", "tokens", "deviceToken"]));
    expect(ok.required).toEqual(expect.arrayContaining(["user", "tokens", "deviceToken"]));
    // Register answers {user, tokens}, as before.
    const registered = doc.paths["/auth/register"]!.post.responses["201"]!.content["application/json"]!.schema;
    expect(Object.keys(registered.properties ?? {})).not.toContain("deviceToken");
  });
});

describe("LoginThrottleStore.clearAccount on Postgres (for a completed password reset)", () => {
  it("clears the account's bucket and every device bucket under it, and no other account's", async () => {
    const owner = await ownerWithDevice();
    const secondDevice = await loggedIn(owner.email, owner.password);
    const other = await register();
    await attempt(owner.email, "a stranger's guess xx");
    await attempt(owner.email, "a typo on the first device", owner.deviceToken);
    await attempt(owner.email, "a typo on the second device", secondDevice.deviceToken);
    await attempt(other.email, "someone else's typo xx");
    const accountKey = accountThrottleKey(owner.email);
    const ownerRows = () =>
      query<{ key: string }>("select key from login_throttles where key = $1 or key like $2", [
        accountKey,
        `device:${accountKey}:%`,
      ]);
    expect(await ownerRows()).toHaveLength(3);

    const { stores, close } = testService().stores();
    try {
      await stores.throttles.clearAccount(accountKey);
    } finally {
      await close();
    }
    expect(await ownerRows()).toEqual([]);
    expect(await query("select 1 from login_throttles where key = $1", [accountThrottleKey(other.email)])).toHaveLength(
      1,
    );
    // With every bucket clear, each device and the account start over.
    expect((await attempt(owner.email, owner.password)).status).toBe(200);
  });

  it("finds an account's device rows through the partial index, whatever the collation", async () => {
    const plan = await db.withClient(async (client) => {
      await client.query("begin");
      try {
        await client.query("set local enable_seqscan = off");
        const accountKey = "0".repeat(64);
        const result = await client.query(
          "explain delete from login_throttles where key = $1 or (key like 'device:%' and key like $2)",
          [accountKey, `device:${accountKey}:%`],
        );
        return result.rows.map((r: Record<string, string>) => Object.values(r).join(" ")).join("\n");
      } finally {
        await client.query("rollback");
      }
    });
    expect(plan).toContain("login_throttles_device_key_idx");
  });
});
