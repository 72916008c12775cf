// Ending many sessions at once (DELETE /sessions, a password change, an
// administrator's DELETE /admin/users/:id/sessions) through the Worker, with
// the real REVOKED_SESSIONS namespace wrapped to count what is written: every
// ended session's access token is refused at once, the kept one works, a
// sign-in right after works, and the KV writes stay bounded however many
// sessions there were (Workers allow 1,000 KV operations per invocation; one
// write per session meant 2,041 for a user with 2,000 sessions).
import { describe, expect, it } from "vitest";
import { markRefuses, type SessionsEndedMark } from "../../src/adapters/revocation-list";
import { claimsOf, env, signIn, testService, type TokenPair } from "../support/harness";

/** The real KV namespace, recording the keys each put writes. */
function countingKv(kv: KVNamespace) {
  const written: string[] = [];
  const wrapped = {
    get: (...args: Parameters<KVNamespace["get"]>) => kv.get(...args),
    getWithMetadata: (...args: Parameters<KVNamespace["getWithMetadata"]>) => kv.getWithMetadata(...args),
    list: (...args: Parameters<KVNamespace["list"]>) => kv.list(...args),
    delete: (...args: Parameters<KVNamespace["delete"]>) => kv.delete(...args),
    put: (...args: Parameters<KVNamespace["put"]>) => {
      written.push(args[0]);
      return kv.put(...args);
    },
  } as unknown as KVNamespace;
  return { kv: wrapped, written };
}

const SESSIONS = 60;
const counted = countingKv(env.REVOKED_SESSIONS);
// Room for the sessions this file opens, and the counting namespace.
const service = testService({ env: { MAX_SESSIONS_PER_USER: "100", REVOKED_SESSIONS: counted.kv } });

/** A user signed in `count` times: the first session and the `count - 1` others. */
async function userWithSessions(count: number) {
  const account = await service.register();
  const others: TokenPair[] = [];
  for (let i = 1; i < count; i++) others.push((await service.login(account.email, account.password)).tokens);
  return { account, current: account.tokens, others };
}

/** The keys `work` writes to KV. */
async function writesOf(work: () => Promise<Response>): Promise<{ res: Response; keys: string[] }> {
  const from = counted.written.length;
  const res = await work();
  return { res, keys: counted.written.slice(from) };
}

async function expectRefused(tokens: TokenPair[]) {
  for (const t of tokens)
    expect((await service.call("GET", "/me", { token: t.accessToken })).status, t.sessionId).toBe(401);
}

async function noPerSessionKeys(tokens: TokenPair[]) {
  const { keys } = await env.REVOKED_SESSIONS.list({ prefix: "revoked-session:" });
  const names = new Set(keys.map((k) => k.name));
  expect(tokens.filter((t) => names.has(`revoked-session:${t.sessionId}`))).toEqual([]);
}

describe("ending many sessions writes KV a bounded number of times", () => {
  it(
    `DELETE /sessions with ${SESSIONS} sessions: one KV write, every other ` +
      `access token refused at once, the current one and a sign-in right after ` +
      `still work`,
    async () => {
      const { account, current, others } = await userWithSessions(SESSIONS);
      const { res, keys } = await writesOf(() => service.call("DELETE", "/sessions", { token: current.accessToken }));
      expect(res.status).toBe(204);
      expect(keys).toEqual([`sessions-ended:${account.user.id}`]);
      await expectRefused(others);
      for (const t of others.slice(0, 5)) expect((await service.refresh(t.refreshToken)).status).toBe(401);
      expect((await service.call("GET", "/me", { token: current.accessToken })).status).toBe(200);
      await noPerSessionKeys(others);
      // What KV holds refuses them on its own, as another isolate reads it.
      const stored = JSON.parse(
        (await env.REVOKED_SESSIONS.get(`sessions-ended:${account.user.id}`))!,
      ) as SessionsEndedMark;
      expect(stored.except).toBe(current.sessionId);
      const asChecked = (t: TokenPair) => ({ sid: t.sessionId, iat: claimsOf(t.accessToken).iat! });
      expect(others.filter((t) => !markRefuses(stored, asChecked(t)))).toEqual([]);
      expect(markRefuses(stored, asChecked(current))).toBe(false);
      // A sign-in in the same second as the mark is not caught by it.
      const again = await service.login(account.email, account.password);
      expect((await service.call("GET", "/me", { token: again.tokens.accessToken })).status).toBe(200);
      // Nor is the kept session's next token.
      const rotated = await service.refreshOk(current.refreshToken);
      expect((await service.call("GET", "/me", { token: rotated.accessToken })).status).toBe(200);
    },
  );

  it(
    "a password change with many sessions: one KV write, the other access " +
      "tokens refused at once, the current one works",
    async () => {
      const { account, current, others } = await userWithSessions(30);
      const newPassword = "a brand new passphrase 77";
      const { res, keys } = await writesOf(() =>
        service.call("POST", "/auth/password", {
          token: current.accessToken,
          body: { currentPassword: account.password, newPassword },
        }),
      );
      expect(res.status).toBe(204);
      expect(keys).toEqual([`sessions-ended:${account.user.id}`]);
      await expectRefused(others);
      expect((await service.call("GET", "/me", { token: current.accessToken })).status).toBe(200);
      await noPerSessionKeys(others);
      const again = await service.login(account.email, newPassword);
      expect((await service.call("GET", "/me", { token: again.tokens.accessToken })).status).toBe(200);
    },
  );

  it(
    "an administrator's DELETE /admin/users/:id/sessions with many sessions: " +
      "one KV write, every access token refused at once, the user signs in " +
      "again",
    async () => {
      const admin = await signIn({ roles: ["admin"] });
      const { account, current, others } = await userWithSessions(30);
      const { res, keys } = await writesOf(() =>
        service.call("DELETE", `/admin/users/${account.user.id}/sessions`, { token: admin.tokens.accessToken }),
      );
      expect(res.status).toBe(204);
      expect(keys).toEqual([`sessions-ended:${account.user.id}`]);
      await expectRefused([current, ...others]);
      await noPerSessionKeys([current, ...others]);
      const again = await service.login(account.email, account.password);
      expect((await service.call("GET", "/me", { token: again.tokens.accessToken })).status).toBe(200);
    },
  );

  it(
    "disabling a user with many sessions: two KV writes (the mark and the " +
      "grants version), every access token refused; enabled, the user signs in " +
      "again",
    async () => {
      const admin = await signIn({ roles: ["admin"] });
      const { account, current, others } = await userWithSessions(30);
      const { res, keys } = await writesOf(() =>
        service.call("POST", `/admin/users/${account.user.id.toUpperCase()}/disable`, {
          token: admin.tokens.accessToken,
        }),
      );
      expect(res.status).toBe(200);
      expect(keys.sort()).toEqual([`grants-version:${account.user.id}`, `sessions-ended:${account.user.id}`]);
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
