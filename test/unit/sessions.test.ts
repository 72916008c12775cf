// SessionService over the in-memory stores with a fixed clock: listing,
// ending one or all other sessions, and the logout rules, checked by what is
// answered, what the stores hold afterwards and what reached the edge.
import { describe, expect, it } from "vitest";
import { InvalidToken, NotFound } from "../../src/core/errors";
import type { UserRecord } from "../../src/core/domain";
import { SessionService } from "../../src/features/sessions";
import {
  LIFETIMES,
  MemoryStores,
  ORIGIN,
  RecordingRevocationList,
  testAccessTokens,
  testClock,
  testCodec,
  testSession,
} from "../support/fakes";

async function setup() {
  const memory = new MemoryStores();
  const time = testClock();
  const revocations = new RecordingRevocationList();
  const codec = testCodec();
  const tokens = await testAccessTokens(time.clock, revocations);
  const service = new SessionService({
    sessions: memory.stores.sessions,
    codec,
    clock: time.clock,
    revocations,
    tokens,
  });

  /** A session of `user` opened now through the session store: its id, refresh token and an access token for it. */
  async function open(user: UserRecord, device = {}, maxSessions = 50) {
    const { session, refreshToken } = testSession(time.now(), device);
    expect(
      await memory.stores.sessions.openSignIn({
        userId: user.id,
        session,
        origin: ORIGIN,
        at: time.now(),
        clearThrottleKey: "unused",
        maxSessions,
      }),
    ).toEqual({ opened: true, evicted: [] });
    const { accessToken } = await tokens.issue({
      userId: user.id,
      sessionId: session.id,
      roles: user.roles,
      permissions: user.permissions,
      grantsVersion: user.grantsVersion,
      emailVerified: user.emailVerified,
      authTime: time.now(),
      amr: ["pwd"],
    });
    return { id: session.id, refreshToken, accessToken };
  }

  const endAt = (reason: string) => ({
    reason,
    event: "session.revoked" as const,
    actorId: null,
    origin: ORIGIN,
    at: time.now(),
  });
  return { memory, time, revocations, codec, tokens, service, open, endAt };
}

const liveIds = (t: Awaited<ReturnType<typeof setup>>, userId: string) =>
  t.memory
    .sessionsOf(userId)
    .filter((s) => s.revokedAt === null)
    .map((s) => s.id)
    .sort();

describe("list", () => {
  it("lists the user's live sessions, most recently used first, marking only the current one", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    const older = await t.open(user, { name: "Phone" });
    t.time.advance(60);
    const newer = await t.open(user, { name: "Laptop" });
    const ended = await t.open(user);
    await t.memory.stores.sessions.end(ended.id, user.id, t.endAt("revoked_by_user"));
    await t.open(t.memory.addUser());

    const views = await t.service.list(user.id, older.id);
    expect(views).toEqual([
      {
        id: newer.id,
        current: false,
        device: { name: "Laptop" },
        createdAt: t.time.now().toISOString(),
        lastUsedAt: t.time.now().toISOString(),
        expiresAt: expect.any(String),
      },
      expect.objectContaining({ id: older.id, current: true, device: { name: "Phone" } }),
    ]);
    expect(views[0]!.expiresAt).toBe(new Date(t.time.now().getTime() + LIFETIMES.refreshIdleTtl * 1000).toISOString());
  });

  it("marks no session current when there is none, and leaves expired sessions out", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    await t.open(user);
    expect((await t.service.list(user.id, null)).map((v) => v.current)).toEqual([false]);
    t.time.advance(LIFETIMES.refreshIdleTtl);
    expect(await t.service.list(user.id, null)).toEqual([]);
  });
});

describe("revoke", () => {
  it("ends one of the user's own sessions, audits it and pushes it to the edge", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    const [mine, other] = [await t.open(user), await t.open(user)];
    await t.service.revoke(user.id, mine.id, ORIGIN);
    expect(t.memory.session(mine.id)).toMatchObject({ revokedAt: t.time.now(), revokedReason: "revoked_by_user" });
    expect(t.memory.auditRows({ event: "session.revoked" })).toEqual([
      expect.objectContaining({
        userId: user.id,
        actorId: user.id,
        sessionId: mine.id,
        metadata: { reason: "revoked_by_user" },
      }),
    ]);
    expect(t.revocations.sessionCalls).toEqual([[mine.id]]);
    expect(liveIds(t, user.id)).toEqual([other.id]);
  });

  it.each([
    ["another user's session", "other"],
    ["an unknown id", "unknown"],
    ["a malformed id", "malformed"],
    ["an already ended session", "ended"],
  ])("answers 404 for %s, ending nothing", async (_label, which) => {
    const t = await setup();
    const user = t.memory.addUser();
    const someoneElse = await t.open(t.memory.addUser());
    const ended = await t.open(user);
    await t.memory.stores.sessions.end(ended.id, user.id, t.endAt("revoked_by_user"));
    const id = { other: someoneElse.id, unknown: crypto.randomUUID(), malformed: "not-a-session-id", ended: ended.id }[
      which
    ]!;
    const before = t.memory.snapshot();

    const error = await t.service.revoke(user.id, id, ORIGIN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFound);
    expect((error as NotFound).status).toBe(404);
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.sessionCalls).toEqual([]);
  });
});

describe("revoke: an id in capitals", () => {
  it(
    "stops a capitalised id from leaving the access token alive: the session " +
      "ends and the lower-case id reaches the edge and the audit row",
    async () => {
      const t = await setup();
      const user = t.memory.addUser();
      const [mine, other] = [await t.open(user), await t.open(user)];
      await t.service.revoke(user.id, mine.id.toUpperCase(), ORIGIN);
      expect(t.memory.session(mine.id)).toMatchObject({ revokedReason: "revoked_by_user" });
      expect(t.revocations.sessionCalls).toEqual([[mine.id]]);
      expect(t.memory.auditRows({ event: "session.revoked" }).map((r) => r.sessionId)).toEqual([mine.id]);
      await expect(t.tokens.authenticate(mine.accessToken)).rejects.toBeInstanceOf(InvalidToken);
      await expect(t.tokens.authenticate(other.accessToken)).resolves.toMatchObject({ sid: other.id });
    },
  );
});

describe("revokeOthers", () => {
  it(
    "stops every other session's access token at once in one publish, keeps " +
      "the current one, and lets a sign-in right after work",
    async () => {
      const t = await setup();
      const user = t.memory.addUser();
      const current = await t.open(user);
      const others = [];
      for (let i = 0; i < 60; i++) others.push(await t.open(user, {}, 100));
      t.time.advance(2);
      await t.service.revokeOthers(user.id, current.id, ORIGIN);
      expect(t.revocations.sessionCalls).toHaveLength(1);
      expect(t.revocations.sessionCalls[0]).toHaveLength(60);
      for (const other of others)
        await expect(t.tokens.authenticate(other.accessToken)).rejects.toBeInstanceOf(InvalidToken);
      await expect(t.tokens.authenticate(current.accessToken)).resolves.toMatchObject({ sid: current.id });
      // Opened in the same instant, after the publish: not among the ended ones.
      const after = await t.open(user, {}, 100);
      await expect(t.tokens.authenticate(after.accessToken)).resolves.toMatchObject({ sid: after.id });
    },
  );

  it(
    "called from a session that had already ended, still ends every other " +
      "session: the caller's session is never an exemption at the edge",
    async () => {
      const t = await setup();
      const user = t.memory.addUser();
      const stale = await t.open(user);
      const other = await t.open(user);
      await t.memory.stores.sessions.end(stale.id, user.id, t.endAt("revoked_by_user"));
      t.time.advance(2);
      await t.service.revokeOthers(user.id, stale.id, ORIGIN);
      expect(t.revocations.sessionCalls).toEqual([[other.id]]);
      await expect(t.tokens.authenticate(other.accessToken)).rejects.toBeInstanceOf(InvalidToken);
    },
  );

  it("ends every other live session of the user and keeps the current one; other users are untouched", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    const current = await t.open(user);
    const others = [await t.open(user), await t.open(user)];
    const stranger = t.memory.addUser();
    const theirs = await t.open(stranger);

    await t.service.revokeOthers(user.id, current.id, ORIGIN);
    expect(liveIds(t, user.id)).toEqual([current.id]);
    for (const { id } of others) expect(t.memory.session(id)!.revokedReason).toBe("revoked_by_user");
    // Every other session is published ended, the current one kept.
    expect(t.revocations.sessionCalls.map((ids) => [...ids].sort())).toEqual([others.map((o) => o.id).sort()]);
    expect(t.memory.auditRows({ event: "session.revoked" })).toHaveLength(2);
    expect(liveIds(t, stranger.id)).toEqual([theirs.id]);
  });

  it("with no other session ends nothing", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    const current = await t.open(user);
    await t.service.revokeOthers(user.id, current.id, ORIGIN);
    expect(liveIds(t, user.id)).toEqual([current.id]);
    expect(t.revocations.ended).toEqual([]);
    expect(t.revocations.sessionCalls).toEqual([]);
    expect(t.memory.auditRows({ event: "session.revoked" })).toEqual([]);
  });
});

describe("logout", () => {
  it("with neither credential is invalid_token with Bearer error=invalid_request, and changes nothing", async () => {
    const t = await setup();
    await t.open(t.memory.addUser());
    const before = t.memory.snapshot();
    const error = await t.service.logout({}, ORIGIN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidToken);
    expect((error as InvalidToken).code).toBe("invalid_token");
    expect((error as InvalidToken).headers).toEqual({ "WWW-Authenticate": 'Bearer error="invalid_request"' });
    expect(t.memory.snapshot()).toEqual(before);
  });

  it("with a refresh token ends its session with auth.logged_out and pushes it to the edge", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    const session = await t.open(user);
    await t.service.logout({ refreshToken: session.refreshToken }, ORIGIN);
    expect(t.memory.session(session.id)).toMatchObject({ revokedAt: t.time.now(), revokedReason: "logged_out" });
    expect(t.memory.auditRows({ event: "auth.logged_out" })).toEqual([
      expect.objectContaining({ userId: user.id, actorId: user.id, sessionId: session.id }),
    ]);
    expect(t.revocations.sessionCalls).toEqual([[session.id]]);
  });

  it.each([
    ["junk", () => "sart_not-a-token"],
    ["well-formed but unknown", () => testCodec().mint(crypto.randomUUID())],
  ])("with a %s refresh token is a silent no-op", async (_label, token) => {
    const t = await setup();
    await t.open(t.memory.addUser());
    const before = t.memory.snapshot();
    await expect(t.service.logout({ refreshToken: token() }, ORIGIN)).resolves.toBeUndefined();
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.sessionCalls).toEqual([]);
  });

  it("with an access token ends its session and pushes it to the edge", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    const [session, other] = [await t.open(user), await t.open(user)];
    await t.service.logout({ accessToken: session.accessToken }, ORIGIN);
    expect(t.memory.session(session.id)!.revokedReason).toBe("logged_out");
    expect(t.revocations.sessionCalls).toEqual([[session.id]]);
    expect(liveIds(t, user.id)).toEqual([other.id]);
  });

  it(
    "with the access token of an already ended session still 'logs out': no " +
      "error, no second audit row, pushed to the edge again",
    async () => {
      const t = await setup();
      const user = t.memory.addUser();
      const session = await t.open(user);
      await t.service.logout({ accessToken: session.accessToken }, ORIGIN);
      const before = t.memory.snapshot();
      await expect(t.service.logout({ accessToken: session.accessToken }, ORIGIN)).resolves.toBeUndefined();
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.memory.auditRows({ event: "auth.logged_out" })).toHaveLength(1);
      expect(t.revocations.sessionCalls).toEqual([[session.id], [session.id]]);
    },
  );

  it(
    "with only an access token, one that does not verify (signature changed) " + "is invalid_token, ending nothing",
    async () => {
      const t = await setup();
      const user = t.memory.addUser();
      const session = await t.open(user);
      const signature = session.accessToken.slice(session.accessToken.lastIndexOf(".") + 1);
      const forged =
        session.accessToken.slice(0, -signature.length) + (signature[0] === "A" ? "B" : "A") + signature.slice(1);
      const error = await t.service.logout({ accessToken: forged }, ORIGIN).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidToken);
      expect((error as InvalidToken).headers).toEqual({ "WWW-Authenticate": 'Bearer error="invalid_token"' });
      expect(t.memory.session(session.id)!.revokedAt).toBeNull();
      expect(t.revocations.sessionCalls).toEqual([]);
    },
  );

  it("beside a refresh token, an access token that does not verify does not stop the logout", async () => {
    const t = await setup();
    const user = t.memory.addUser();
    const session = await t.open(user);
    await expect(
      t.service.logout({ refreshToken: session.refreshToken, accessToken: "not.a.jwt" }, ORIGIN),
    ).resolves.toBeUndefined();
    expect(t.memory.session(session.id)!.revokedReason).toBe("logged_out");
    expect(t.revocations.sessionCalls).toEqual([[session.id]]);
  });
});
