// The revocation feed end to end, over the real RevocationFeed Durable
// Object, the real Cache API and the real Postgres log: a revocation made
// through the Worker is refused by another isolate's copy within its bounds,
// a change whose request died before its append still reaches the feed (the
// alarm drains the log), verify falls back to the log when the Durable
// Object is unreachable, and every revoking path writes the log in its own
// transaction.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { feedReaderDeps } from "../../src/adapters/revocation-feed";
import { FeedRevocationList } from "../../src/adapters/revocation-feed/reader";
import { loadConfig } from "../../src/config";
import { query, withClient } from "../support/db";
import { unreachableFeed } from "../support/feed";
import { call, claimsOf, env, refresh, refreshOk, signIn, testService, type TokenPair } from "../support/harness";

const config = loadConfig(env);

/** Another isolate's copy over the real feed, with a clock the test moves and its background work collected. */
function anotherIsolate() {
  let offset = 0;
  const background: Promise<unknown>[] = [];
  const list = new FeedRevocationList({
    ...feedReaderDeps(env, config),
    defer: (work) => background.push(work),
    now: () => Date.now() + offset,
  });
  return {
    list,
    /** Moves this isolate's clock on. */
    later: (ms: number) => (offset += ms),
    settle: () => Promise.all(background.splice(0)),
  };
}

const checked = (tokens: TokenPair) => ({
  sid: tokens.sessionId,
  sub: claimsOf(tokens.accessToken).sub!,
  grantsVersion: (claimsOf(tokens.accessToken) as { gv?: number }).gv ?? 0,
});

const feedStub = () => env.REVOCATION_FEED.get(env.REVOCATION_FEED.idFromName("revocations"));

async function feedHolds(sessionId: string): Promise<boolean> {
  return runInDurableObject(feedStub(), (_instance, state) => {
    const rows = state.storage.sql.exec("SELECT 1 FROM entries WHERE kind = 'session' AND subject = ?", sessionId);
    return rows.toArray().length > 0;
  });
}

async function logged(kind: string, subject: string): Promise<number[]> {
  const rows = await query<{ version: number }>(
    "select version from revocation_log where kind = $1 and subject = $2 order by seq",
    [kind, subject],
  );
  return rows.map((row) => row.version);
}

describe("a revocation made through one Worker instance reaches another", () => {
  it(
    "a logout through the Worker is refused by another isolate on its next " +
      "refresh: in the background once its copy is a second old, before the " +
      "answer past the freshness bound",
    async () => {
      const user = await signIn();
      const b = anotherIsolate();
      expect(await b.list.refuses(checked(user.tokens))).toBe(false);
      const res = await call("POST", "/auth/logout", { token: user.tokens.accessToken });
      expect(res.status).toBe(204);
      // This isolate, which made the change, refuses at once.
      expect((await call("GET", "/me", { token: user.tokens.accessToken })).status).toBe(401);

      b.later(1000);
      expect(await b.list.refuses(checked(user.tokens))).toBe(false); // answered from its copy meanwhile
      await b.settle();
      expect(await b.list.refuses(checked(user.tokens))).toBe(true);

      const idle = anotherIsolate();
      expect(await idle.list.refuses(checked(user.tokens))).toBe(true);
    },
  );

  it("a role change reaches another isolate: the user's tokens of the older grants version are refused", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const user = await signIn();
    const b = anotherIsolate();
    expect(await b.list.refuses(checked(user.tokens))).toBe(false);
    const res = await call("PUT", `/admin/users/${user.user.id}/roles`, {
      token: admin.tokens.accessToken,
      body: { roles: ["user", "admin"] },
    });
    expect(res.status).toBe(200);
    b.later(config.revocationFreshness * 1000);
    expect(await b.list.refuses(checked(user.tokens))).toBe(true);
    const renewed = await refreshOk(user.tokens.refreshToken);
    expect(await b.list.refuses(checked(renewed))).toBe(false);
  });
});

describe("a crash between commit and append loses nothing", () => {
  it(
    "a session ended by a request that died before its append (the commit " +
      "alone) reaches the feed: the trigger wrote the log row, the alarm drains it",
    async () => {
      const user = await signIn();
      // Wakes the feed, so its alarm is scheduled, as any verify in production does.
      expect((await call("GET", "/auth/verify", { token: user.tokens.accessToken })).status).toBe(200);
      await query("update sessions set revoked_at = now(), revoked_reason = 'revoked_by_user' where id = $1", [
        user.tokens.sessionId,
      ]);
      expect(await logged("session", user.tokens.sessionId)).toEqual([0]);
      expect(await runDurableObjectAlarm(feedStub())).toBe(true);
      expect(await feedHolds(user.tokens.sessionId)).toBe(true);
      // Another isolate, once the location's shared snapshot (one second) is past, reads it from the feed.
      const b = anotherIsolate();
      b.later(1000);
      expect(await b.list.refuses(checked(user.tokens))).toBe(true);
    },
  );
});

describe("when the Durable Object is unreachable", () => {
  it(
    "verify keeps answering, from the Postgres log: a live session passes, a " + "session ended elsewhere is refused",
    async () => {
      const live = await signIn();
      const ended = await signIn();
      expect((await call("POST", "/auth/logout", { token: ended.tokens.accessToken })).status).toBe(204);
      const cut = testService({ env: { REVOCATION_FEED: unreachableFeed() } });
      expect((await cut.call("GET", "/auth/verify", { token: live.tokens.accessToken })).status).toBe(200);
      expect((await cut.call("GET", "/auth/verify", { token: ended.tokens.accessToken })).status).toBe(401);
    },
  );

  it(
    "a logout made meanwhile still takes effect: logged in its transaction, " +
      "refused by the isolate that made it and read from the log elsewhere",
    async () => {
      const cut = testService({ env: { REVOCATION_FEED: unreachableFeed() } });
      const user = await cut.signIn();
      expect((await cut.call("POST", "/auth/logout", { token: user.tokens.accessToken })).status).toBe(204);
      expect(await logged("session", user.tokens.sessionId)).toEqual([0]);
      expect((await cut.call("GET", "/auth/verify", { token: user.tokens.accessToken })).status).toBe(401);
      const elsewhere = testService({ env: { REVOCATION_FEED: unreachableFeed() } });
      expect((await elsewhere.call("GET", "/auth/verify", { token: user.tokens.accessToken })).status).toBe(401);
    },
  );
});

describe("every revoking path writes the log in its own transaction", () => {
  it("logout, ending one session, and refresh-token reuse each log the session", async () => {
    const user = await signIn();
    expect((await call("POST", "/auth/logout", { body: { refreshToken: user.tokens.refreshToken } })).status).toBe(204);
    expect(await logged("session", user.tokens.sessionId)).toEqual([0]);

    const other = await signIn();
    const second = (await testService().login(other.email, other.password)).tokens;
    const ended = await call("DELETE", `/sessions/${second.sessionId}`, { token: other.tokens.accessToken });
    expect(ended.status).toBe(204);
    expect(await logged("session", second.sessionId)).toEqual([0]);

    const stolen = await signIn();
    const child = await refreshOk(stolen.tokens.refreshToken);
    await refreshOk(child.refreshToken);
    // A token two rotations back is reuse: the whole session ends.
    expect((await refresh(stolen.tokens.refreshToken)).status).toBe(401);
    expect(await logged("session", stolen.tokens.sessionId)).toEqual([0]);
  });

  it("a role change logs the user's new grants version; deleting the account logs its sessions", async () => {
    const admin = await signIn({ roles: ["admin"] });
    const user = await signIn();
    const res = await call("PUT", `/admin/users/${user.user.id}/roles`, {
      token: admin.tokens.accessToken,
      body: { roles: ["user", "admin"] },
    });
    expect(res.status).toBe(200);
    expect(await logged("user", user.user.id)).toEqual([1]);

    const leaving = await signIn();
    const deleted = await call("DELETE", "/me", {
      token: leaving.tokens.accessToken,
      body: { currentPassword: leaving.password },
    });
    expect(deleted.status).toBe(204);
    expect(await logged("session", leaving.tokens.sessionId)).toEqual([0]);
  });

  it("a change that rolls back logs nothing", async () => {
    const user = await signIn();
    await withClient(async (client) => {
      await client.query("begin");
      await client.query("update sessions set revoked_at = now() where id = $1", [user.tokens.sessionId]);
      await client.query("rollback");
    });
    expect(await logged("session", user.tokens.sessionId)).toEqual([]);
  });
});
