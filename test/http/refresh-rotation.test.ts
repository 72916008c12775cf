// Refresh-token rotation with theft detection (docs/sessions.md: a deterministic
// successor, all four cases) against the real stack.
import type { Client } from "@neondatabase/serverless";
import { describe, expect, it } from "vitest";
import {
  call,
  claimsOf,
  db,
  fakeClock,
  login,
  problemOf,
  randomRefreshToken,
  refresh,
  refreshOk,
  register,
  testService,
  type TokenPair,
} from "../support/harness";

const { query, withClient, auditRows } = db;

async function liveTokens(sessionId: string) {
  return query<{ token_hash: string }>(
    "select token_hash from refresh_tokens where session_id = $1 and used_at is null",
    [sessionId],
  );
}

async function tokenCount(sessionId: string): Promise<number> {
  const [row] = await query<{ n: string }>("select count(*) as n from refresh_tokens where session_id = $1", [
    sessionId,
  ]);
  return Number(row!.n);
}

/** Tokens of the session that a refresh could still accept: unused, in a live session. */
async function presentableTokens(sessionId: string) {
  return query(
    `select rt.token_hash from refresh_tokens rt join sessions s on s.id = rt.session_id
     where rt.session_id = $1 and rt.used_at is null and rt.expires_at > now()
       and s.revoked_at is null and s.idle_expires_at > now() and s.absolute_expires_at > now()`,
    [sessionId],
  );
}

/** Waits (bounded) until some other backend is blocked behind the locks held by backend `holderPid`. */
async function waitUntilBlockedBy(holderPid: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const blocked = await query("select pid from pg_stat_activity where $1::int = any(pg_blocking_pids(pid))", [
      holderPid,
    ]);
    if (blocked.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the refresh never waited on the session row lock");
}

/**
 * Holds `select ... for update` on the session in a transaction of its own,
 * starts a refresh while the lock is held, waits until the refresh is blocked
 * on it, then runs `finish` in the same transaction (commit or rollback) and
 * returns the refresh's response.
 */
async function refreshAgainstLockedSession(
  sessionId: string,
  refreshToken: string,
  finish: (client: Client) => Promise<void>,
): Promise<Response> {
  return withClient(async (client) => {
    await client.query("begin");
    const [holder] = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows;
    const locked = await client.query("select id from sessions where id = $1 for update", [sessionId]);
    expect(locked.rows).toHaveLength(1);
    let settled = false;
    const pending = refresh(refreshToken).finally(() => {
      settled = true;
    });
    await waitUntilBlockedBy(holder!.pid);
    // Blocked, not merely slow: no answer while the lock is held.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    await finish(client);
    return pending;
  });
}

async function sessionRow(sessionId: string) {
  const [row] = await query<{
    revoked_at: Date | null;
    revoked_reason: string | null;
    last_used_at: Date;
    idle_expires_at: Date;
    absolute_expires_at: Date;
    device: Record<string, string>;
  }>("select * from sessions where id = $1", [sessionId]);
  return row!;
}

describe("POST /auth/refresh: rotation", () => {
  it("rotates along a chain RT1 -> RT2 -> RT3, each a new token in the same session", async () => {
    const { tokens: first } = await register();
    const second = await refreshOk(first.refreshToken);
    const third = await refreshOk(second.refreshToken);
    expect(new Set([first.refreshToken, second.refreshToken, third.refreshToken]).size).toBe(3);
    expect(second.sessionId).toBe(first.sessionId);
    expect(third.sessionId).toBe(first.sessionId);
    expect(third).toMatchObject({ tokenType: "Bearer", expiresIn: 600 });
    expect(third.refreshToken).toMatch(/^sart_[A-Za-z0-9_-]{73}$/);
    expect(await liveTokens(first.sessionId)).toHaveLength(1);
    const me = await call("GET", "/me", { token: third.accessToken });
    expect(me.status).toBe(200);
    expect(await auditRows({ sessionId: first.sessionId, event: "auth.refreshed" })).toHaveLength(2);
  });

  it("answers with no-store and the token-pair shape", async () => {
    const { tokens } = await register();
    const res = await refresh(tokens.refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    const body = (await res.json()) as { tokens: TokenPair };
    expect(Object.keys(body)).toEqual(["tokens"]);
    expect(Object.keys(body.tokens).sort()).toEqual([
      "accessToken",
      "expiresIn",
      "refreshExpiresIn",
      "refreshToken",
      "sessionId",
      "tokenType",
    ]);
  });

  it("stores only SHA-256 hashes, never a usable token", async () => {
    const { tokens } = await register();
    const next = await refreshOk(tokens.refreshToken);
    const stored = await query<{ token_hash: string; parent_hash: string | null }>(
      "select token_hash, parent_hash from refresh_tokens where session_id = $1",
      [tokens.sessionId],
    );
    const dump = JSON.stringify(stored);
    expect(dump).not.toContain(tokens.refreshToken.slice(5));
    expect(dump).not.toContain(next.refreshToken.slice(5));
    for (const row of stored) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("slides the idle expiry and records lastUsedAt and the device IP", async () => {
    const clock = fakeClock();
    const service = testService({ clock: clock.clock });
    const { tokens } = await service.register();
    const before = await sessionRow(tokens.sessionId);
    clock.advance(3600);
    await service.refreshOk(tokens.refreshToken, { headers: { "CF-Connecting-IP": "192.0.2.44" } });
    const after = await sessionRow(tokens.sessionId);
    expect(new Date(after.idle_expires_at).getTime() - new Date(before.idle_expires_at).getTime()).toBe(3600_000);
    expect(new Date(after.last_used_at).getTime()).toBe(clock.now().getTime());
    expect(after.device.ip).toBe("192.0.2.44");
    expect(new Date(after.absolute_expires_at).getTime()).toBe(new Date(before.absolute_expires_at).getTime());
  });

  it("issues access tokens with the user's current roles and permissions", async () => {
    const account = await register();
    await query("insert into user_roles (user_id, role_name) values ($1, 'admin')", [account.user.id]);
    const next = await refreshOk(account.tokens.refreshToken);
    const claims = claimsOf(next.accessToken);
    expect(claims.roles).toEqual(["admin", "user"]);
    expect(claims.permissions).toContain("users:read");
    expect(claims.sid).toBe(account.tokens.sessionId);
  });
});

describe("refresh token theft: reuse of a rotated token", () => {
  it("revokes the whole family when a grandparent token is replayed, and the newest token then fails", async () => {
    const account = await register();
    const other = await login(account.email, account.password);
    const rt1 = account.tokens;
    const rt2 = await refreshOk(rt1.refreshToken);
    const rt3 = await refreshOk(rt2.refreshToken);

    const replay = await refresh(rt1.refreshToken);
    expect(replay.status).toBe(401);
    expect((await problemOf(replay)).code).toBe("refresh_token_reused");

    const session = await sessionRow(rt1.sessionId);
    expect(session.revoked_at).not.toBeNull();
    expect(session.revoked_reason).toBe("refresh_token_reused");
    const newest = await refresh(rt3.refreshToken);
    expect(newest.status).toBe(401);
    expect((await problemOf(newest)).code).toBe("invalid_refresh_token");

    // The family's access token stops at the edge too.
    const me = await call("GET", "/me", { token: rt3.accessToken });
    expect(me.status).toBe(401);
    const verify = await call("GET", "/auth/verify", { token: rt3.accessToken });
    expect(verify.status).toBe(401);

    const events = await auditRows({ sessionId: rt1.sessionId, event: "auth.refresh_reused" });
    expect(events).toHaveLength(1);
    expect(events[0]!.user_id).toBe(account.user.id);
    expect(JSON.stringify(events)).not.toContain(rt1.refreshToken);

    // Other sessions of the same user are untouched.
    expect((await sessionRow(other.tokens.sessionId)).revoked_at).toBeNull();
    expect((await refresh(other.tokens.refreshToken)).status).toBe(200);
  });

  it(
    "returns the identical successor when the immediate parent comes back " +
      "within the grace window, changing nothing",
    async () => {
      const { tokens: rt1 } = await register();
      const rt2 = await refreshOk(rt1.refreshToken);
      const rowsBefore = await query(
        "select token_hash, used_at, expires_at from refresh_tokens where session_id = $1 order by created_at",
        [rt1.sessionId],
      );
      const sessionBefore = await sessionRow(rt1.sessionId);

      const again = await refreshOk(rt1.refreshToken);
      expect(again.refreshToken).toBe(rt2.refreshToken);
      expect(again.sessionId).toBe(rt2.sessionId);
      expect(claimsOf(again.accessToken).jti).not.toBe(claimsOf(rt2.accessToken).jti);

      expect(
        await query(
          "select token_hash, used_at, expires_at from refresh_tokens where session_id = $1 order by created_at",
          [rt1.sessionId],
        ),
      ).toEqual(rowsBefore);
      expect(await sessionRow(rt1.sessionId)).toEqual(sessionBefore);
      // The successor still works afterwards.
      expect((await refresh(rt2.refreshToken)).status).toBe(200);
    },
  );

  it("treats the immediate parent as reuse once the grace window has passed", async () => {
    const clock = fakeClock();
    const service = testService({ clock: clock.clock });
    const { tokens: rt1 } = await service.register();
    await service.refreshOk(rt1.refreshToken);

    clock.advance(9);
    expect((await service.refresh(rt1.refreshToken)).status).toBe(200);
    clock.advance(2); // 11 s after rotation: outside the 10 s grace
    const late = await service.refresh(rt1.refreshToken);
    expect(late.status).toBe(401);
    expect((await problemOf(late)).code).toBe("refresh_token_reused");
    expect((await sessionRow(rt1.sessionId)).revoked_at).not.toBeNull();
  });

  it(
    "never forks the family: 20 parallel refreshes with one token yield one " + "successor and one live token",
    async () => {
      const { tokens } = await register();
      const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(tokens.refreshToken)));
      const bodies = await Promise.all(
        responses.map(async (r) => ({
          status: r.status,
          body: (await r.json()) as { tokens?: TokenPair; code?: string },
        })),
      );
      const successors = new Set(bodies.filter((b) => b.status === 200).map((b) => b.body.tokens!.refreshToken));
      expect(successors.size).toBe(1);
      // Case 1 for the winner, case 2 (same successor, inside the grace window) for the rest.
      expect(bodies.filter((b) => b.status !== 200)).toEqual([]);
      expect(await liveTokens(tokens.sessionId)).toHaveLength(1);
      expect(await query("select 1 from refresh_tokens where session_id = $1", [tokens.sessionId])).toHaveLength(2);
    },
  );

  it("never lets a descendant through when a revocation races a refresh", async () => {
    for (let round = 0; round < 5; round++) {
      const { tokens } = await register();
      const [refreshed, revoked] = await Promise.all([
        refresh(tokens.refreshToken),
        call("DELETE", `/sessions/${tokens.sessionId}`, { token: tokens.accessToken }),
      ]);
      expect(revoked.status).toBe(204);
      expect((await sessionRow(tokens.sessionId)).revoked_at).not.toBeNull();
      if (refreshed.status === 200) {
        const { tokens: next } = (await refreshed.json()) as { tokens: TokenPair };
        expect((await refresh(next.refreshToken)).status).toBe(401);
        expect((await call("GET", "/me", { token: next.accessToken })).status).toBe(401);
      } else {
        expect(refreshed.status).toBe(401);
      }
    }
  });
});

describe("a revocation racing a refresh, forced through the session row lock", () => {
  it(
    "a revocation that commits while the refresh waits on the lock wins: " +
      "401, no successor, nothing left to present",
    async () => {
      const { tokens } = await register();
      const before = await tokenCount(tokens.sessionId);
      expect(before).toBe(1);

      const refreshed = await refreshAgainstLockedSession(tokens.sessionId, tokens.refreshToken, async (client) => {
        await client.query("update sessions set revoked_at = now(), revoked_reason = 'test' where id = $1", [
          tokens.sessionId,
        ]);
        await client.query("commit");
      });
      expect(refreshed.status).toBe(401);
      expect((await problemOf(refreshed)).code).toBe("invalid_refresh_token");

      // No descendant was written, no rotation recorded, and nothing the family
      // holds could still be accepted.
      expect(await tokenCount(tokens.sessionId)).toBe(before);
      expect(await presentableTokens(tokens.sessionId)).toEqual([]);
      expect(await auditRows({ sessionId: tokens.sessionId, event: "auth.refreshed" })).toEqual([]);
      const row = await sessionRow(tokens.sessionId);
      expect(row.revoked_at).not.toBeNull();
      expect(row.revoked_reason).toBe("test");

      const again = await refresh(tokens.refreshToken);
      expect(again.status).toBe(401);
      expect((await problemOf(again)).code).toBe("invalid_refresh_token");
    },
  );

  it("the refresh waits on that lock and proceeds once it is released without a revocation", async () => {
    const { tokens } = await register();
    const before = await tokenCount(tokens.sessionId);

    const refreshed = await refreshAgainstLockedSession(tokens.sessionId, tokens.refreshToken, async (client) => {
      await client.query("rollback");
    });
    expect(refreshed.status).toBe(200);
    const { tokens: next } = (await refreshed.json()) as { tokens: TokenPair };
    expect(next.sessionId).toBe(tokens.sessionId);
    expect(next.refreshToken).not.toBe(tokens.refreshToken);

    expect(await tokenCount(tokens.sessionId)).toBe(before + 1);
    expect(await presentableTokens(tokens.sessionId)).toHaveLength(1);
    expect(await auditRows({ sessionId: tokens.sessionId, event: "auth.refreshed" })).toHaveLength(1);
    expect((await refresh(next.refreshToken)).status).toBe(200);
  });
});

describe("refresh token expiry", () => {
  it("refuses a token left unused past the idle expiry (7 days)", async () => {
    const clock = fakeClock();
    const service = testService({ clock: clock.clock });
    const { tokens } = await service.register();
    // refreshExpiresIn says so: the idle expiry is the earlier one at sign-in.
    expect(tokens.refreshExpiresIn).toBe(7 * 24 * 3600);
    clock.advance(7 * 24 * 3600 + 1);
    const res = await service.refresh(tokens.refreshToken);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_refresh_token");
  });

  it("never extends the absolute expiry (30 days), however often the session refreshes", async () => {
    const clock = fakeClock();
    const service = testService({ clock: clock.clock });
    let { tokens } = await service.register();
    for (let day = 6; day < 30; day += 6) {
      clock.advance(6 * 24 * 3600);
      tokens = await service.refreshOk(tokens.refreshToken);
      // The earlier of the slid idle expiry (7 days on) and the fixed absolute one (day 30).
      expect(tokens.refreshExpiresIn).toBe(Math.min(7, 30 - day) * 24 * 3600);
    }
    // Day 24: the idle window is capped by the absolute expiry at day 30.
    expect(tokens.refreshExpiresIn).toBe(6 * 24 * 3600);
    clock.advance(6 * 24 * 3600 + 1);
    const res = await service.refresh(tokens.refreshToken);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_refresh_token");
  });
});

describe("refreshExpiresIn and the session's expiresAt", () => {
  type SessionView = { id: string; current: boolean; expiresAt: string };
  const DAY = 24 * 3600;

  async function currentSession(service: ReturnType<typeof testService>, accessToken: string): Promise<SessionView> {
    const res = await service.call("GET", "/sessions", { token: accessToken });
    expect(res.status).toBe(200);
    const { sessions } = (await res.json()) as { sessions: SessionView[] };
    return sessions.find((s) => s.current)!;
  }

  it("at sign-in both say the idle expiry (7 days), the earlier of the two", async () => {
    const clock = fakeClock();
    const service = testService({ clock: clock.clock });
    const { tokens } = await service.register();
    expect(tokens.refreshExpiresIn).toBe(604800);
    const idleEnd = new Date(clock.now().getTime() + 7 * DAY * 1000).toISOString();
    expect(await currentSession(service, tokens.accessToken)).toMatchObject({
      id: tokens.sessionId,
      expiresAt: idleEnd,
    });
  });

  it(
    "stops announcing a lifetime past the 30-day absolute limit: near the " + "end both say the time left until it",
    async () => {
      const clock = fakeClock();
      const start = clock.now();
      const service = testService({ clock: clock.clock });
      let { tokens } = await service.register();
      for (let day = 6; day <= 24; day += 6) {
        clock.advance(6 * DAY);
        tokens = await service.refreshOk(tokens.refreshToken);
      }
      clock.advance(5 * DAY + 3600); // day 29 and an hour
      tokens = await service.refreshOk(tokens.refreshToken);
      expect(tokens.refreshExpiresIn).toBe(DAY - 3600);
      const absoluteEnd = new Date(start.getTime() + 30 * DAY * 1000).toISOString();
      expect(await currentSession(service, tokens.accessToken)).toMatchObject({
        id: tokens.sessionId,
        expiresAt: absoluteEnd,
      });
      expect(new Date(clock.now().getTime() + tokens.refreshExpiresIn * 1000).toISOString()).toBe(absoluteEnd);
    },
  );
});

describe("refresh after the session or user ended", () => {
  it("fails after logout, and the old access token fails on /me and /auth/verify", async () => {
    const { tokens } = await register();
    const logout = await call("POST", "/auth/logout", { token: tokens.accessToken });
    expect(logout.status).toBe(204);
    const res = await refresh(tokens.refreshToken);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_refresh_token");
    expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(401);
    const verify = await call("GET", "/auth/verify", { token: tokens.accessToken });
    expect(verify.status).toBe(401);
    expect(verify.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });

  it("fails for a disabled user inside the rotation statement", async () => {
    const account = await register();
    await query("update users set status = 'disabled' where id = $1", [account.user.id]);
    const res = await refresh(account.tokens.refreshToken);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_refresh_token");
    expect(await liveTokens(account.tokens.sessionId)).toHaveLength(1);
  });
});

describe("garbage refresh tokens", () => {
  it.each([
    ["an empty string", ""],
    ["10 KB of text", `sart_${"A".repeat(10_240)}`],
    ["SQL text", "sart_' OR 1=1; DROP TABLE refresh_tokens; --"],
    ["a random token in the tagged shape, with a wrong tag", randomRefreshToken("tagged")],
    ["a random token in the old untagged shape", randomRefreshToken("legacy")],
    ["an access token", "eyJhbGciOiJFZERTQSJ9.e30.sig"],
  ])("answers 400 or 401 for %s, never 500, and writes nothing", async (_label, refreshToken) => {
    const [audit] = await query<{ n: string }>("select count(*) as n from audit_logs");
    const [stored] = await query<{ n: string }>("select count(*) as n from refresh_tokens");
    const res = await refresh(refreshToken);
    expect([400, 401]).toContain(res.status);
    const problem = await problemOf(res);
    expect(["validation_failed", "invalid_refresh_token"]).toContain(problem.code);
    expect(JSON.stringify(problem)).not.toContain("DROP TABLE");
    expect((await query<{ n: string }>("select count(*) as n from audit_logs"))[0]!.n).toBe(audit!.n);
    expect((await query<{ n: string }>("select count(*) as n from refresh_tokens"))[0]!.n).toBe(stored!.n);
  });

  it.each([
    ["a number", 42],
    ["null", null],
    ["an object", { token: "x" }],
  ])("answers 400 validation_failed when refreshToken is %s", async (_label, refreshToken) => {
    const res = await call("POST", "/auth/refresh", { body: { refreshToken } });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });
});
