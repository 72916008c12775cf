// The refresh-token format (docs/sessions.md): `sart_` + 43 base64url
// characters + an 8-character HMAC tag. A string without a valid tag is
// refused before any database statement, which pg_stat_statements (loaded by
// test/setup/global-setup.ts) shows; tokens minted before the tag (`sart_` +
// 43 characters) are still looked up, and rotate into tagged ones.
import { describe, expect, it } from "vitest";
import {
  call,
  db,
  problemOf,
  randomRefreshToken,
  refresh,
  refreshOk,
  refreshTokenHash,
  register,
} from "../support/harness";

const { query } = db;

const TAGGED = /^sart_[A-Za-z0-9_-]{73}$/;

type Statement = { query: string; calls: string };

/**
 * Statements recorded since the last reset that touch refresh tokens or
 * sessions, leaving out this file's own (they all name pg_stat_statements).
 */
async function sessionStatements(): Promise<Statement[]> {
  return query<Statement>(
    `select query, calls::text as calls from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query not ilike '%pg_stat_statements%'
        and (query ilike '%refresh_tokens%' or query ilike '%sessions%')
      order by query`,
  );
}

const resetStatements = () => db.resetStatementStats();

async function counts(): Promise<{ audit: string; tokens: string; sessions: string }> {
  const [row] = await query<{ audit: string; tokens: string; sessions: string }>(
    "select (select count(*) from audit_logs)::text as audit, (select count(*) from refresh_tokens)::text as " +
      "tokens, (select count(*) from sessions where revoked_at is null)::text as sessions",
  );
  return row!;
}

describe("a random sart_ token is refused with no SQL", () => {
  it(
    "POST /auth/refresh and POST /auth/logout with a random tagged-shape " +
      "token run no statement on refresh_tokens or sessions",
    async () => {
      const { tokens } = await register();
      const junk = randomRefreshToken("tagged");
      expect(junk).toMatch(TAGGED);

      await resetStatements();
      const refused = await refresh(junk);
      expect(refused.status).toBe(401);
      expect((await problemOf(refused)).code).toBe("invalid_refresh_token");
      const logout = await call("POST", "/auth/logout", { body: { refreshToken: junk } });
      expect(logout.status).toBe(204);
      expect(await sessionStatements()).toEqual([]);

      // Control: a real refresh shows up in the same view, so the check above can fail.
      await resetStatements();
      await refreshOk(tokens.refreshToken);
      const ran = await sessionStatements();
      expect(ran.some((s) => /refresh_tokens/i.test(s.query))).toBe(true);
      expect(ran.some((s) => /\bsessions\b/i.test(s.query))).toBe(true);
    },
  );

  it.each([
    ["the tagged shape, with a wrong tag", () => randomRefreshToken("tagged")],
    ["the old untagged shape", () => randomRefreshToken("legacy")],
  ])("a random token in %s answers 401 invalid_refresh_token and writes nothing", async (_label, make) => {
    const before = await counts();
    const res = await refresh(make());
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("invalid_refresh_token");
    expect(await counts()).toEqual(before);
  });
});

describe("tokens minted before the tag keep working until they rotate", () => {
  /**
   * A user whose session's current token is an untagged one, as a session
   * signed in before the tag existed holds: the token registration issued is
   * marked used and an untagged child of it becomes the current token.
   */
  async function sessionWithLegacyToken() {
    const account = await register();
    const legacy = randomRefreshToken("legacy");
    expect(legacy).toMatch(/^sart_[A-Za-z0-9_-]{43}$/);
    const issuedHash = await refreshTokenHash(account.tokens.refreshToken);
    const [issued] = await query<{ expires_at: Date }>(
      "update refresh_tokens set used_at = now() - interval '1 hour' where token_hash = $1 returning expires_at",
      [issuedHash],
    );
    expect(issued).toBeDefined();
    await query(
      "insert into refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at) values ($1, $2, $3, " +
        "now() - interval '1 hour', $4)",
      [await refreshTokenHash(legacy), account.tokens.sessionId, issuedHash, issued!.expires_at],
    );
    return { account, legacy };
  }

  it(
    "a legacy token refreshes (200) into a tagged successor, the session " +
      "goes on, and replaying it afterwards is reuse",
    async () => {
      const { account, legacy } = await sessionWithLegacyToken();
      const { sessionId } = account.tokens;

      const res = await refresh(legacy);
      expect(res.status, await res.clone().text()).toBe(200);
      const { tokens: successor } = (await res.json()) as {
        tokens: { refreshToken: string; sessionId: string; accessToken: string };
      };
      expect(successor.refreshToken).toMatch(TAGGED);
      expect(successor.sessionId).toBe(sessionId);
      expect((await call("GET", "/me", { token: successor.accessToken })).status).toBe(200);

      // The successor is stored as the legacy token's child, and rotates on like any token.
      const [child] = await query<{ parent_hash: string }>(
        "select parent_hash from refresh_tokens where token_hash = $1",
        [await refreshTokenHash(successor.refreshToken)],
      );
      expect(child!.parent_hash).toBe(await refreshTokenHash(legacy));
      const next = await refreshOk(successor.refreshToken);
      expect(next.sessionId).toBe(sessionId);
      expect(next.refreshToken).toMatch(TAGGED);

      const replay = await refresh(legacy);
      expect(replay.status).toBe(401);
      expect((await problemOf(replay)).code).toBe("refresh_token_reused");
      const [session] = await query<{ revoked_reason: string | null }>(
        "select revoked_reason from sessions where id = $1",
        [sessionId],
      );
      expect(session!.revoked_reason).toBe("refresh_token_reused");
    },
  );
});
