// RefreshTokenRotation without HTTP or Postgres: the in-memory stores (whose
// refresh-token semantics test/unit/refresh-token-store.test.ts holds to the
// Postgres ones), a fixed clock, a recording revocation list and the real
// AccessTokens with the test keys. One block per case of rotation
// with a deterministic successor (docs/sessions.md); every rule is checked by its outcome: what
// was answered or thrown, and what the store holds afterwards.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type Config, type Env, loadConfig } from "../../src/config";
import { EmailNotVerified, InvalidRefreshToken, RateLimited, RefreshTokenReused } from "../../src/core/errors";
import type { RequestOrigin, UserRecord } from "../../src/core/domain";
import { RefreshTokenCodec, RefreshTokenRotation } from "../../src/features/sessions";
import { AccessTokens, type KeySet, loadKeySet } from "../../src/features/tokens";
import { CountingRateLimit, MemoryStores, RecordingRevocationList, testClock } from "../support/fakes";
import { claimsOf } from "../support/harness";

const NOW = new Date("2026-11-26T12:00:00.000Z");
const DAY = 24 * 3600 * 1000;
const SECRET = "unit-test refresh secret, 32+ characters long";
const OTHER_SECRET = "another refresh secret, also 32+ characters";
const IDLE_TTL = 7 * 24 * 3600;
const ABSOLUTE_TTL = 30 * 24 * 3600;
const GRACE = 10;
const ORIGIN: RequestOrigin = { ip: "192.0.2.7", userAgent: "vitest" };
const USER_PERMISSIONS = ["profile:read", "profile:write", "sessions:read", "sessions:revoke:own"];

const workerConfig: Config = loadConfig(env as unknown as Env);
let keys: KeySet;
beforeAll(async () => {
  keys = await loadKeySet(workerConfig);
});

// ---- Independent WebCrypto versions of the token arithmetic ----------------

const utf8 = (text: string) => new TextEncoder().encode(text);

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function hmac(secret: string, text: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(text)));
}

/** A session id's 16 bytes, base64url: the 22 characters after sart_. */
function sessionPart(sessionId: string): string {
  const hex = sessionId.replace(/-/g, "");
  return base64url(Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)));
}

/** The session id a tagged token carries. */
function sessionIdIn(token: string): string {
  const hex = [...atob(token.slice(5, 27).replace(/-/g, "+").replace(/_/g, "/"))]
    .map((c) => c.charCodeAt(0).toString(16).padStart(2, "0"))
    .join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** sart_ + session + body + base64url(first 6 bytes of HMAC-SHA256(secret, "sart-tag:" + session + body)). */
async function tagged(sessionId: string, body: string, secret = SECRET): Promise<string> {
  const untagged = sessionPart(sessionId) + body;
  return `sart_${untagged}${base64url((await hmac(secret, `sart-tag:${untagged}`)).subarray(0, 6))}`;
}

/**
 * The successor of T in its session: the tagged form of base64url(HMAC-SHA256(secret, T)), computed with WebCrypto
 * rather than the service's code.
 */
async function expectedSuccessor(token: string, secret = SECRET, sessionId = sessionIdIn(token)): Promise<string> {
  return tagged(sessionId, base64url(await hmac(secret, token)), secret);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** 43 base64url characters: the body of a token. */
const randomBody = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

// ---- Scenario helpers -------------------------------------------------------

function setup(
  options: {
    secret?: string;
    previousSecret?: string;
    grace?: number;
    refreshLimit?: CountingRateLimit;
    requireVerifiedEmail?: boolean;
  } = {},
) {
  const secret = options.secret ?? SECRET;
  const memory = new MemoryStores();
  const time = testClock(NOW);
  const revocations = new RecordingRevocationList();
  const refreshLimit = options.refreshLimit ?? new CountingRateLimit();
  const rotationWith = (codec: RefreshTokenCodec) =>
    new RefreshTokenRotation({
      refreshTokens: memory.stores.refreshTokens,
      users: memory.stores.users,
      codec,
      settings: {
        refreshIdleTtl: IDLE_TTL,
        refreshReuseGrace: options.grace ?? GRACE,
        requireVerifiedEmail: options.requireVerifiedEmail ?? false,
      },
      clock: time.clock,
      tokens: new AccessTokens(keys, workerConfig, time.clock, revocations),
      revocations,
      refreshLimit,
    });
  const rotation = rotationWith(new RefreshTokenCodec(secret, options.previousSecret));
  return {
    memory,
    time,
    revocations,
    refreshLimit,
    rotationWith,
    rotate: (token: string, using: RefreshTokenRotation = rotation) => using.rotate(token, ORIGIN),
    /**
     * A session of `user` (a new one by default) opened now through the session store, whose first token is `token` (a
     * new tagged one by default).
     */
    async signIn(user: UserRecord = memory.addUser(), token?: string | ((sessionId: string) => Promise<string>)) {
      const id = crypto.randomUUID();
      const first = typeof token === "function" ? await token(id) : (token ?? (await tagged(id, randomBody(), secret)));
      const at = time.now();
      const session = {
        id,
        device: {},
        refreshTokenHash: await sha256Hex(first),
        idleExpiresAt: new Date(at.getTime() + IDLE_TTL * 1000),
        absoluteExpiresAt: new Date(at.getTime() + ABSOLUTE_TTL * 1000),
        amr: ["pwd" as const],
      };
      expect(
        await memory.stores.sessions.openSignIn({
          userId: user.id,
          session,
          origin: ORIGIN,
          at,
          clearThrottleKey: "unused",
          maxSessions: 50,
        }),
      ).toEqual({ opened: true, evicted: [] });
      return { user, sessionId: session.id, token: first };
    },
  };
}

type Scenario = ReturnType<typeof setup>;

/** Rotates the chain forward `steps` times; returns every token, oldest first. */
async function chain(t: Scenario, first: string, steps: number): Promise<string[]> {
  const tokens = [first];
  for (let i = 0; i < steps; i++) tokens.push((await t.rotate(tokens.at(-1)!)).refreshToken);
  return tokens;
}

function expectNothingRevoked(t: Scenario) {
  expect(t.revocations.sessionCalls).toEqual([]);
  expect(t.memory.auditRows({ event: "auth.refresh_reused" })).toEqual([]);
  for (const session of t.memory.state.sessions.values()) expect(session.revokedAt).toBeNull();
}

/** The family ended for reuse, as the store holds it and as the edge was told. */
function expectRevokedForReuse(t: Scenario, sessionId: string) {
  expect(t.memory.session(sessionId)).toMatchObject({ revokedAt: t.time.now(), revokedReason: "refresh_token_reused" });
  expect(t.memory.auditRows({ event: "auth.refresh_reused" })).toEqual([
    expect.objectContaining({
      sessionId,
      actorId: null,
      ip: ORIGIN.ip,
      userAgent: ORIGIN.userAgent,
      createdAt: t.time.now(),
    }),
  ]);
  expect(t.revocations.sessionCalls).toEqual([[sessionId]]);
}

/** Everything the store holds, as text: to show what never reaches it. */
function dump(memory: MemoryStores): string {
  const { users, sessions, refreshTokens, audit, throttles } = memory.state;
  return JSON.stringify({
    users: [...users],
    sessions: [...sessions],
    refreshTokens: [...refreshTokens],
    audit,
    throttles: [...throttles],
  });
}

// ---- Case 1 -----------------------------------------------------------------

describe("case 1: the current token of a live session rotates", () => {
  it(
    "answers the successor: the tagged form of " +
      "base64url(HMAC-SHA256(REFRESH_TOKEN_SECRET, T)), recomputed " +
      "independently",
    async () => {
      const t = setup();
      const { token } = await t.signIn();
      const pair = await t.rotate(token);
      expect(pair.refreshToken).toBe(await expectedSuccessor(token));
      expect(pair.refreshToken).toMatch(/^sart_[A-Za-z0-9_-]{73}$/);
    },
  );

  it("the successor is keyed by the secret: another REFRESH_TOKEN_SECRET derives another token", async () => {
    const t = setup({ secret: OTHER_SECRET });
    const { token } = await t.signIn();
    const pair = await t.rotate(token);
    expect(pair.refreshToken).toBe(await expectedSuccessor(token, OTHER_SECRET));
    expect(pair.refreshToken).not.toBe(await expectedSuccessor(token, SECRET));
  });

  it("the store holds only SHA-256 hashes of T and its successor, never a token", async () => {
    const t = setup();
    const { token } = await t.signIn();
    const pair = await t.rotate(token);
    expect([...t.memory.state.refreshTokens.keys()].sort()).toEqual(
      [await sha256Hex(token), await sha256Hex(pair.refreshToken)].sort(),
    );
    const stored = dump(t.memory);
    for (const secretText of [token, pair.refreshToken, token.slice(5), pair.refreshToken.slice(5)])
      expect(stored).not.toContain(secretText);
  });

  it(
    "writes the rotation and nothing else: T used, one successor, the idle " +
      "expiry slid, one auth.refreshed row, nothing revoked",
    async () => {
      const t = setup();
      const { user, sessionId, token } = await t.signIn();
      t.time.advanceMs(60_000);
      const before = t.memory.snapshot();
      const pair = await t.rotate(token);
      expect(t.memory.state.refreshTokens.size).toBe(before.refreshTokens.size + 1);
      expect(t.memory.token(await sha256Hex(token))!.usedAt).toEqual(t.time.now());
      expect(t.memory.session(sessionId)).toMatchObject({
        lastUsedAt: t.time.now(),
        idleExpiresAt: new Date(t.time.now().getTime() + IDLE_TTL * 1000),
      });
      expect(t.memory.state.audit.slice(before.audit.length)).toEqual([
        expect.objectContaining({
          event: "auth.refreshed",
          userId: user.id,
          actorId: user.id,
          sessionId,
          ip: ORIGIN.ip,
        }),
      ]);
      expect(pair.sessionId).toBe(sessionId);
      expectNothingRevoked(t);
    },
  );

  it(
    "answers a token pair for the session with the user's grants and when " +
      "the successor lapses unused (the slid idle expiry)",
    async () => {
      const t = setup();
      const { user, sessionId, token } = await t.signIn();
      const pair = await t.rotate(token);
      expect(pair).toMatchObject({
        tokenType: "Bearer",
        expiresIn: workerConfig.accessTokenTtl,
        sessionId,
        refreshExpiresIn: IDLE_TTL,
      });
      expect(claimsOf(pair.accessToken)).toMatchObject({
        sub: user.id,
        sid: sessionId,
        roles: ["user"],
        permissions: USER_PERMISSIONS,
        iat: NOW.getTime() / 1000,
        gv: 0,
      });
    },
  );

  it("carries the grants version the rotation read with the grants", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    t.memory.state.users.get(user.id)!.grantsVersion = 4;
    expect(claimsOf((await t.rotate(token)).accessToken).gv).toBe(4);
  });

  it("marks T used and makes the successor current, so the chain continues from the successor", async () => {
    const t = setup();
    const { token } = await t.signIn();
    t.time.advanceMs(60_000);
    const second = await t.rotate(token);
    expect(t.memory.token(await sha256Hex(token))!.usedAt).toEqual(t.time.now());
    expect(t.memory.token(await sha256Hex(second.refreshToken))).toMatchObject({
      usedAt: null,
      parentHash: await sha256Hex(token),
    });
    t.time.advanceMs(60_000);
    const third = await t.rotate(second.refreshToken);
    expect(third.refreshToken).toBe(await expectedSuccessor(second.refreshToken));
  });
});

// ---- Case 2 -----------------------------------------------------------------

describe("case 2: the immediate parent within REFRESH_REUSE_GRACE gets the same successor", () => {
  it("answers the identical successor with a fresh access token and writes nothing", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    const first = await t.rotate(token);
    t.time.advanceMs(5_000);
    const before = t.memory.snapshot();

    const again = await t.rotate(token);
    expect(again.refreshToken).toBe(first.refreshToken);
    expect(again.sessionId).toBe(sessionId);
    expect(claimsOf(again.accessToken).jti).not.toBe(claimsOf(first.accessToken).jti);
    expect(t.memory.snapshot()).toEqual(before);
    expectNothingRevoked(t);
  });

  it("answers the session's remaining lifetime as the first rotation slid it, not a new slide", async () => {
    const t = setup();
    const { token } = await t.signIn();
    await t.rotate(token);
    t.time.advanceMs(4_000);
    const again = await t.rotate(token);
    expect(again.refreshExpiresIn).toBe(IDLE_TTL - 4);
  });

  it("issues the access token with the user's grants as they are now", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await t.rotate(token);
    t.memory.state.userRoles.set(user.id, new Set(["admin", "user"]));
    t.memory.state.users.get(user.id)!.grantsVersion = 1;
    const again = await t.rotate(token);
    expect(claimsOf(again.accessToken)).toMatchObject({
      roles: ["admin", "user"],
      permissions: expect.arrayContaining(["users:read", "roles:assign"]),
      gv: 1,
    });
  });

  it("is still grace 1 ms before the boundary (REFRESH_REUSE_GRACE - 1 ms after the rotation)", async () => {
    const t = setup();
    const { token } = await t.signIn();
    const first = await t.rotate(token);
    t.time.advanceMs(GRACE * 1000 - 1);
    expect((await t.rotate(token)).refreshToken).toBe(first.refreshToken);
    expectNothingRevoked(t);
  });

  it("is reuse at exactly REFRESH_REUSE_GRACE after the rotation: the window is half-open", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await t.rotate(token);
    t.time.advanceMs(GRACE * 1000);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expectRevokedForReuse(t, sessionId);
  });

  it("is reuse 1 ms past the grace window", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await t.rotate(token);
    t.time.advanceMs(GRACE * 1000 + 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expectRevokedForReuse(t, sessionId);
  });

  it("REFRESH_REUSE_GRACE = 0 turns the window off: even an immediate replay is reuse", async () => {
    const t = setup({ grace: 0 });
    const { sessionId, token } = await t.signIn();
    await t.rotate(token);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expectRevokedForReuse(t, sessionId);
  });

  it("a parent whose successor has already been used is reuse, even within the window", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await chain(t, token, 2);
    t.time.advanceMs(1_000);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expectRevokedForReuse(t, sessionId);
  });

  it(
    "a retry after REFRESH_TOKEN_SECRET changed (the old one kept as " +
      "previous) no longer matches the stored successor and is reuse",
    async () => {
      const t = setup();
      const { sessionId, token } = await t.signIn();
      await t.rotate(token);
      t.time.advanceMs(1_000);
      await expect(t.rotate(token, t.rotationWith(new RefreshTokenCodec(OTHER_SECRET, SECRET)))).rejects.toBeInstanceOf(
        RefreshTokenReused,
      );
      expectRevokedForReuse(t, sessionId);
    },
  );

  it(
    "a user disabled between the lineage read and the grant read gets " +
      "invalid_refresh_token, and nothing is revoked",
    async () => {
      const t = setup();
      const { user, token } = await t.signIn();
      await t.rotate(token);
      t.memory.onCall = (call) => {
        if (call === "users.findById") t.memory.state.users.get(user.id)!.status = "disabled";
      };
      await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
      expect(t.memory.user(user.id)!.status).toBe("disabled");
      expectNothingRevoked(t);
    },
  );

  it("a user deleted meanwhile gets invalid_refresh_token on the grace path, and nothing is revoked", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await t.rotate(token);
    t.memory.onCall = (call) => {
      if (call === "users.findById") t.memory.state.users.delete(user.id);
    };
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });

  it(
    "a user already disabled when the parent comes back gets " +
      "invalid_refresh_token, not the successor, and nothing changes",
    async () => {
      const t = setup();
      const { user, token } = await t.signIn();
      await t.rotate(token);
      t.memory.state.users.get(user.id)!.status = "disabled";
      const before = t.memory.snapshot();
      await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
      expect(t.memory.snapshot()).toEqual(before);
      expectNothingRevoked(t);
    },
  );
});

// ---- Case 3 -----------------------------------------------------------------

describe("case 3: any other token of the family is reuse and ends the session", () => {
  it(
    "replaying a grandparent ends the family, audits it, pushes it to the " +
      "revocation list and throws RefreshTokenReused",
    async () => {
      const t = setup();
      const { sessionId, token } = await t.signIn();
      const tokens = await chain(t, token, 2);
      t.time.advanceMs(30_000);

      const error = await t.rotate(token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RefreshTokenReused);
      expect((error as RefreshTokenReused).code).toBe("refresh_token_reused");
      expectRevokedForReuse(t, sessionId);

      // The thief's newest token is dead with the family.
      await expect(t.rotate(tokens.at(-1)!)).rejects.toBeInstanceOf(InvalidRefreshToken);
    },
  );

  it("the immediate parent replayed after the grace window ends the family", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    const [, current] = await chain(t, token, 1);
    t.time.advanceMs(60_000);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expectRevokedForReuse(t, sessionId);
    await expect(t.rotate(current!)).rejects.toBeInstanceOf(InvalidRefreshToken);
  });

  it("a rotated token past its own expiry is still reuse while its session lives", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    let current = token;
    for (let day = 0; day < 3; day++) {
      t.time.advanceMs(6 * DAY);
      current = (await t.rotate(current)).refreshToken;
    }
    // The first token expired on day 7; the session has slid to day 25.
    expect(t.memory.token(await sha256Hex(token))!.expiresAt.getTime()).toBeLessThan(t.time.now().getTime());
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expectRevokedForReuse(t, sessionId);
  });

  it("other sessions of the same user are untouched", async () => {
    const t = setup();
    const first = await t.signIn();
    const second = await t.signIn(first.user);
    await chain(t, first.token, 2);
    await expect(t.rotate(first.token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expectRevokedForReuse(t, first.sessionId);
    expect(t.memory.session(second.sessionId)!.revokedAt).toBeNull();
    expect((await t.rotate(second.token)).sessionId).toBe(second.sessionId);
  });

  it("an old token of a session that has already ended is invalid_refresh_token and changes nothing", async () => {
    const t = setup();
    const { user, sessionId, token } = await t.signIn();
    await chain(t, token, 2);
    await t.memory.stores.sessions.end(sessionId, user.id, {
      reason: "revoked_by_user",
      event: "session.revoked",
      actorId: user.id,
      origin: ORIGIN,
      at: t.time.now(),
    });
    const before = t.memory.snapshot();
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.memory.session(sessionId)!.revokedReason).toBe("revoked_by_user");
    expect(t.revocations.sessionCalls).toEqual([]);
  });

  it("an old token of a session past its absolute expiry is invalid_refresh_token, not reuse", async () => {
    const t = setup();
    const { token } = await t.signIn();
    await chain(t, token, 2);
    t.time.advanceMs(30 * DAY);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });

  it("an old token of a disabled user's session is invalid_refresh_token, not reuse", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await chain(t, token, 2);
    t.memory.state.users.get(user.id)!.status = "disabled";
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });
});

// ---- Case 4 -----------------------------------------------------------------

describe("case 4: anything else is invalid_refresh_token", () => {
  it("an unknown well-formed token is invalid_refresh_token, changing nothing and revoking nothing", async () => {
    const t = setup();
    await t.signIn();
    const before = t.memory.snapshot();
    const error = await t.rotate(await tagged(crypto.randomUUID(), randomBody())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRefreshToken);
    expect((error as InvalidRefreshToken).code).toBe("invalid_refresh_token");
    expect(t.memory.snapshot()).toEqual(before);
    expectNothingRevoked(t);
  });

  it("the current token past its own expiry in a live session is invalid_refresh_token, not reuse", async () => {
    const t = setup();
    const { token } = await t.signIn();
    t.memory.token(await sha256Hex(token))!.expiresAt = new Date(NOW.getTime() - 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.memory.token(await sha256Hex(token))!.usedAt).toBeNull();
    expectNothingRevoked(t);
  });
});

// ---- The token format --------------------------------------------------------

describe("the token format: junk is refused before any I/O, a legacy token is still looked up", () => {
  const junk: [string, (good: string) => string][] = [
    ["an empty string", () => ""],
    ["an access token", () => "eyJhbGciOiJFZERTQSJ9.e30.sig"],
    ["the prefix in upper case", (good) => `SART_${good.slice(5)}`],
    ["a leading space", (good) => ` ${good}`],
    ["the bare prefix without underscore", (good) => `sart${good.slice(5)}`],
    ["a tag cut short", (good) => good.slice(0, -4)],
    ["one more character", (good) => `${good}A`],
    ["a body one character short under a tag", (good) => good.slice(0, 5) + good.slice(6)],
    ["an over-long token (129 characters)", () => `sart_${"A".repeat(124)}`],
    ["one character of the tag changed", (good) => good.slice(0, -1) + (good.endsWith("A") ? "B" : "A")],
    [
      "one character of the body changed under its tag",
      (good) => good.slice(0, 5) + (good[5] === "A" ? "B" : "A") + good.slice(6),
    ],
    ["not base64url (+ and /)", (good) => `${good.slice(0, 10)}+/${good.slice(12)}`],
    ["not base64url (padding)", (good) => `${good.slice(0, -1)}=`],
  ];

  it.each(junk)("%s: invalid_refresh_token, and no store method runs", async (_label, spoil) => {
    const t = setup();
    const { token } = await t.signIn();
    const presented = spoil(token);
    expect(presented).not.toBe(token);
    const before = t.memory.snapshot();
    t.memory.calls.length = 0;
    await expect(t.rotate(presented)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.memory.calls).toEqual([]);
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.revocations.sessionCalls).toEqual([]);
  });

  it("a token tagged with another secret is junk, never looked up", async () => {
    const t = setup();
    await t.signIn();
    t.memory.calls.length = 0;
    await expect(t.rotate(await tagged(crypto.randomUUID(), randomBody(), OTHER_SECRET))).rejects.toBeInstanceOf(
      InvalidRefreshToken,
    );
    expect(t.memory.calls).toEqual([]);
  });

  it("a token tagged with the previous secret still rotates, to a successor tagged with the current one", async () => {
    const t = setup({ secret: OTHER_SECRET, previousSecret: SECRET });
    const { sessionId, token } = await t.signIn(undefined, (id: string) => tagged(id, randomBody(), SECRET));
    const pair = await t.rotate(token);
    expect(pair).toMatchObject({ sessionId, refreshToken: await expectedSuccessor(token, OTHER_SECRET) });
  });

  it("a legacy untagged token (sart_ + 43 characters) is looked up and rotates to a tagged successor", async () => {
    const t = setup();
    const legacy = `sart_${randomBody()}`;
    const { sessionId } = await t.signIn(undefined, legacy);
    const pair = await t.rotate(legacy);
    expect(pair.refreshToken).toBe(await expectedSuccessor(legacy, SECRET, sessionId));
    expect(pair.refreshToken).toMatch(/^sart_[A-Za-z0-9_-]{73}$/);
    expect(t.memory.token(await sha256Hex(legacy))!.usedAt).toEqual(t.time.now());
    expect(t.memory.token(await sha256Hex(pair.refreshToken))).toMatchObject({
      sessionId,
      parentHash: await sha256Hex(legacy),
      usedAt: null,
    });
    // The successor carries a tag and rotates on.
    expect((await t.rotate(pair.refreshToken)).sessionId).toBe(sessionId);
  });

  it("an unknown legacy-shaped token is looked up, then is invalid_refresh_token and changes nothing", async () => {
    const t = setup();
    await t.signIn();
    const before = t.memory.snapshot();
    t.memory.calls.length = 0;
    await expect(t.rotate(`sart_${randomBody()}`)).rejects.toBeInstanceOf(InvalidRefreshToken);
    // It names no session, so the store is asked which session it belongs to.
    expect(t.memory.calls).toEqual(["refreshTokens.lineage"]);
    expect(t.memory.snapshot()).toEqual(before);
  });
});

// ---- The per-session limit ---------------------------------------------------

describe("the per-session refresh limit (AUTH_REFRESH_RATE_LIMITER)", () => {
  it(
    "counts each refresh of a tagged token under the session id it carries, " +
      "and refuses past the limit before any store call",
    async () => {
      const t = setup({ refreshLimit: new CountingRateLimit(3) });
      const { sessionId, token } = await t.signIn();
      const tokens = await chain(t, token, 3);
      const before = t.memory.snapshot();
      t.memory.calls.length = 0;
      const error = await t.rotate(tokens.at(-1)!).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimited);
      expect((error as RateLimited).headers).toEqual({ "Retry-After": "60" });
      expect(t.memory.calls).toEqual([]);
      expect(t.memory.snapshot()).toEqual(before);
      expect(t.refreshLimit.keys).toEqual([sessionId, sessionId, sessionId, sessionId]);
      // The refused token is still current: it rotates once the period is over.
      t.refreshLimit.reset();
      expect((await t.rotate(tokens.at(-1)!)).sessionId).toBe(sessionId);
    },
  );

  it("other sessions have their own count", async () => {
    const t = setup({ refreshLimit: new CountingRateLimit(1) });
    const first = await t.signIn();
    const second = await t.signIn(first.user);
    await t.rotate(first.token);
    await expect(t.rotate((await t.signIn(first.user)).token)).resolves.toBeDefined();
    await expect(t.rotate(second.token)).resolves.toMatchObject({ sessionId: second.sessionId });
  });

  it(
    "junk is refused before the limit is asked; a legacy token, which names " +
      "no session before its lookup, passes it",
    async () => {
      const t = setup({ refreshLimit: new CountingRateLimit(0) });
      await expect(t.rotate("sart_junk")).rejects.toBeInstanceOf(InvalidRefreshToken);
      const legacy = `sart_${randomBody()}`;
      const { sessionId } = await t.signIn(undefined, legacy);
      await expect(t.rotate(legacy)).resolves.toMatchObject({ sessionId });
      expect(t.refreshLimit.keys).toEqual([]);
    },
  );
});

// ---- Ended sessions and disabled users ------------------------------------

describe("a session or user that has ended fails at the rotation itself", () => {
  it("a disabled user's current token is invalid_refresh_token, stays unused, and nothing is revoked", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    t.memory.state.users.get(user.id)!.status = "disabled";
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.memory.token(await sha256Hex(token))!.usedAt).toBeNull();
    expect(t.memory.state.refreshTokens.size).toBe(1);
    expectNothingRevoked(t);
  });

  it("a revoked session's current token is invalid_refresh_token and nothing is revoked again", async () => {
    const t = setup();
    const { user, sessionId, token } = await t.signIn();
    await t.memory.stores.sessions.end(sessionId, user.id, {
      reason: "revoked_by_user",
      event: "session.revoked",
      actorId: user.id,
      origin: ORIGIN,
      at: NOW,
    });
    const before = t.memory.snapshot();
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.memory.snapshot()).toEqual(before);
    expect(t.memory.auditRows({ event: "auth.refresh_reused" })).toEqual([]);
    expect(t.revocations.sessionCalls).toEqual([]);
    expect(t.memory.state.refreshTokens.size).toBe(1);
  });

  it("an idle-expired session's current token is invalid_refresh_token", async () => {
    const t = setup();
    const { token } = await t.signIn();
    t.time.advanceMs(IDLE_TTL * 1000 + 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.memory.state.refreshTokens.size).toBe(1);
    expectNothingRevoked(t);
  });

  it("an absolutely expired session's current token is invalid_refresh_token", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    t.memory.session(sessionId)!.absoluteExpiresAt = new Date(NOW.getTime() - 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.memory.state.refreshTokens.size).toBe(1);
    expectNothingRevoked(t);
  });
});

// ---- REQUIRE_VERIFIED_EMAIL ---------------------------------------------------

describe("REQUIRE_VERIFIED_EMAIL: an unverified account cannot refresh its way around the requirement", () => {
  it("an unverified user's current token is email_not_verified, writes nothing and stays current", async () => {
    const t = setup({ requireVerifiedEmail: true });
    const { token } = await t.signIn();
    const before = t.memory.snapshot();
    await expect(t.rotate(token)).rejects.toBeInstanceOf(EmailNotVerified);
    expect(t.memory.snapshot()).toEqual(before);
    expectNothingRevoked(t);
  });

  it("the same token rotates once the email is verified, and the access token says so", async () => {
    const t = setup({ requireVerifiedEmail: true });
    const { user, token } = await t.signIn();
    await expect(t.rotate(token)).rejects.toBeInstanceOf(EmailNotVerified);
    await t.memory.stores.users.markEmailVerified(user.id, t.time.now());
    const pair = await t.rotate(token);
    expect(pair.refreshToken).toBe(await expectedSuccessor(token));
    expect(claimsOf(pair.accessToken)).toMatchObject({ sub: user.id, email_verified: true });
  });

  it("the grace path also carries email_verified, read with the grants", async () => {
    const t = setup({ requireVerifiedEmail: true });
    const { token } = await t.signIn(t.memory.addUser({ emailVerified: true }));
    const first = await t.rotate(token);
    t.time.advanceMs(1_000);
    const again = await t.rotate(token);
    expect(again.refreshToken).toBe(first.refreshToken);
    expect(claimsOf(again.accessToken).email_verified).toBe(true);
  });

  it(
    "a disabled unverified user is still invalid_refresh_token, not " +
      "email_not_verified: the account state is not disclosed",
    async () => {
      const t = setup({ requireVerifiedEmail: true });
      const { user, token } = await t.signIn();
      t.memory.state.users.get(user.id)!.status = "disabled";
      await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    },
  );

  it(
    "without the requirement an unverified user refreshes, with " + "email_verified false in the access token",
    async () => {
      const t = setup();
      const { token } = await t.signIn();
      expect(claimsOf((await t.rotate(token)).accessToken).email_verified).toBe(false);
    },
  );
});

describe("refreshExpiresIn: when the refresh token lapses if it is not used", () => {
  /** Signs in at NOW and rotates every 6 days up to day 24, then at `lastDay`: the last pair and its parent. */
  async function refreshedUntil(t: Scenario, lastDay: number) {
    let { token } = await t.signIn();
    for (let day = 6; day <= 24; day += 6) {
      t.time.advanceMs(6 * DAY);
      token = (await t.rotate(token)).refreshToken;
    }
    t.time.advanceMs((lastDay - 24) * DAY);
    return { parent: token, pair: await t.rotate(token) };
  }

  it(
    "stops announcing the idle window past the absolute expiry: near the end " +
      "it is the time left until the absolute expiry",
    async () => {
      const t = setup();
      const { pair } = await refreshedUntil(t, 29);
      // Day 29: the slid idle expiry (day 36) is capped by the absolute one (day 30).
      expect(pair.refreshExpiresIn).toBe(ABSOLUTE_TTL - 29 * 24 * 3600);
    },
  );

  it("answers the same in the grace window, counted from the repeat", async () => {
    const t = setup();
    const { parent } = await refreshedUntil(t, 29);
    t.time.advanceMs(3_000);
    expect((await t.rotate(parent)).refreshExpiresIn).toBe(ABSOLUTE_TTL - 29 * 24 * 3600 - 3);
  });

  it("far from the absolute expiry it is the idle window, slid by each rotation", async () => {
    const t = setup();
    const { pair } = await refreshedUntil(t, 20);
    expect(pair.refreshExpiresIn).toBe(IDLE_TTL);
  });
});
