// Device sessions, logout, password change and the user's own activity,
// against the real stack.
import { describe, expect, it } from "vitest";
import { call, db, login, problemOf, randomRefreshToken, refresh, refreshOk, register, STRONG_PASSWORD, type TokenPair } from "../support/harness";

const { query, auditRows } = db;

type SessionView = { id: string; current: boolean; device: Record<string, string>; createdAt: string; lastUsedAt: string; expiresAt: string };

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

  it("answers 404 for an already ended session", async () => {
    const account = await register();
    const other = await login(account.email, account.password);
    expect((await call("DELETE", `/sessions/${other.tokens.sessionId}`, { token: account.tokens.accessToken })).status).toBe(204);
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
    const [row] = await query<{ revoked_at: Date | null }>("select revoked_at from sessions where id = $1", [alice.tokens.sessionId]);
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
    expect((await call("POST", "/auth/logout", { body: { refreshToken: "sart_" + "z".repeat(43) } })).status).toBe(204);
    expect((await call("POST", "/auth/logout", { body: { refreshToken: randomRefreshToken("tagged") } })).status).toBe(204);
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
    const res = await call("POST", "/auth/password", { token: account.tokens.accessToken, body: { currentPassword: account.password, newPassword } });
    expect(res.status).toBe(204);

    expect((await call("GET", "/me", { token: account.tokens.accessToken })).status).toBe(200);
    expect((await call("GET", "/me", { token: other.tokens.accessToken })).status).toBe(401);
    expect((await refresh(other.tokens.refreshToken)).status).toBe(401);
    expect((await refresh(account.tokens.refreshToken)).status).toBe(200);

    expect((await call("POST", "/auth/login", { body: { email: account.email, password: account.password } })).status).toBe(401);
    await login(account.email, newPassword);

    const events = await auditRows({ userId: account.user.id, event: "user.password_changed" });
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(newPassword);
  });

  it("refuses a wrong current password with 401 invalid_credentials and changes nothing", async () => {
    const account = await register();
    const other = await login(account.email, account.password);
    const [before] = await query<{ password_hash: string }>("select password_hash from users where id = $1", [account.user.id]);
    const res = await call("POST", "/auth/password", { token: account.tokens.accessToken, body: { currentPassword: "not my password at all", newPassword: "a brand new passphrase 77" } });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_credentials");
    const [after] = await query<{ password_hash: string }>("select password_hash from users where id = $1", [account.user.id]);
    expect(after!.password_hash).toBe(before!.password_hash);
    expect((await call("GET", "/me", { token: other.tokens.accessToken })).status).toBe(200);
  });

  it("applies the password policy to the new password (path newPassword)", async () => {
    const account = await register();
    const res = await call("POST", "/auth/password", { token: account.tokens.accessToken, body: { currentPassword: account.password, newPassword: "short" } });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.path)).toContain("newPassword");
  });

  it("needs an access token", async () => {
    const res = await call("POST", "/auth/password", { body: { currentPassword: STRONG_PASSWORD, newPassword: "a brand new passphrase 77" } });
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

    expect(seen.map((e) => e.event).sort()).toEqual(["auth.login_failed", "auth.refreshed", "auth.refreshed", "auth.refreshed", "auth.refreshed", "user.registered"]);
    expect(seen[0]!.event).toBe("auth.login_failed");
    expect(seen.at(-1)!.event).toBe("user.registered");
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
      await query("insert into audit_logs (event, user_id, metadata, created_at) values ('auth.refreshed', $1, '{}', $2::timestamptz)", [account.user.id, `${base}${micros}+00`]);
    }
    const expected = (await query<{ id: string }>("select id from audit_logs where user_id = $1", [account.user.id])).map((r) => r.id).sort();
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res: Response = await call("GET", `/me/activity?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: account.tokens.accessToken });
      const body = (await res.json()) as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(expected.length);
    expect([...seen].sort()).toEqual(expected);
  });

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
