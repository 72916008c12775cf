// rotateRefreshToken without HTTP or Postgres: an in-memory store that models
// what the repository's statements decide, a fixed clock, a recording
// revocation list and the real access-token issuer with the test keys. One
// block per case of DESIGN.md "Rotation with a deterministic successor".
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { type Config, type Env, loadConfig } from "../../src/config";
import { InvalidRefreshToken, RefreshTokenReused } from "../../src/errors";
import type { RequestOrigin } from "../../src/repositories/audit";
import type { Rotated, TokenLineage } from "../../src/repositories/refresh-tokens";
import type { UserRecord } from "../../src/repositories/users";
import { rotateRefreshToken, type RotationDeps } from "../../src/services/refresh-rotation";
import { AccessTokenIssuer, type KeySet, loadKeySet } from "../../src/services/tokens";

const NOW = new Date("2026-11-26T12:00:00.000Z");
const DAY = 24 * 3600 * 1000;
const SECRET = "unit-test refresh secret, 32+ characters long";
const OTHER_SECRET = "another refresh secret, also 32+ characters";
const IDLE_TTL = 7 * 24 * 3600;
const ABSOLUTE_TTL = 30 * 24 * 3600;
const GRACE = 10;
const ORIGIN: RequestOrigin = { ip: "192.0.2.7", userAgent: "vitest" };

const workerConfig: Config = loadConfig(env as unknown as Env);
let keys: KeySet;
beforeAll(async () => {
  keys = await loadKeySet(workerConfig);
});

// ---- Independent WebCrypto versions of the token arithmetic ----------------

const utf8 = (text: string) => new TextEncoder().encode(text);

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** sart_ + base64url(HMAC-SHA256(secret, T)), computed with WebCrypto rather than the service's code. */
async function expectedSuccessor(token: string, secret = SECRET): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return "sart_" + base64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(token))));
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function randomRefreshToken(): string {
  return "sart_" + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

// ---- The fake store ---------------------------------------------------------

type StoredToken = { sessionId: string; parentHash: string | null; usedAt: Date | null; expiresAt: Date };
type StoredSession = { id: string; userId: string; idleExpiresAt: Date; absoluteExpiresAt: Date; revokedAt: Date | null };
type Call = { method: "rotate" | "lineage" | "revokeFamilyForReuse" | "findById"; args: unknown[] };

/**
 * Holds users, sessions and token hashes, and answers rotate, lineage,
 * revokeFamilyForReuse and findById with the rules the repository's SQL
 * applies. Records every call.
 */
class FakeStore implements Pick<RotationDeps["refreshTokens"], "rotate" | "lineage" | "revokeFamilyForReuse">, Pick<RotationDeps["users"], "findById"> {
  readonly users = new Map<string, UserRecord>();
  readonly sessions = new Map<string, StoredSession>();
  readonly tokens = new Map<string, StoredToken>();
  readonly calls: Call[] = [];
  /** Runs inside findById before it reads: a change racing the grace path. */
  beforeFindById: (() => void) | undefined;

  snapshot() {
    return structuredClone({ users: this.users, sessions: this.sessions, tokens: this.tokens });
  }

  methods(): Call["method"][] {
    return this.calls.map((c) => c.method);
  }

  private live(session: StoredSession, at: Date): boolean {
    return session.revokedAt === null && session.idleExpiresAt > at && session.absoluteExpiresAt > at;
  }

  async rotate(input: Parameters<RotationDeps["refreshTokens"]["rotate"]>[0]): Promise<Rotated | undefined> {
    this.calls.push({ method: "rotate", args: [input] });
    const { at } = input;
    const token = this.tokens.get(input.tokenHash);
    const session = token && this.sessions.get(token.sessionId);
    const user = session && this.users.get(session.userId);
    if (!token || !session || !user || !this.live(session, at) || user.status !== "active") return undefined;
    if (token.usedAt !== null || token.expiresAt <= at) return undefined;
    const idleUntil = new Date(Math.min(at.getTime() + input.idleTtlSeconds * 1000, session.absoluteExpiresAt.getTime()));
    token.usedAt = at;
    this.tokens.set(input.successorHash, { sessionId: session.id, parentHash: input.tokenHash, usedAt: null, expiresAt: idleUntil });
    session.idleExpiresAt = idleUntil;
    return {
      sessionId: session.id,
      userId: user.id,
      roles: [...user.roles],
      permissions: [...user.permissions],
      grantsVersion: user.grantsVersion,
      idleExpiresAt: idleUntil,
      absoluteExpiresAt: session.absoluteExpiresAt,
    };
  }

  async lineage(tokenHash: string, at: Date): Promise<TokenLineage | undefined> {
    this.calls.push({ method: "lineage", args: [tokenHash, at] });
    const token = this.tokens.get(tokenHash);
    const session = token && this.sessions.get(token.sessionId);
    const user = session && this.users.get(session.userId);
    if (!token || !session || !user) return undefined;
    const child = [...this.tokens.entries()].find(([, t]) => t.parentHash === tokenHash);
    return {
      sessionId: session.id,
      userId: user.id,
      usedAt: token.usedAt,
      expiresAt: token.expiresAt,
      sessionLive: this.live(session, at),
      sessionAbsoluteExpiresAt: session.absoluteExpiresAt,
      userActive: user.status === "active",
      child: child ? { tokenHash: child[0], usedAt: child[1].usedAt, expiresAt: child[1].expiresAt } : null,
    };
  }

  async revokeFamilyForReuse(sessionId: string, origin: RequestOrigin, at: Date): Promise<boolean> {
    this.calls.push({ method: "revokeFamilyForReuse", args: [sessionId, origin, at] });
    const session = this.sessions.get(sessionId);
    if (!session || session.revokedAt !== null) return false;
    session.revokedAt = at;
    return true;
  }

  async findById(id: string): Promise<UserRecord | undefined> {
    this.calls.push({ method: "findById", args: [id] });
    this.beforeFindById?.();
    const user = this.users.get(id);
    return user && structuredClone(user);
  }
}

/** Records what reaches the edge revocation list. */
class FakeRevocationList {
  readonly revoked: string[][] = [];
  async revoke(sessionIds: readonly string[]): Promise<void> {
    this.revoked.push([...sessionIds]);
  }
}

// ---- Scenario helpers -------------------------------------------------------

function setup(config: Partial<RotationDeps["config"]> = {}) {
  let now = NOW.getTime();
  const clock = () => new Date(now);
  const store = new FakeStore();
  const revocations = new FakeRevocationList();
  const makeDeps = (overrides: Partial<RotationDeps["config"]> = {}): RotationDeps => ({
    refreshTokens: store,
    users: store,
    config: { refreshTokenSecret: SECRET, refreshIdleTtl: IDLE_TTL, refreshReuseGrace: GRACE, ...config, ...overrides },
    clock,
    tokens: async () => new AccessTokenIssuer(keys, workerConfig, clock),
    revocations,
  });
  const deps = makeDeps();
  return {
    store,
    revocations,
    deps,
    makeDeps,
    clock,
    advanceMs(ms: number) {
      now += ms;
    },
    rotate: (token: string, using: RotationDeps = deps) => rotateRefreshToken(using, token, ORIGIN),
    /** A user and a fresh session whose first token was issued at the current time. */
    async signIn(user?: UserRecord) {
      const owner = user ?? {
        id: crypto.randomUUID(),
        email: `${crypto.randomUUID()}@example.com`,
        name: null,
        status: "active" as const,
        passwordHash: "$argon2id$unused",
        grantsVersion: 0,
        createdAt: clock(),
        roles: ["user"],
        permissions: ["profile:read", "sessions:read"],
      };
      store.users.set(owner.id, owner);
      const sessionId = crypto.randomUUID();
      const idleExpiresAt = new Date(now + IDLE_TTL * 1000);
      store.sessions.set(sessionId, { id: sessionId, userId: owner.id, idleExpiresAt, absoluteExpiresAt: new Date(now + 30 * DAY), revokedAt: null });
      const token = randomRefreshToken();
      store.tokens.set(await sha256Hex(token), { sessionId, parentHash: null, usedAt: null, expiresAt: idleExpiresAt });
      return { user: owner, sessionId, token };
    },
  };
}

/** Rotates the chain forward `steps` times; returns every token, oldest first. */
async function chain(t: ReturnType<typeof setup>, first: string, steps: number): Promise<string[]> {
  const tokens = [first];
  for (let i = 0; i < steps; i++) tokens.push((await t.rotate(tokens.at(-1)!)).refreshToken);
  return tokens;
}

function expectNothingRevoked(t: ReturnType<typeof setup>) {
  expect(t.store.methods()).not.toContain("revokeFamilyForReuse");
  expect(t.revocations.revoked).toEqual([]);
  for (const session of t.store.sessions.values()) expect(session.revokedAt).toBeNull();
}

// ---- Case 1 -----------------------------------------------------------------

describe("case 1: the current token of a live session rotates", () => {
  it("answers the successor sart_ + base64url(HMAC-SHA256(REFRESH_TOKEN_SECRET, T)), recomputed independently", async () => {
    const t = setup();
    const { token } = await t.signIn();
    const pair = await t.rotate(token);
    expect(pair.refreshToken).toBe(await expectedSuccessor(token));
    expect(pair.refreshToken).toMatch(/^sart_[A-Za-z0-9_-]{43}$/);
  });

  it("the successor is keyed by the secret: another REFRESH_TOKEN_SECRET derives another token", async () => {
    const t = setup({ refreshTokenSecret: OTHER_SECRET });
    const { token } = await t.signIn();
    const pair = await t.rotate(token);
    expect(pair.refreshToken).toBe(await expectedSuccessor(token, OTHER_SECRET));
    expect(pair.refreshToken).not.toBe(await expectedSuccessor(token, SECRET));
  });

  it("the store receives only SHA-256 hashes of T and its successor, never a token", async () => {
    const t = setup();
    const { token } = await t.signIn();
    const pair = await t.rotate(token);
    const [call] = t.store.calls;
    expect(call).toEqual({
      method: "rotate",
      args: [{ tokenHash: await sha256Hex(token), successorHash: await sha256Hex(pair.refreshToken), idleTtlSeconds: IDLE_TTL, origin: ORIGIN, at: NOW }],
    });
    const seen = JSON.stringify(t.store.calls);
    for (const secretText of [token, pair.refreshToken, token.slice(5), pair.refreshToken.slice(5)]) expect(seen).not.toContain(secretText);
  });

  it("takes one store call: no lineage lookup, no user read, nothing revoked", async () => {
    const t = setup();
    const { token } = await t.signIn();
    await t.rotate(token);
    expect(t.store.methods()).toEqual(["rotate"]);
    expectNothingRevoked(t);
  });

  it("answers a token pair for the session with the user's grants and the session's remaining lifetime", async () => {
    const t = setup();
    const { user, sessionId, token } = await t.signIn();
    const pair = await t.rotate(token);
    expect(pair).toMatchObject({ tokenType: "Bearer", expiresIn: workerConfig.accessTokenTtl, sessionId, refreshExpiresIn: ABSOLUTE_TTL });
    const claims = decodeJwt(pair.accessToken);
    expect(claims).toMatchObject({ sub: user.id, sid: sessionId, roles: ["user"], permissions: ["profile:read", "sessions:read"], iat: NOW.getTime() / 1000 });
  });

  it("marks T used and makes the successor current, so the chain continues from the successor", async () => {
    const t = setup();
    const { token } = await t.signIn();
    t.advanceMs(60_000);
    const second = await t.rotate(token);
    expect(t.store.tokens.get(await sha256Hex(token))!.usedAt).toEqual(t.clock());
    expect(t.store.tokens.get(await sha256Hex(second.refreshToken))).toMatchObject({ usedAt: null, parentHash: await sha256Hex(token) });
    t.advanceMs(60_000);
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
    t.advanceMs(5_000);
    const before = t.store.snapshot();
    t.store.calls.length = 0;

    const again = await t.rotate(token);
    expect(again.refreshToken).toBe(first.refreshToken);
    expect(again.sessionId).toBe(sessionId);
    expect(decodeJwt(again.accessToken).jti).not.toBe(decodeJwt(first.accessToken).jti);
    expect(t.store.snapshot()).toEqual(before);
    // rotate is a conditional write that matched nothing; the rest are reads.
    expect(t.store.methods()).toEqual(["rotate", "lineage", "findById"]);
    expectNothingRevoked(t);
  });

  it("answers the session's remaining lifetime, not a new one", async () => {
    const t = setup();
    const { token } = await t.signIn();
    await t.rotate(token);
    t.advanceMs(4_000);
    const again = await t.rotate(token);
    expect(again.refreshExpiresIn).toBe(ABSOLUTE_TTL - 4);
  });

  it("issues the access token with the user's grants as they are now", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await t.rotate(token);
    user.roles = ["admin", "user"];
    user.permissions = ["users:read"];
    const again = await t.rotate(token);
    expect(decodeJwt(again.accessToken)).toMatchObject({ roles: ["admin", "user"], permissions: ["users:read"] });
  });

  it("is still grace 1 ms before the boundary (REFRESH_REUSE_GRACE - 1 ms after the rotation)", async () => {
    const t = setup();
    const { token } = await t.signIn();
    const first = await t.rotate(token);
    t.advanceMs(GRACE * 1000 - 1);
    expect((await t.rotate(token)).refreshToken).toBe(first.refreshToken);
    expectNothingRevoked(t);
  });

  it("is reuse at exactly REFRESH_REUSE_GRACE after the rotation: the window is half-open", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await t.rotate(token);
    t.advanceMs(GRACE * 1000);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[sessionId]]);
  });

  it("is reuse 1 ms past the grace window", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await t.rotate(token);
    t.advanceMs(GRACE * 1000 + 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[sessionId]]);
  });

  it("REFRESH_REUSE_GRACE = 0 turns the window off: even an immediate replay is reuse", async () => {
    const t = setup({ refreshReuseGrace: 0 });
    const { sessionId, token } = await t.signIn();
    await t.rotate(token);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[sessionId]]);
  });

  it("a parent whose successor has already been used is reuse, even within the window", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await chain(t, token, 2);
    t.advanceMs(1_000);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[sessionId]]);
  });

  it("a retry after REFRESH_TOKEN_SECRET changed no longer matches the stored successor and is reuse", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await t.rotate(token);
    t.advanceMs(1_000);
    await expect(t.rotate(token, t.makeDeps({ refreshTokenSecret: OTHER_SECRET }))).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[sessionId]]);
  });

  it("a user disabled between the lineage read and the grant read gets invalid_refresh_token, and nothing is revoked", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await t.rotate(token);
    t.store.beforeFindById = () => {
      user.status = "disabled";
    };
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.methods().at(-1)).toBe("findById");
    expectNothingRevoked(t);
  });

  it("a user deleted meanwhile gets invalid_refresh_token on the grace path, and nothing is revoked", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await t.rotate(token);
    t.store.beforeFindById = () => {
      t.store.users.delete(user.id);
    };
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });

  it("a user already disabled when the parent comes back gets invalid_refresh_token, not the successor", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await t.rotate(token);
    user.status = "disabled";
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.methods()).not.toContain("findById");
    expectNothingRevoked(t);
  });
});

// ---- Case 3 -----------------------------------------------------------------

describe("case 3: any other token of the family is reuse and ends the session", () => {
  it("replaying a grandparent revokes the family by session id, pushes it to the revocation list and throws RefreshTokenReused", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    const tokens = await chain(t, token, 2);
    t.advanceMs(30_000);

    const error = await t.rotate(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefreshTokenReused);
    expect((error as RefreshTokenReused).code).toBe("refresh_token_reused");
    const revokeCalls = t.store.calls.filter((c) => c.method === "revokeFamilyForReuse");
    expect(revokeCalls).toEqual([{ method: "revokeFamilyForReuse", args: [sessionId, ORIGIN, t.clock()] }]);
    expect(t.revocations.revoked).toEqual([[sessionId]]);

    // The thief's newest token is dead with the family.
    await expect(t.rotate(tokens.at(-1)!)).rejects.toBeInstanceOf(InvalidRefreshToken);
  });

  it("the immediate parent replayed after the grace window ends the family", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    const [, current] = await chain(t, token, 1);
    t.advanceMs(60_000);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[sessionId]]);
    await expect(t.rotate(current!)).rejects.toBeInstanceOf(InvalidRefreshToken);
  });

  it("a rotated token past its own expiry is still reuse while its session lives", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    let current = token;
    for (let day = 0; day < 3; day++) {
      t.advanceMs(6 * DAY);
      current = (await t.rotate(current)).refreshToken;
    }
    // The first token expired on day 7; the session has slid to day 25.
    expect(t.store.tokens.get(await sha256Hex(token))!.expiresAt.getTime()).toBeLessThan(t.clock().getTime());
    await expect(t.rotate(token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[sessionId]]);
  });

  it("other sessions of the same user are untouched", async () => {
    const t = setup();
    const first = await t.signIn();
    const second = await t.signIn(first.user);
    await chain(t, first.token, 2);
    await expect(t.rotate(first.token)).rejects.toBeInstanceOf(RefreshTokenReused);
    expect(t.revocations.revoked).toEqual([[first.sessionId]]);
    expect(t.store.sessions.get(second.sessionId)!.revokedAt).toBeNull();
    expect((await t.rotate(second.token)).sessionId).toBe(second.sessionId);
  });

  it("an old token of a session that has already ended is invalid_refresh_token and revokes nothing again", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    await chain(t, token, 2);
    t.store.sessions.get(sessionId)!.revokedAt = t.clock();
    t.store.calls.length = 0;
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.methods()).toEqual(["rotate", "lineage"]);
    expect(t.revocations.revoked).toEqual([]);
  });

  it("an old token of a session past its absolute expiry is invalid_refresh_token, not reuse", async () => {
    const t = setup();
    const { token } = await t.signIn();
    await chain(t, token, 2);
    t.advanceMs(30 * DAY);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });

  it("an old token of a disabled user's session is invalid_refresh_token, not reuse", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    await chain(t, token, 2);
    user.status = "disabled";
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });
});

// ---- Case 4 -----------------------------------------------------------------

describe("case 4: anything else is invalid_refresh_token", () => {
  it("an unknown well-formed token is invalid_refresh_token after one rotate and one lineage lookup, revoking nothing", async () => {
    const t = setup();
    await t.signIn();
    const error = await t.rotate(randomRefreshToken()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRefreshToken);
    expect((error as InvalidRefreshToken).code).toBe("invalid_refresh_token");
    expect(t.store.methods()).toEqual(["rotate", "lineage"]);
    expectNothingRevoked(t);
  });

  it.each([
    ["an empty string", ""],
    ["an access token", "eyJhbGciOiJFZERTQSJ9.e30.sig"],
    ["the prefix in upper case", "SART_" + "A".repeat(43)],
    ["a leading space", " sart_" + "A".repeat(43)],
    ["the bare prefix without underscore", "sart" + "A".repeat(43)],
  ])("a token not starting with sart_ (%s) never reaches the store", async (_label, presented) => {
    const t = setup();
    await expect(t.rotate(presented)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.calls).toEqual([]);
    expect(t.revocations.revoked).toEqual([]);
  });

  it("an over-long token (129 characters) never reaches the store", async () => {
    const t = setup();
    await expect(t.rotate("sart_" + "A".repeat(124))).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.calls).toEqual([]);
  });

  it("a 128-character token is still looked up (the length limit is inclusive), then is unknown", async () => {
    const t = setup();
    await expect(t.rotate("sart_" + "A".repeat(123))).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.methods()).toEqual(["rotate", "lineage"]);
  });

  it("the current token past its own expiry in a live session is invalid_refresh_token, not reuse", async () => {
    const t = setup();
    const { token } = await t.signIn();
    t.store.tokens.get(await sha256Hex(token))!.expiresAt = new Date(NOW.getTime() - 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });
});

// ---- Ended sessions and disabled users ------------------------------------

describe("a session or user that has ended fails at the rotation itself", () => {
  it("a disabled user's current token is invalid_refresh_token, stays unused, and nothing is revoked", async () => {
    const t = setup();
    const { user, token } = await t.signIn();
    user.status = "disabled";
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.tokens.get(await sha256Hex(token))!.usedAt).toBeNull();
    expect(t.store.tokens.size).toBe(1);
    expectNothingRevoked(t);
  });

  it("a revoked session's current token is invalid_refresh_token and nothing is revoked again", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    t.store.sessions.get(sessionId)!.revokedAt = NOW;
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.methods()).not.toContain("revokeFamilyForReuse");
    expect(t.revocations.revoked).toEqual([]);
    expect(t.store.tokens.size).toBe(1);
  });

  it("an idle-expired session's current token is invalid_refresh_token", async () => {
    const t = setup();
    const { token } = await t.signIn();
    t.advanceMs(IDLE_TTL * 1000 + 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expect(t.store.tokens.size).toBe(1);
    expectNothingRevoked(t);
  });

  it("an absolutely expired session's current token is invalid_refresh_token", async () => {
    const t = setup();
    const { sessionId, token } = await t.signIn();
    t.store.sessions.get(sessionId)!.absoluteExpiresAt = new Date(NOW.getTime() - 1);
    await expect(t.rotate(token)).rejects.toBeInstanceOf(InvalidRefreshToken);
    expectNothingRevoked(t);
  });
});
