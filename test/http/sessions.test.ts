// Device sessions, logout, password change and the user's own activity,
// against the real stack.
import { describe, expect, it } from "vitest";
import {
  call,
  db,
  login,
  problemOf,
  randomRefreshToken,
  refresh,
  refreshOk,
  register,
  signIn,
  STRONG_PASSWORD,
  testService,
  type TokenPair,
} from "../support/harness";

const { query, auditRows } = db;

type SessionView = {
  id: string;
  current: boolean;
  device: Record<string, string>;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
};

async function listSessions(accessToken: string): Promise<SessionView[]> {
  const res = await call("GET", "/sessions", { token: accessToken });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: SessionView[] }).sessions;
}

describe("GET /sessions", () => {
  it("lists the caller's live sessions with the current one flagged, never a token or hash", async () => {
    const account = await register();
    const phone = await login(account.email, account.password, { deviceName: "Phone" });
    const sessions = await listSessions(account.tokens.accessToken);
    expect(sessions.map((s) => s.id).sort()).toEqual([account.tokens.sessionId, phone.tokens.sessionId].sort());
    const current = sessions.find((s) => s.current)!;
    expect(current.id).toBe(account.tokens.sessionId);
    expect(sessions.find((s) => s.id === phone.tokens.sessionId)!.device.name).toBe("Phone");
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual(["createdAt", "current", "device", "expiresAt", "id", "lastUsedAt"]);
      expect(new Date(s.expiresAt).getTime()).toBeGreaterThan(Date.now());
    }
    const dump = JSON.stringify(sessions);
    for (const secret of [account.tokens.refreshToken, phone.tokens.refreshToken]) expect(dump).not.toContain(secret);
    expect(dump).not.toMatch(/[0-9a-f]{64}/);
  });

  it("leaves ended sessions out", async () => {
    const account = await register();
    const other = await login(account.email, account.password);
    await call("POST", "/auth/logout", { token: other.tokens.accessToken });
    const sessions = await listSessions(account.tokens.accessToken);
    expect(sessions.map((s) => s.id)).toEqual([account.tokens.sessionId]);
  });
});

describe("DELETE /sessions/:id", () => {
  it("ends one session: 204, its refresh fails, its access token is refused at once, audited", async () => {
    const account = await register();
    const laptop = await login(account.email, account.password);
    const res = await call("DELETE", `/sessions/${laptop.tokens.sessionId}`, { token: account.tokens.accessToken });
    expect(res.status).toBe(204);
    expect((await refresh(laptop.tokens.refreshToken)).status).toBe(401);
    expect((await call("GET", "/me", { token: laptop.tokens.accessToken })).status).toBe(401);
    expect((await call("GET", "/me", { token: account.tokens.accessToken })).status).toBe(200);
    const events = await auditRows({ sessionId: laptop.tokens.sessionId, event: "session.revoked" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ user_id: account.user.id, actor_id: account.user.id });
  });

  it(
    "stops a capitalised id from leaving the session's access token alive: " +
      "ended, refused at once, audited and pushed under the lower-case id",
    async () => {
      const account = await register();
      const laptop = await login(account.email, account.password);
      const id = laptop.tokens.sessionId;
      expect(id).toBe(id.toLowerCase());
      const res = await call("DELETE", `/sessions/${id.toUpperCase()}`, { token: account.tokens.accessToken });
      expect(res.status).toBe(204);
      const me = await call("GET", "/me", { token: laptop.tokens.accessToken });
      expect(me.status).toBe(401);
      expect((await problemOf(me)).code).toBe("invalid_token");
      expect((await refresh(laptop.tokens.refreshToken)).status).toBe(401);
      expect((await call("GET", "/me", { token: account.tokens.accessToken })).status).toBe(200);
      const events = await auditRows({ sessionId: id, event: "session.revoked" });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ user_id: account.user.id, actor_id: account.user.id, session_id: id });
      const logged = await query<{ subject: string }>("select subject from revocation_log where kind = 'session'");
      expect(logged.filter((row) => row.subject.toLowerCase() === id)).toEqual([{ subject: id }]);
      // Both spellings name one session: it is gone in either.
      expect((await call("DELETE", `/sessions/${id}`, { token: account.tokens.accessToken })).status).toBe(404);
    },
  );

  it(
    "documents the path id in /openapi.json as a required UUID path " +
      "parameter, on the session route and the admin routes alike",
    async () => {
      const doc = (await (await call("GET", "/openapi.json")).json()) as {
        paths: Record<string, Record<string, { parameters?: unknown[] }>>;
      };
      for (const [path, method] of [
        ["/sessions/{id}", "delete"],
        ["/admin/users/{id}", "get"],
        ["/admin/users/{id}/roles", "put"],
      ] as const) {
        expect(doc.paths[path]?.[method]?.parameters, `${method} ${path}`).toEqual([
          expect.objectContaining({
            name: "id",
            in: "path",
            required: true,
            schema: expect.objectContaining({ type: "string", format: "uuid" }),
          }),
        ]);
      }
    },
  );

  it("answers 404 for an already ended session", async () => {
    const account = await register();
    const other = await login(account.email, account.password);
    expect(
      (await call("DELETE", `/sessions/${other.tokens.sessionId}`, { token: account.tokens.accessToken })).status,
    ).toBe(204);
    const again = await call("DELETE", `/sessions/${other.tokens.sessionId}`, { token: account.tokens.accessToken });
    expect(again.status).toBe(404);
  });

  it.each([
    ["not a UUID", "not-a-uuid"],
    ["SQL text", "1'%20OR%20'1'='1"],
    ["an unknown UUID", "00000000-0000-4000-8000-000000000000"],
  ])("answers 404 not_found for %s, never 500", async (_label, id) => {
    const { tokens } = await register();
    const res = await call("DELETE", `/sessions/${id}`, { token: tokens.accessToken });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe("not_found");
  });
});

describe("cross-user isolation (IDOR) on session endpoints", () => {
  it("answers 404 for another user's session exactly like a missing one, and leaves it alive", async () => {
    const alice = await register();
    const mallory = await register();
    const theirs = await call("DELETE", `/sessions/${alice.tokens.sessionId}`, { token: mallory.tokens.accessToken });
    const missing = await call("DELETE", `/sessions/${crypto.randomUUID()}`, { token: mallory.tokens.accessToken });
    expect(theirs.status).toBe(404);
    expect(await theirs.text()).toBe(await missing.text());
    const [row] = await query<{ revoked_at: Date | null }>("select revoked_at from sessions where id = $1", [
      alice.tokens.sessionId,
    ]);
    expect(row!.revoked_at).toBeNull();
    expect((await call("GET", "/me", { token: alice.tokens.accessToken })).status).toBe(200);
  });

  it("never lists another user's sessions", async () => {
    const alice = await register();
    const bob = await register();
    const sessions = await listSessions(bob.tokens.accessToken);
    expect(sessions.map((s) => s.id)).toEqual([bob.tokens.sessionId]);
    expect(sessions.map((s) => s.id)).not.toContain(alice.tokens.sessionId);
  });

  it("DELETE /sessions ends only the caller's own other sessions", async () => {
    const alice = await register();
    const bob = await register();
    await call("DELETE", "/sessions", { token: bob.tokens.accessToken });
    expect((await listSessions(alice.tokens.accessToken)).map((s) => s.id)).toEqual([alice.tokens.sessionId]);
  });
});

describe("DELETE /sessions", () => {
  it("ends every session of the caller except the current one", async () => {
    const account = await register();
    const a = await login(account.email, account.password);
    const b = await login(account.email, account.password);
    expect((await call("DELETE", "/sessions", { token: account.tokens.accessToken })).status).toBe(204);
    expect((await listSessions(account.tokens.accessToken)).map((s) => s.id)).toEqual([account.tokens.sessionId]);
    for (const other of [a, b]) {
      expect((await call("GET", "/me", { token: other.tokens.accessToken })).status).toBe(401);
      expect((await refresh(other.tokens.refreshToken)).status).toBe(401);
    }
    expect(await auditRows({ userId: account.user.id, event: "session.revoked" })).toHaveLength(2);
  });
});

describe("the cap on live sessions (MAX_SESSIONS_PER_USER)", () => {
  const capped = testService({ env: { MAX_SESSIONS_PER_USER: "3" } });

  it(
    "stops unbounded sessions: the 4th sign-in ends the least recently used " +
      "one (not the oldest created), whose tokens stop at once",
    async () => {
      const account = await capped.register();
      const second = await capped.login(account.email, account.password);
      const third = await capped.login(account.email, account.password);
      // The first session is refreshed: now the second is the least recently used.
      const first = await capped.refreshOk(account.tokens.refreshToken);
      const fourth = await capped.login(account.email, account.password);

      expect((await capped.call("GET", "/me", { token: second.tokens.accessToken })).status).toBe(401);
      expect((await capped.refresh(second.tokens.refreshToken)).status).toBe(401);
      for (const tokens of [first, third.tokens, fourth.tokens])
        expect((await capped.call("GET", "/me", { token: tokens.accessToken })).status).toBe(200);

      const res = await capped.call("GET", "/sessions", { token: fourth.tokens.accessToken });
      const { sessions } = (await res.json()) as { sessions: SessionView[] };
      expect(sessions.map((s) => s.id)).toEqual([fourth.tokens.sessionId, first.sessionId, third.tokens.sessionId]);

      const evicted = await auditRows({ userId: account.user.id, event: "session.evicted" });
      expect(evicted).toHaveLength(1);
      expect(evicted[0]).toMatchObject({
        session_id: second.tokens.sessionId,
        actor_id: account.user.id,
        metadata: { reason: "evicted" },
      });
      const [row] = await query<{ revoked_reason: string }>("select revoked_reason from sessions where id = $1", [
        second.tokens.sessionId,
      ]);
      expect(row!.revoked_reason).toBe("evicted");
    },
  );

  it("keeps GET /sessions bounded however many times the user signs in", async () => {
    const account = await capped.register();
    let last = account.tokens;
    for (let i = 0; i < 6; i++) last = (await capped.login(account.email, account.password)).tokens;
    const res = await capped.call("GET", "/sessions", { token: last.accessToken });
    expect(((await res.json()) as { sessions: SessionView[] }).sessions).toHaveLength(3);
    expect(await auditRows({ userId: account.user.id, event: "session.evicted" })).toHaveLength(4);
  });
});

describe("POST /auth/logout", () => {
  it("ends the session of the access token: 204, then refresh and the access token fail", async () => {
    const { user, tokens } = await register();
    const res = await call("POST", "/auth/logout", { token: tokens.accessToken });
    expect(res.status).toBe(204);
    expect((await refresh(tokens.refreshToken)).status).toBe(401);
    expect((await call("GET", "/auth/verify", { token: tokens.accessToken })).status).toBe(401);
    expect(await auditRows({ userId: user.id, event: "auth.logged_out" })).toHaveLength(1);
  });

  it("ends the session of a refresh token sent in the body, without an access token", async () => {
    const { tokens } = await register();
    const res = await call("POST", "/auth/logout", { body: { refreshToken: tokens.refreshToken } });
    expect(res.status).toBe(204);
    expect((await refresh(tokens.refreshToken)).status).toBe(401);
    expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(401);
  });

  it("ends the refresh token's session even when a stale access token comes with it", async () => {
    const { tokens } = await register();
    const [header, payload] = tokens.accessToken.split(".");
    const stale = `${header}.${payload}.${"A".repeat(86)}`;
    const res = await call("POST", "/auth/logout", { token: stale, body: { refreshToken: tokens.refreshToken } });
    expect(res.status).toBe(204);
    expect((await refresh(tokens.refreshToken)).status).toBe(401);
  });

  it("answers 204 for an already ended or unknown session, revealing nothing", async () => {
    const { tokens } = await register();
    expect((await call("POST", "/auth/logout", { token: tokens.accessToken })).status).toBe(204);
    expect((await call("POST", "/auth/logout", { token: tokens.accessToken })).status).toBe(204);
    expect((await call("POST", "/auth/logout", { body: { refreshToken: tokens.refreshToken } })).status).toBe(204);
    expect((await call("POST", "/auth/logout", { body: { refreshToken: `sart_${"z".repeat(43)}` } })).status).toBe(204);
    expect((await call("POST", "/auth/logout", { body: { refreshToken: randomRefreshToken("tagged") } })).status).toBe(
      204,
    );
  });

  it("answers 401 with neither an access token nor a refresh token", async () => {
    const res = await call("POST", "/auth/logout");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_request"');
  });

  it("answers 401 invalid_token for a forged access token and ends nothing", async () => {
    const { tokens } = await register();
    const [header, payload] = tokens.accessToken.split(".");
    const res = await call("POST", "/auth/logout", { token: `${header}.${payload}.${"A".repeat(86)}` });
    expect(res.status).toBe(401);
    expect((await call("GET", "/me", { token: tokens.accessToken })).status).toBe(200);
  });
});

describe("POST /auth/password", () => {
  it("changes the password, ends every other session, keeps the current one", async () => {
    const account = await register();
    const other = await login(account.email, account.password);
    const newPassword = "a brand new passphrase 77";
    const res = await call("POST", "/auth/password", {
      token: account.tokens.accessToken,
      body: { currentPassword: account.password, newPassword },
    });
    expect(res.status).toBe(204);

    expect((await call("GET", "/me", { token: account.tokens.accessToken })).status).toBe(200);
    expect((await call("GET", "/me", { token: other.tokens.accessToken })).status).toBe(401);
    expect((await refresh(other.tokens.refreshToken)).status).toBe(401);
    expect((await refresh(account.tokens.refreshToken)).status).toBe(200);

    expect(
      (await call("POST", "/auth/login", { body: { email: account.email, password: account.password } })).status,
    ).toBe(401);
    await login(account.email, newPassword);

    const events = await auditRows({ userId: account.user.id, event: "user.password_changed" });
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(newPassword);
  });

  it("refuses a wrong current password with 401 invalid_credentials and changes nothing", async () => {
    const account = await register();
    const other = await login(account.email, account.password);
    const [before] = await query<{ password_hash: string }>("select password_hash from users where id = $1", [
      account.user.id,
    ]);
    const res = await call("POST", "/auth/password", {
      token: account.tokens.accessToken,
      body: { currentPassword: "not my password at all", newPassword: "a brand new passphrase 77" },
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_credentials");
    const [after] = await query<{ password_hash: string }>("select password_hash from users where id = $1", [
      account.user.id,
    ]);
    expect(after!.password_hash).toBe(before!.password_hash);
    expect((await call("GET", "/me", { token: other.tokens.accessToken })).status).toBe(200);
  });

  it("applies the password policy to the new password (path newPassword)", async () => {
    const account = await register();
    const res = await call("POST", "/auth/password", {
      token: account.tokens.accessToken,
      body: { currentPassword: account.password, newPassword: "short" },
    });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.path)).toContain("newPassword");
  });

  it("needs an access token", async () => {
    const res = await call("POST", "/auth/password", {
      body: { currentPassword: STRONG_PASSWORD, newPassword: "a brand new passphrase 77" },
    });
    expect(res.status).toBe(401);
  });
});

describe("GET /me/activity", () => {
  it("pages the user's own security events newest first with a cursor, never another user's", async () => {
    const account = await register();
    const stranger = await register();
    let tokens: TokenPair = account.tokens;
    for (let i = 0; i < 4; i++) tokens = await refreshOk(tokens.refreshToken);
    await call("POST", "/auth/login", { body: { email: account.email, password: "wrong password here" } });

    const seen: { id: string; event: string; createdAt: string; userId?: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/me/activity?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await call("GET", path, { token: tokens.accessToken });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: typeof seen; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);

    expect(seen.map((e) => e.event).sort()).toEqual([
      "auth.login_failed",
      "auth.refreshed",
      "auth.refreshed",
      "auth.refreshed",
      "auth.refreshed",
      "user.email_verification_sent",
      "user.registered",
    ]);
    expect(seen[0]!.event).toBe("auth.login_failed");
    // Registration writes these two at one instant: the oldest pair, in either order.
    expect(
      seen
        .slice(-2)
        .map((e) => e.event)
        .sort(),
    ).toEqual(["user.email_verification_sent", "user.registered"]);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    for (const event of seen) expect(event.userId).toBe(account.user.id);
    expect(seen.map((e) => e.userId)).not.toContain(stranger.user.id);
    const times = seen.map((e) => Date.parse(e.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("neither repeats nor skips events that differ only in microseconds or share a timestamp", async () => {
    const account = await register();
    const base = "2026-01-02 03:04:05.123";
    for (const micros of ["100", "200", "200", "200", "300", "901"]) {
      await query(
        "insert into audit_logs (event, user_id, metadata, created_at) values ('auth.refreshed', $1, '{}', " +
          "$2::timestamptz)",
        [account.user.id, `${base}${micros}+00`],
      );
    }
    const expected = (await query<{ id: string }>("select id from audit_logs where user_id = $1", [account.user.id]))
      .map((r) => r.id)
      .sort();
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res: Response = await call(
        "GET",
        `/me/activity?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        { token: account.tokens.accessToken },
      );
      const body = (await res.json()) as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(expected.length);
    expect([...seen].sort()).toEqual(expected);
  });

  it(
    "stops leaking an administrator's ip and user agent to the user: their " +
      "role change shows actorId only; the user's own events keep their ip and " +
      "no actorId",
    async () => {
      const admin = await signIn({ roles: ["admin"] });
      const account = await register();
      const userOrigin = { "CF-Connecting-IP": "198.51.100.23", "User-Agent": "UserPhone/2.0" };
      const adminOrigin = { "CF-Connecting-IP": "203.0.113.77", "User-Agent": "AdminConsole/9.9" };
      const signedIn = await call("POST", "/auth/login", {
        body: { email: account.email, password: account.password },
        headers: userOrigin,
      });
      expect(signedIn.status).toBe(200);
      const { tokens } = (await signedIn.json()) as { tokens: TokenPair };
      const changed = await call("PUT", `/admin/users/${account.user.id}/roles`, {
        token: admin.tokens.accessToken,
        body: { roles: ["admin", "user"] },
        headers: adminOrigin,
      });
      expect(changed.status).toBe(200);
      // The role change refused the old token: the next refresh carries the new roles.
      const fresh = await refreshOk(tokens.refreshToken);

      type Item = { event: string; actorId?: string; ip?: string; userAgent?: string };
      const res = await call("GET", "/me/activity?limit=100", { token: fresh.accessToken });
      expect(res.status).toBe(200);
      const items = ((await res.json()) as { items: Item[] }).items;
      const rolesChanged = items.find((e) => e.event === "user.roles_changed")!;
      expect(rolesChanged.actorId).toBe(admin.user.id);
      expect(rolesChanged).not.toHaveProperty("ip");
      expect(rolesChanged).not.toHaveProperty("userAgent");
      expect(JSON.stringify(items)).not.toContain(adminOrigin["CF-Connecting-IP"]);
      expect(JSON.stringify(items)).not.toContain(adminOrigin["User-Agent"]);
      const loggedIn = items.find((e) => e.event === "auth.login_succeeded")!;
      expect(loggedIn).toMatchObject({ ip: userOrigin["CF-Connecting-IP"], userAgent: userOrigin["User-Agent"] });
      for (const own of items.filter((e) => e !== rolesChanged)) expect(own).not.toHaveProperty("actorId");

      // The operator's view keeps everything.
      const audit = await call("GET", `/admin/audit-logs?userId=${account.user.id}&event=user.roles_changed`, {
        token: admin.tokens.accessToken,
      });
      expect(((await audit.json()) as { items: Item[] }).items).toEqual([
        expect.objectContaining({
          actorId: admin.user.id,
          ip: adminOrigin["CF-Connecting-IP"],
          userAgent: adminOrigin["User-Agent"],
        }),
      ]);
    },
  );

  it.each([
    ["a malformed cursor", "cursor=%%%not-a-cursor"],
    ["a limit over 100", "limit=101"],
    ["a limit of 0", "limit=0"],
  ])("answers 400 validation_failed for %s", async (_label, qs) => {
    const { tokens } = await register();
    const res = await call("GET", `/me/activity?${qs}`, { token: tokens.accessToken });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe("validation_failed");
  });
});
