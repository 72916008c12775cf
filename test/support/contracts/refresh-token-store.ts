// What every RefreshTokenStore must do (rotation with a deterministic
// successor, docs/sessions.md, as src/features/sessions/refresh-tokens.postgres.ts does it in
// SQL). Run against the in-memory fake and against Postgres by
// test/unit/refresh-token-store.test.ts, so the fake the service tests rely
// on cannot drift from the real statements. Everything is arranged through
// the store ports themselves: a user registered with a first session and
// token, sessions opened by sign-in, ended, users disabled, emails verified.
// With requireVerifiedEmail, a user whose email is unverified does not rotate.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewSession } from "../../../src/features/sessions/store";
import type { RequestOrigin } from "../../../src/core/domain";
import type { Stores } from "../../../src/stores";

export type StoreFixture = {
  stores: Pick<Stores, "registrations" | "users" | "sessions" | "refreshTokens" | "adminUsers" | "roles" | "audit">;
  close?(): Promise<void>;
};

const ORIGIN: RequestOrigin = { ip: "192.0.2.7", userAgent: "contract-test" };
const HOUR = 3600;
const IDLE_TTL = 7 * 24 * HOUR;
const ABSOLUTE_TTL = 30 * 24 * HOUR;
const USER_PERMISSIONS = ["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"];
const ADMIN_PERMISSIONS = [
  "audit:read",
  "profile:read",
  "profile:write",
  "roles:assign",
  "sessions:read",
  "sessions:revoke",
  "sessions:revoke:own",
  "users:read",
  "users:write",
];

/** A stand-in for a token's SHA-256: the store only ever sees hashes. */
function randomHash(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const after = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000);

function newSession(at: Date, lifetimes: { idle?: number; absolute?: number } = {}): NewSession {
  return {
    id: crypto.randomUUID(),
    device: { name: "laptop" },
    refreshTokenHash: randomHash(),
    idleExpiresAt: after(at, lifetimes.idle ?? IDLE_TTL),
    absoluteExpiresAt: after(at, lifetimes.absolute ?? ABSOLUTE_TTL),
    amr: ["pwd"],
  };
}

export function refreshTokenStoreContract(name: string, open: () => StoreFixture | Promise<StoreFixture>): void {
  describe(`RefreshTokenStore contract (${name})`, () => {
    let stores: StoreFixture["stores"];
    let fixture: StoreFixture;
    beforeEach(async () => {
      fixture = await open();
      stores = fixture.stores;
    });
    afterEach(async () => {
      await fixture.close?.();
    });

    /** A registered user whose first session holds one current token, issued at `at`. */
    async function arrange(lifetimes: { idle?: number; absolute?: number } = {}) {
      const at = new Date();
      const session = newSession(at, lifetimes);
      const email = `contract-${crypto.randomUUID()}@example.com`;
      const verification = { tokenHash: randomHash(), expiresAt: after(at, 24 * HOUR) };
      const user = await stores.registrations.register({
        email,
        passwordHash: "$argon2id$contract",
        name: null,
        session,
        verification,
        origin: ORIGIN,
        at,
      });
      if (!user) throw new Error("register refused a fresh email");
      return { at, user, session, sessionId: session.id, userId: user.id, first: session.refreshTokenHash };
    }

    const rotate = (
      tokenHash: string,
      at: Date,
      successorHash = randomHash(),
      idleTtlSeconds = IDLE_TTL,
      requireVerifiedEmail = false,
    ) =>
      stores.refreshTokens.rotate({
        tokenHash,
        successorHash,
        idleTtlSeconds,
        requireVerifiedEmail,
        origin: ORIGIN,
        at,
      });

    const refreshedRows = async (userId: string) =>
      (await stores.audit.page({ userId, event: "auth.refreshed", limit: 50 })).items;

    describe("rotate", () => {
      it(
        "rotates the current token: answers its session and the user's grants, " + "and makes the successor current",
        async () => {
          const { at, userId, sessionId, session, first } = await arrange();
          const second = randomHash();
          const rotated = await rotate(first, after(at, 60), second);
          expect(rotated).toEqual({
            sessionId,
            userId,
            roles: ["user"],
            permissions: USER_PERMISSIONS,
            grantsVersion: 0,
            emailVerified: false,
            idleExpiresAt: after(at, 60 + IDLE_TTL),
            absoluteExpiresAt: session.absoluteExpiresAt,
            // The proof of the sign-in, which rotation keeps.
            authTime: at,
            amr: ["pwd"],
          });
          expect(await rotate(second, after(at, 120))).toMatchObject({ sessionId, userId });
        },
      );

      it("reads the grants as they are at the rotation", async () => {
        const { at, userId, first } = await arrange();
        await stores.roles.replaceForUser(userId, ["admin", "user"], at);
        const version = await stores.adminUsers.bumpGrantsVersion(userId, at);
        expect(await rotate(first, after(at, 1))).toMatchObject({
          roles: ["admin", "user"],
          permissions: ADMIN_PERMISSIONS,
          grantsVersion: version,
        });
        expect(version).toBe(1);
      });

      it(
        "slides the idle expiry from the rotation, stamps the last use and adds " + "the request's ip to the device",
        async () => {
          const { at, userId, sessionId, first } = await arrange();
          const t1 = after(at, 3 * HOUR);
          await rotate(first, t1);
          const [live] = await stores.sessions.listLive(userId, t1);
          expect(live).toMatchObject({
            id: sessionId,
            lastUsedAt: t1,
            idleExpiresAt: after(t1, IDLE_TTL),
            device: { name: "laptop", ip: ORIGIN.ip },
          });
        },
      );

      it("answers the idle expiry as the rotation slid it, the one the session now holds", async () => {
        const { at, userId, first } = await arrange();
        const t1 = after(at, 2 * HOUR);
        const rotated = await rotate(first, t1);
        expect(rotated!.idleExpiresAt).toEqual(after(t1, IDLE_TTL));
        const [live] = await stores.sessions.listLive(userId, t1);
        expect(rotated!.idleExpiresAt).toEqual(live!.idleExpiresAt);
      });

      it("answers an idle expiry capped at the absolute one near the session's end", async () => {
        const { at, session, first } = await arrange({ idle: 1.5 * HOUR, absolute: 2 * HOUR });
        const rotated = await rotate(first, after(at, HOUR), randomHash(), 1.5 * HOUR);
        expect(rotated).toMatchObject({
          idleExpiresAt: session.absoluteExpiresAt,
          absoluteExpiresAt: session.absoluteExpiresAt,
        });
      });

      it("never slides the idle expiry past the absolute one", async () => {
        const { at, userId, session, first } = await arrange({ idle: 1.5 * HOUR, absolute: 2 * HOUR });
        await rotate(first, after(at, HOUR), randomHash(), 1.5 * HOUR);
        const [live] = await stores.sessions.listLive(userId, after(at, HOUR));
        expect(live!.idleExpiresAt).toEqual(session.absoluteExpiresAt);
      });

      it("writes one auth.refreshed row per rotation and none for a refused one", async () => {
        const { at, userId, sessionId, first } = await arrange();
        await rotate(first, after(at, 1));
        expect(await rotate(first, after(at, 2))).toBeUndefined();
        const rows = await refreshedRows(userId);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          event: "auth.refreshed",
          userId,
          actorId: userId,
          sessionId,
          ip: ORIGIN.ip,
          userAgent: ORIGIN.userAgent,
        });
      });

      it(
        "rotating the same token again answers undefined, with any successor, " + "and leaves its child as it was",
        async () => {
          const { at, first } = await arrange();
          const second = randomHash();
          await rotate(first, after(at, 1), second);
          expect(await rotate(first, after(at, 2), second)).toBeUndefined();
          expect(await rotate(first, after(at, 3))).toBeUndefined();
          expect((await stores.refreshTokens.lineage(first, after(at, 3)))!.child).toEqual({
            tokenHash: second,
            usedAt: null,
          });
        },
      );

      it("an unknown token neither rotates nor has a lineage", async () => {
        const { at } = await arrange();
        const unknown = randomHash();
        expect(await rotate(unknown, at)).toBeUndefined();
        expect(await stores.refreshTokens.lineage(unknown, at)).toBeUndefined();
      });

      it(
        "an expired current token does not rotate: the successor lives " +
          "idleTtlSeconds from its rotation, the bound excluded",
        async () => {
          const { at, first } = await arrange();
          const second = randomHash();
          await rotate(first, at, second, 60);
          expect(await rotate(second, after(at, 60))).toBeUndefined();
          expect(await rotate(second, new Date(after(at, 60).getTime() - 1))).toBeDefined();
        },
      );
    });

    describe("lineage", () => {
      it("of the current token: unused, no child, its session live and its user active", async () => {
        const { at, userId, sessionId, session, first } = await arrange();
        expect(await stores.refreshTokens.lineage(first, after(at, 1))).toEqual({
          sessionId,
          userId,
          usedAt: null,
          sessionLive: true,
          sessionIdleExpiresAt: session.idleExpiresAt,
          sessionAbsoluteExpiresAt: session.absoluteExpiresAt,
          userActive: true,
          userEmailVerified: false,
          proof: { authTime: at, amr: ["pwd"] },
          child: null,
        });
      });

      it("of a rotated token: when it was used, and its child, whose use shows once it rotates too", async () => {
        const { at, sessionId, first } = await arrange();
        const second = randomHash();
        const t1 = after(at, 10);
        await rotate(first, t1, second);
        expect(await stores.refreshTokens.lineage(first, t1)).toMatchObject({
          sessionId,
          usedAt: t1,
          sessionLive: true,
          sessionIdleExpiresAt: after(t1, IDLE_TTL),
          child: { tokenHash: second, usedAt: null },
        });
        const t2 = after(at, 20);
        await rotate(second, t2);
        expect((await stores.refreshTokens.lineage(first, t2))!.child).toEqual({ tokenHash: second, usedAt: t2 });
      });
    });

    describe("an ended session or a disabled user", () => {
      it("revoked session: the current token does not rotate, and its lineage shows the session not live", async () => {
        const { at, userId, sessionId, first } = await arrange();
        const ended = await stores.sessions.end(sessionId, userId, {
          reason: "revoked_by_user",
          event: "session.revoked",
          actorId: userId,
          origin: ORIGIN,
          at: after(at, 1),
        });
        expect(ended).toBe(true);
        expect(await rotate(first, after(at, 2))).toBeUndefined();
        expect(await stores.refreshTokens.lineage(first, after(at, 2))).toMatchObject({
          usedAt: null,
          sessionLive: false,
          userActive: true,
        });
      });

      it("idle-expired session: live until its idle expiry, ended from that instant on", async () => {
        const { at, session, first } = await arrange({ idle: HOUR });
        const expiry = session.idleExpiresAt;
        expect((await stores.refreshTokens.lineage(first, new Date(expiry.getTime() - 1)))!.sessionLive).toBe(true);
        expect(await rotate(first, expiry)).toBeUndefined();
        expect(await stores.refreshTokens.lineage(first, expiry)).toMatchObject({
          usedAt: null,
          sessionLive: false,
          userActive: true,
        });
        expect(at.getTime()).toBeLessThan(expiry.getTime());
      });

      it(
        "absolutely expired session: a token minted just before the absolute " + "expiry does not rotate at it",
        async () => {
          const { at, session, first } = await arrange({ idle: 1.5 * HOUR, absolute: 2 * HOUR });
          const second = randomHash();
          expect(await rotate(first, after(at, HOUR), second, 1.5 * HOUR)).toBeDefined();
          const expiry = session.absoluteExpiresAt;
          expect((await stores.refreshTokens.lineage(second, new Date(expiry.getTime() - 1)))!.sessionLive).toBe(true);
          expect(await rotate(second, expiry)).toBeUndefined();
          expect(await stores.refreshTokens.lineage(second, expiry)).toMatchObject({
            usedAt: null,
            sessionLive: false,
            userActive: true,
          });
        },
      );

      it("disabled user: the current token does not rotate until the account is enabled again", async () => {
        const { at, userId, first } = await arrange();
        await stores.adminUsers.setStatus(userId, "disabled", at);
        expect(await rotate(first, after(at, 1))).toBeUndefined();
        expect(await stores.refreshTokens.lineage(first, after(at, 1))).toMatchObject({
          usedAt: null,
          sessionLive: true,
          userActive: false,
        });
        await stores.adminUsers.setStatus(userId, "active", after(at, 2));
        expect(await rotate(first, after(at, 3))).toBeDefined();
      });
    });

    describe("requireVerifiedEmail", () => {
      it(
        "an unverified user's current token does not rotate, writes no " +
          "auth.refreshed row and stays current; its lineage says unverified",
        async () => {
          const { at, userId, first } = await arrange();
          expect(await rotate(first, after(at, 1), randomHash(), IDLE_TTL, true)).toBeUndefined();
          expect(await refreshedRows(userId)).toEqual([]);
          expect(await stores.refreshTokens.lineage(first, after(at, 1))).toMatchObject({
            usedAt: null,
            sessionLive: true,
            userActive: true,
            userEmailVerified: false,
            child: null,
          });
          // Without the requirement the same token rotates: the refusal left it as it was.
          expect(await rotate(first, after(at, 2))).toMatchObject({ userId, emailVerified: false });
        },
      );

      it("once the email is verified the token rotates under the requirement, answering emailVerified", async () => {
        const { at, userId, first } = await arrange();
        await stores.users.markEmailVerified(userId, after(at, 1));
        expect(await stores.refreshTokens.lineage(first, after(at, 1))).toMatchObject({ userEmailVerified: true });
        expect(await rotate(first, after(at, 2), randomHash(), IDLE_TTL, true)).toMatchObject({
          userId,
          emailVerified: true,
        });
      });
    });

    describe("the cap on live sessions (openSignIn maxSessions)", () => {
      const signIn = (userId: string, session: NewSession, at: Date, maxSessions: number) =>
        stores.sessions.openSignIn({
          userId,
          session,
          origin: ORIGIN,
          at,
          clearThrottleKey: randomHash(),
          maxSessions,
        });

      it(
        "stops unbounded sessions: a sign-in beyond the cap ends the least " +
          "recently used session, not the oldest created one, audited " +
          "session.evicted",
        async () => {
          const { at, userId, sessionId: first, first: firstToken } = await arrange();
          const second = newSession(after(at, 5));
          const third = newSession(after(at, 10));
          expect(await signIn(userId, second, after(at, 5), 3)).toEqual({ opened: true, evicted: [] });
          expect(await signIn(userId, third, after(at, 10), 3)).toEqual({ opened: true, evicted: [] });
          // The oldest session is refreshed: now `second` is the least recently used.
          await rotate(firstToken, after(at, 20));
          const fourth = newSession(after(at, 30));
          expect(await signIn(userId, fourth, after(at, 30), 3)).toEqual({ opened: true, evicted: [second.id] });
          expect((await stores.sessions.listLive(userId, after(at, 30))).map((s) => s.id)).toEqual([
            fourth.id,
            first,
            third.id,
          ]);
          expect(await rotate(second.refreshTokenHash, after(at, 31))).toBeUndefined();
          const { items } = await stores.audit.page({ userId, event: "session.evicted", limit: 10 });
          expect(items).toHaveLength(1);
          expect(items[0]).toMatchObject({
            userId,
            actorId: userId,
            sessionId: second.id,
            metadata: { reason: "evicted" },
          });
        },
      );

      it(
        "stops a backlog from surviving the cap: one sign-in trims every session " +
          "beyond it, most recently used first in its answer",
        async () => {
          const { at, userId, sessionId: first } = await arrange();
          const opened = [first];
          for (let i = 1; i <= 4; i++) {
            const session = newSession(after(at, i));
            expect((await signIn(userId, session, after(at, i), 10)).opened).toBe(true);
            opened.push(session.id);
          }
          const last = newSession(after(at, 10));
          expect(await signIn(userId, last, after(at, 10), 2)).toEqual({
            opened: true,
            evicted: [opened[3], opened[2], opened[1], opened[0]],
          });
          expect((await stores.sessions.listLive(userId, after(at, 10))).map((s) => s.id)).toEqual([
            last.id,
            opened[4],
          ]);
        },
      );

      it("ends nothing for a user who is not active, and opens nothing", async () => {
        const { at, userId } = await arrange();
        await stores.adminUsers.setStatus(userId, "disabled", at);
        expect(await signIn(userId, newSession(after(at, 1)), after(at, 1), 1)).toEqual({ opened: false, evicted: [] });
        expect((await stores.sessions.listLive(userId, after(at, 1))).length).toBe(1);
      });
    });

    describe("endAllForUser", () => {
      it(
        "answers the ended sessions with their last use, most recently used " + "first, and keeps the excepted one",
        async () => {
          const { at, userId, sessionId: first, first: firstToken } = await arrange();
          const second = newSession(after(at, 5));
          const third = newSession(after(at, 10));
          await stores.sessions.openSignIn({
            userId,
            session: second,
            origin: ORIGIN,
            at: after(at, 5),
            clearThrottleKey: randomHash(),
            maxSessions: 50,
          });
          await stores.sessions.openSignIn({
            userId,
            session: third,
            origin: ORIGIN,
            at: after(at, 10),
            clearThrottleKey: randomHash(),
            maxSessions: 50,
          });
          await rotate(firstToken, after(at, 20));
          const end = {
            reason: "revoked_by_user",
            event: "session.revoked" as const,
            actorId: userId,
            origin: ORIGIN,
            at: after(at, 30),
          };
          expect(await stores.sessions.endAllForUser(userId, end, third.id)).toEqual([
            { id: first, lastUsedAt: after(at, 20) },
            { id: second.id, lastUsedAt: after(at, 5) },
          ]);
          expect((await stores.sessions.listLive(userId, after(at, 30))).map((s) => s.id)).toEqual([third.id]);
        },
      );
    });

    describe("revokeFamilyForReuse", () => {
      it(
        "ends the family once (true, then false) with one auth.refresh_reused " +
          "row; its current token no longer rotates",
        async () => {
          const { at, userId, sessionId, first } = await arrange();
          const second = randomHash();
          await rotate(first, after(at, 1), second);
          expect(await stores.refreshTokens.revokeFamilyForReuse(sessionId, ORIGIN, after(at, 30))).toBe(true);
          expect(await stores.refreshTokens.revokeFamilyForReuse(sessionId, ORIGIN, after(at, 31))).toBe(false);
          expect(await rotate(second, after(at, 32))).toBeUndefined();
          expect(await stores.refreshTokens.lineage(second, after(at, 32))).toMatchObject({
            usedAt: null,
            sessionLive: false,
            userActive: true,
          });
          const { items } = await stores.audit.page({ userId, event: "auth.refresh_reused", limit: 10 });
          expect(items).toHaveLength(1);
          expect(items[0]).toMatchObject({
            userId,
            sessionId,
            metadata: { reason: "rotated refresh token presented again" },
          });
          expect(items[0]!.actorId).toBeUndefined();
        },
      );

      it("ends only that session: another session of the user, opened by sign-in, still rotates", async () => {
        const { at, userId, sessionId } = await arrange();
        const other = newSession(after(at, 5));
        const opened = await stores.sessions.openSignIn({
          userId,
          session: other,
          origin: ORIGIN,
          at: after(at, 5),
          clearThrottleKey: randomHash(),
          maxSessions: 50,
        });
        expect(opened).toEqual({ opened: true, evicted: [] });
        expect(await stores.refreshTokens.revokeFamilyForReuse(sessionId, ORIGIN, after(at, 10))).toBe(true);
        expect((await stores.sessions.listLive(userId, after(at, 10))).map((s) => s.id)).toEqual([other.id]);
        expect(await rotate(other.refreshTokenHash, after(at, 11))).toMatchObject({ sessionId: other.id });
      });
    });
  });
}
