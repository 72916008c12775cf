// Ending many sessions at once (DELETE /sessions, a password change, an
// administrator's DELETE /admin/users/:id/sessions, disabling) through the
// Worker, with the real RevocationFeed Durable Object wrapped to count the
// appends: every ended session's access token is refused at once in this
// isolate and by another isolate's copy, the log holds one row per ended
// session written by the ending transaction, the kept session and a sign-in
// right after work, and one request appends once however many sessions ended.
import { describe, expect, it } from "vitest";
import { claimsOf, env, signIn, testService, type TokenPair } from "../support/harness";
import { query } from "../support/db";

/** The real feed namespace, recording how many entries each append carried. */
function countingFeed(namespace: DurableObjectNamespace) {
  const appends: number[] = [];
  const wrapped = {
    idFromName: (name: string) => namespace.idFromName(name),
    get(id: DurableObjectId) {
      const stub = namespace.get(id) as unknown as {
        snapshot(): Promise<unknown>;
        append(entries: unknown[]): Promise<void>;
      };
      return {
        snapshot: () => stub.snapshot(),
        append: (entries: unknown[]) => {
          appends.push(entries.length);
          return stub.append(entries);
        },
      };
    },
  } as unknown as DurableObjectNamespace;
  return { namespace: wrapped, appends };
}

const SESSIONS = 60;
const counted = countingFeed(env.REVOCATION_FEED);
// Room for the sessions this file opens, and the counting feed.
const service = testService({ env: { MAX_SESSIONS_PER_USER: "100", REVOCATION_FEED: counted.namespace } });

/** A user signed in `count` times: the first session and the `count - 1` others. */
async function userWithSessions(count: number) {
  const account = await service.register();
  const others: TokenPair[] = [];
  for (let i = 1; i < count; i++) others.push((await service.login(account.email, account.password)).tokens);
  return { account, current: account.tokens, others };
}

/** The entry counts of the appends `work` made. */
async function appendsOf(work: () => Promise<Response>): Promise<{ res: Response; appends: number[] }> {
  const from = counted.appends.length;
  const res = await work();
  return { res, appends: counted.appends.slice(from) };
}

async function expectRefused(tokens: TokenPair[]) {
  for (const t of tokens)
    expect((await service.call("GET", "/me", { token: t.accessToken })).status, t.sessionId).toBe(401);
  // Another isolate, reading the feed afresh, refuses them too.
  const elsewhere = service.otherIsolate();
  for (const t of tokens) {
    const token = { sid: t.sessionId, sub: claimsOf(t.accessToken).sub!, grantsVersion: 0 };
    expect(await elsewhere.refuses(token), t.sessionId).toBe(true);
  }
}

/** The log rows the database wrote for these sessions. */
async function loggedSessions(tokens: TokenPair[]): Promise<string[]> {
  const rows = await query<{ subject: string }>(
    "select subject from revocation_log where kind = 'session' and subject = any($1::uuid[])",
    [tokens.map((t) => t.sessionId)],
  );
  return rows.map((r) => r.subject).sort();
}

const ids = (tokens: TokenPair[]) => tokens.map((t) => t.sessionId).sort();

describe("ending many sessions reaches the edge through the feed", () => {
  it(
    `DELETE /sessions with ${SESSIONS} sessions: one append, every other ` +
      `access token refused at once here and elsewhere, the current one and a ` +
      `sign-in right after still work`,
    async () => {
      const { account, current, others } = await userWithSessions(SESSIONS);
      const { res, appends } = await appendsOf(() =>
        service.call("DELETE", "/sessions", { token: current.accessToken }),
      );
      expect(res.status).toBe(204);
      expect(appends).toEqual([SESSIONS - 1]);
      expect(await loggedSessions([current, ...others])).toEqual(ids(others));
      await expectRefused(others);
      for (const t of others.slice(0, 5)) expect((await service.refresh(t.refreshToken)).status).toBe(401);
      expect((await service.call("GET", "/me", { token: current.accessToken })).status).toBe(200);
      const again = await service.login(account.email, account.password);
      expect((await service.call("GET", "/me", { token: again.tokens.accessToken })).status).toBe(200);
      const rotated = await service.refreshOk(current.refreshToken);
      expect((await service.call("GET", "/me", { token: rotated.accessToken })).status).toBe(200);
    },
  );

  it(
    "a password change with many sessions: one append, the other access " +
      "tokens refused at once, the current one works",
    async () => {
      const { account, current, others } = await userWithSessions(30);
      const newPassword = "a brand new passphrase 77";
      const { res, appends } = await appendsOf(() =>
        service.call("POST", "/auth/password", {
          token: current.accessToken,
          body: { currentPassword: account.password, newPassword },
        }),
      );
      expect(res.status).toBe(204);
      expect(appends).toEqual([29]);
      expect(await loggedSessions([current, ...others])).toEqual(ids(others));
      await expectRefused(others);
      expect((await service.call("GET", "/me", { token: current.accessToken })).status).toBe(200);
      const again = await service.login(account.email, newPassword);
      expect((await service.call("GET", "/me", { token: again.tokens.accessToken })).status).toBe(200);
    },
  );

  it(
    "an administrator's DELETE /admin/users/:id/sessions with many sessions: " +
      "one append, every access token refused at once, the user signs in again",
    async () => {
      const admin = await signIn({ roles: ["admin"] });
      const { account, current, others } = await userWithSessions(30);
      const { res, appends } = await appendsOf(() =>
        service.call("DELETE", `/admin/users/${account.user.id}/sessions`, { token: admin.tokens.accessToken }),
      );
      expect(res.status).toBe(204);
      expect(appends).toEqual([30]);
      expect(await loggedSessions([current, ...others])).toEqual(ids([current, ...others]));
      await expectRefused([current, ...others]);
      const again = await service.login(account.email, account.password);
      expect((await service.call("GET", "/me", { token: again.tokens.accessToken })).status).toBe(200);
    },
  );

  it(
    "disabling a user with many sessions: one append (the sessions and the " +
      "grants version), every access token refused; enabled, the user signs in " +
      "again",
    async () => {
      const admin = await signIn({ roles: ["admin"] });
      const { account, current, others } = await userWithSessions(30);
      const { res, appends } = await appendsOf(() =>
        service.call("POST", `/admin/users/${account.user.id.toUpperCase()}/disable`, {
          token: admin.tokens.accessToken,
        }),
      );
      expect(res.status).toBe(200);
      expect(appends).toEqual([31]);
      const logged = await query<{ version: number }>(
        "select version from revocation_log where kind = 'user' and subject = $1",
        [account.user.id],
      );
      expect(logged.map((r) => r.version)).toEqual([1]);
      await expectRefused([current, ...others]);
      expect(
        (await service.call("POST", `/admin/users/${account.user.id}/enable`, { token: admin.tokens.accessToken }))
          .status,
      ).toBe(200);
      const again = await service.login(account.email, account.password);
      expect((await service.call("GET", "/me", { token: again.tokens.accessToken })).status).toBe(200);
    },
  );
});
