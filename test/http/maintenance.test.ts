// Data retention through the Worker's real scheduled handler (the daily Cron
// Trigger) against the real Postgres: rows are arranged with SQL, the handler
// runs at a fixed scheduled time, and exactly the right rows must remain.
import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION, MaintenanceService } from "../../src/features/maintenance/service";
import {
  call,
  db,
  problemOf,
  refresh,
  refreshOk,
  refreshTokenHash,
  register,
  scheduled,
  testService,
} from "../support/harness";

const { query } = db;

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
const RETENTION = DEFAULT_RETENTION.endedSessionDays * DAY;

const ago = (now: Date, ms: number) => new Date(now.getTime() - ms);
const later = (now: Date, ms: number) => new Date(now.getTime() + ms);

async function insertUser(): Promise<string> {
  const [row] = await query<{ id: string }>(
    "insert into users (email, password_hash) values ($1, 'unused') returning id",
    [`retention-${crypto.randomUUID()}@example.com`],
  );
  return row!.id;
}

async function insertSession(
  userId: string,
  s: { idleExpiresAt: Date; absoluteExpiresAt: Date; revokedAt?: Date },
): Promise<string> {
  const [row] = await query<{ id: string }>(
    `insert into sessions (user_id, idle_expires_at, absolute_expires_at, revoked_at, revoked_reason)
     values ($1, $2, $3, $4, case when $4::timestamptz is null then null else 'logged_out' end) returning id`,
    [userId, s.idleExpiresAt, s.absoluteExpiresAt, s.revokedAt ?? null],
  );
  return row!.id;
}

/** `used` tokens and one current token, as a rotated family would hold. */
async function insertTokens(sessionId: string, used: number, expiresAt: Date): Promise<void> {
  for (let i = 0; i <= used; i++) {
    await query("insert into refresh_tokens (token_hash, session_id, used_at, expires_at) values ($1, $2, $3, $4)", [
      crypto.randomUUID().replace(/-/g, "").padEnd(64, "0"),
      sessionId,
      i < used ? ago(expiresAt, DAY) : null,
      expiresAt,
    ]);
  }
}

async function remainingSessions(ids: string[]): Promise<string[]> {
  const rows = await query<{ id: string }>("select id from sessions where id = any($1::uuid[])", [ids]);
  return rows.map((r) => r.id).sort();
}

async function tokenCount(sessionId: string): Promise<number> {
  const [row] = await query<{ n: number }>("select count(*)::int as n from refresh_tokens where session_id = $1", [
    sessionId,
  ]);
  return row!.n;
}

describe("scheduled maintenance: ended sessions", () => {
  it(
    "deletes sessions that ended more than 30 days ago with their refresh " +
      "tokens, and keeps live and recently ended ones",
    async () => {
      const now = new Date();
      const cutoff = ago(now, RETENTION);
      const userId = await insertUser();
      const doomed = {
        // Logged in 61 days ago: absolutely expired 31 days ago.
        absolutelyExpired: await insertSession(userId, {
          idleExpiresAt: ago(now, 31 * DAY),
          absoluteExpiresAt: ago(now, 31 * DAY),
        }),
        // Revoked 31 days ago, a minute after login; its expiries came later.
        revoked: await insertSession(userId, {
          revokedAt: ago(now, 31 * DAY),
          idleExpiresAt: ago(now, 24 * DAY),
          absoluteExpiresAt: ago(now, DAY),
        }),
        // Last used 38 days ago: idle-expired 31 days ago, before its absolute expiry.
        idleExpired: await insertSession(userId, {
          idleExpiresAt: ago(now, 31 * DAY),
          absoluteExpiresAt: ago(now, 10 * DAY),
        }),
        // Ended 1 ms before the cutoff.
        justPastRetention: await insertSession(userId, {
          revokedAt: ago(cutoff, 1),
          idleExpiresAt: later(cutoff, 7 * DAY),
          absoluteExpiresAt: later(cutoff, 29 * DAY),
        }),
      };
      const kept = {
        live: await insertSession(userId, {
          idleExpiresAt: later(now, 5 * DAY),
          absoluteExpiresAt: later(now, 20 * DAY),
        }),
        revokedRecently: await insertSession(userId, {
          revokedAt: ago(now, 29 * DAY),
          idleExpiresAt: ago(now, 22 * DAY),
          absoluteExpiresAt: later(now, DAY),
        }),
        expiredRecently: await insertSession(userId, {
          idleExpiresAt: ago(now, DAY),
          absoluteExpiresAt: ago(now, DAY),
        }),
        // Ended exactly at the cutoff: kept (retention is "more than 30 days").
        endedAtCutoff: await insertSession(userId, {
          revokedAt: cutoff,
          idleExpiresAt: later(cutoff, 7 * DAY),
          absoluteExpiresAt: later(cutoff, 29 * DAY),
        }),
      };
      for (const id of [...Object.values(doomed), kept.revokedRecently, kept.expiredRecently, kept.endedAtCutoff])
        await insertTokens(id, 3, ago(now, 31 * DAY));
      // The live session's used tokens expired long ago; they must stay for reuse detection.
      await insertTokens(kept.live, 3, ago(now, 20 * DAY));
      await query(
        "insert into audit_logs (event, user_id, session_id, created_at) values ('auth.logged_out', $1, $2, $3)",
        [userId, doomed.revoked, ago(now, 31 * DAY)],
      );

      await scheduled(now);

      const all = [...Object.values(doomed), ...Object.values(kept)];
      expect(await remainingSessions(all)).toEqual(Object.values(kept).sort());
      for (const id of Object.values(doomed)) expect(await tokenCount(id)).toBe(0);
      for (const id of Object.values(kept)) expect(await tokenCount(id)).toBe(4);
      // The audit trail is kept, including events of deleted sessions.
      expect(await query("select 1 from audit_logs where session_id = $1", [doomed.revoked])).toHaveLength(1);
    },
  );

  it(
    "keeps a live session's old, used refresh tokens, so replaying one after " +
      "pruning is still refresh_token_reused",
    async () => {
      const account = await register();
      const rt1 = account.tokens;
      const rt2 = await refreshOk(rt1.refreshToken);
      expect((await refresh(rt2.refreshToken)).status).toBe(200);
      // Make rt1 look 20 days old and long expired, in a session that is still live.
      await query(
        "update refresh_tokens set created_at = now() - interval '20 days', used_at = now() - interval '20 days', " +
          "expires_at = now() - interval '13 days' where token_hash = $1",
        [await refreshTokenHash(rt1.refreshToken)],
      );

      await scheduled(later(new Date(), HOUR));

      expect(await tokenCount(rt1.sessionId)).toBe(3);
      const replay = await refresh(rt1.refreshToken);
      expect(replay.status).toBe(401);
      expect((await problemOf(replay)).code).toBe("refresh_token_reused");
    },
  );

  it("answers an old token of a pruned session exactly as before pruning: invalid_refresh_token", async () => {
    const account = await register();
    const { refreshToken, sessionId } = account.tokens;
    expect((await call("POST", "/auth/logout", { token: account.tokens.accessToken })).status).toBe(204);
    const before = await refresh(refreshToken);
    expect((await problemOf(before)).code).toBe("invalid_refresh_token");

    await query("update sessions set revoked_at = now() - interval '31 days' where id = $1", [sessionId]);
    await scheduled(new Date());

    expect(await remainingSessions([sessionId])).toEqual([]);
    const after = await refresh(refreshToken);
    expect(after.status).toBe(401);
    expect((await problemOf(after)).code).toBe("invalid_refresh_token");
  });
});

describe("scheduled maintenance: failure", () => {
  it("rejects when the database is unreachable, so the Cron run is recorded as failed", async () => {
    await expect(testService().closedDatabase().scheduled(new Date())).rejects.toThrow();
  });
});

describe("scheduled maintenance: login throttles", () => {
  it(
    "deletes unlocked throttle rows whose last failure is older than the 1 h " + "failure window, and keeps the rest",
    async () => {
      const now = new Date();
      const tag = crypto.randomUUID();
      const rows: [name: string, lastFailureAt: Date, lockedUntil: Date | null, kept: boolean][] = [
        ["stale", ago(now, 2 * HOUR), null, false],
        ["stale, lock long over", ago(now, 2 * HOUR), ago(now, 2 * HOUR - 15 * 60 * SECOND), false],
        ["just past the window", ago(now, HOUR + 1), null, false],
        ["exactly at the window", ago(now, HOUR), null, true],
        ["recent", ago(now, 30 * 60 * SECOND), null, true],
        ["recent and locked", ago(now, 60 * SECOND), later(now, 14 * 60 * SECOND), true],
        ["stale but still locked", ago(now, 2 * HOUR), later(now, 5 * 60 * SECOND), true],
      ];
      for (const [name, lastFailureAt, lockedUntil] of rows) {
        await query(
          "insert into login_throttles (key, failures, last_failure_at, locked_until) values ($1, 5, $2, $3)",
          [`${tag}:${name}`, lastFailureAt, lockedUntil],
        );
      }

      await scheduled(now);

      const remaining = await query<{ key: string }>("select key from login_throttles where key like $1 order by key", [
        `${tag}:%`,
      ]);
      expect(remaining.map((r) => r.key.slice(tag.length + 1)).sort()).toEqual(
        rows
          .filter((r) => r[3])
          .map((r) => r[0])
          .sort(),
      );
    },
  );
});

describe("scheduled maintenance: sign-ins and ceremonies in progress", () => {
  it(
    "deletes mfaTokens and WebAuthn challenges an hour after they expired, " + "used or not, and keeps the rest",
    async () => {
      // Dated in 2001, so no other test's rows are in play.
      const runAt = new Date("2001-06-01T03:17:00.000Z");
      const tag = crypto.randomUUID();
      const rows: [name: string, kind: string, expiresAt: Date, usedAt: Date | null, kept: boolean][] = [
        ["expired two hours ago", "mfa_sign_in", ago(runAt, 2 * HOUR), null, false],
        ["used, expired two hours ago", "passkey_authentication", ago(runAt, 2 * HOUR), ago(runAt, 3 * HOUR), false],
        ["expired half an hour ago", "passkey_registration", ago(runAt, HOUR / 2), null, true],
        ["live", "mfa_sign_in", later(runAt, 60 * SECOND), null, true],
      ];
      for (const [name, kind, expiresAt, usedAt] of rows) {
        await query(
          "insert into auth_challenges (key_hash, kind, expires_at, used_at, created_at) values ($1, $2, $3, $4, $5)",
          [`${tag}:${name}`, kind, expiresAt, usedAt, ago(expiresAt, 300 * SECOND)],
        );
      }

      await scheduled(runAt);

      const remaining = await query<{ key_hash: string }>(
        "select key_hash from auth_challenges where key_hash like $1",
        [`${tag}:%`],
      );
      expect(remaining.map((r) => r.key_hash.slice(tag.length + 1)).sort()).toEqual(
        rows
          .filter((r) => r[4])
          .map((r) => r[0])
          .sort(),
      );
    },
  );
});

describe("scheduled maintenance: the revocation log", () => {
  it("deletes log rows older than a day and an hour (past any access token's life), and keeps the rest", async () => {
    // Dated in 2002, so no other test's rows are in play.
    const runAt = new Date("2002-06-01T03:17:00.000Z");
    const [old, recent] = [crypto.randomUUID(), crypto.randomUUID()];
    await query("insert into revocation_log (kind, subject, created_at) values ('session', $1, $2)", [
      old,
      ago(runAt, 25 * HOUR + SECOND),
    ]);
    await query("insert into revocation_log (kind, subject, created_at) values ('session', $1, $2)", [
      recent,
      ago(runAt, 25 * HOUR - SECOND),
    ]);

    await scheduled(runAt);

    const remaining = await query<{ subject: string }>(
      "select subject from revocation_log where subject = any($1::uuid[])",
      [[old, recent]],
    );
    expect(remaining).toEqual([{ subject: recent }]);
  });
});

describe("scheduled maintenance: organization invitations", () => {
  it("deletes an invitation a day after it expired, was accepted or was revoked, and keeps the others", async () => {
    const runAt = new Date("2002-08-01T03:17:00.000Z");
    const [org] = await query<{ id: string }>(
      "insert into organizations (name, slug) values ('Pruned', $1) returning id",
      [`pruned-${crypto.randomUUID().slice(0, 8)}`],
    );
    const rows: [email: string, expiresAt: Date, accepted: Date | null, revoked: Date | null, kept: boolean][] = [
      ["expired-two-days@example.com", ago(runAt, 2 * DAY), null, null, false],
      ["expired-an-hour@example.com", ago(runAt, HOUR), null, null, true],
      ["accepted-two-days@example.com", later(runAt, DAY), ago(runAt, 2 * DAY), null, false],
      ["revoked-two-days@example.com", later(runAt, DAY), null, ago(runAt, 2 * DAY), false],
      ["revoked-an-hour@example.com", later(runAt, DAY), null, ago(runAt, HOUR), true],
      ["pending@example.com", later(runAt, DAY), null, null, true],
    ];
    for (const [email, expiresAt, acceptedAt, revokedAt] of rows) {
      await query(
        "insert into organization_invitations (org_id, email, roles, token_hash, expires_at, accepted_at, " +
          "revoked_at) values ($1, $2, '{member}', $3, $4, $5, $6)",
        [org!.id, email, crypto.randomUUID(), expiresAt, acceptedAt, revokedAt],
      );
    }

    await scheduled(runAt);

    const remaining = await query<{ email: string }>("select email from organization_invitations where org_id = $1", [
      org!.id,
    ]);
    expect(remaining.map((r) => r.email).sort()).toEqual(
      rows
        .filter((r) => r[4])
        .map((r) => r[0])
        .sort(),
    );
  });
});

describe("scheduled maintenance: email sign-in codes", () => {
  it(
    "deletes email sign-in codes and requests a day after they expired (each holds an address), and keeps the " +
      "ones the hourly cap still counts",
    async () => {
      // Dated in 2002, so no other test's rows are in play.
      const runAt = new Date("2002-06-01T03:17:00.000Z");
      const email = `${crypto.randomUUID()}@example.com`;
      const rows: [name: string, expiresAt: Date, kept: boolean][] = [
        ["expired two days ago", ago(runAt, 48 * HOUR), false],
        ["expired just over a day ago", ago(runAt, 24 * HOUR + SECOND), false],
        ["expired an hour ago", ago(runAt, HOUR), true],
        ["live", later(runAt, 300 * SECOND), true],
      ];
      for (const [name, expiresAt] of rows) {
        await query(
          "insert into email_sign_in_codes (email, redirect_to, expires_at, created_at) values ($1, $2, $3, $4)",
          [email, name, expiresAt, ago(expiresAt, 600 * SECOND)],
        );
      }

      await scheduled(runAt);

      const remaining = await query<{ redirect_to: string }>(
        "select redirect_to from email_sign_in_codes where email = $1",
        [email],
      );
      expect(remaining.map((r) => r.redirect_to).sort()).toEqual(
        rows
          .filter((r) => r[2])
          .map((r) => r[0])
          .sort(),
      );
    },
  );

  it("deletes an address's code quota an hour after its last request, and keeps a fresher one", async () => {
    const runAt = new Date("2002-07-01T03:17:00.000Z");
    const [stale, fresh] = [`stale:${crypto.randomUUID()}`, `fresh:${crypto.randomUUID()}`];
    for (const [key, last] of [
      [stale, ago(runAt, HOUR + SECOND)],
      [fresh, ago(runAt, HOUR - SECOND)],
    ] as const) {
      await query(
        "insert into email_code_quotas (address_key, requested_at, last_requested_at) " +
          "values ($1, array[$2::timestamptz], $2)",
        [key, last],
      );
    }
    await scheduled(runAt);
    const left = await query<{ address_key: string }>(
      "select address_key from email_code_quotas where address_key = any($1::text[])",
      [[stale, fresh]],
    );
    expect(left.map((r) => r.address_key)).toEqual([fresh]);
  });
});

describe("MaintenanceService batches", () => {
  // Rows dated in 2000 and runs dated in 2000, so no other test's rows qualify.
  const RUN_AT = new Date("2000-03-01T03:17:00.000Z");

  async function arrangeEndedSessions(count: number, tokensEach: number): Promise<string[]> {
    const userId = await insertUser();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = await insertSession(userId, {
        idleExpiresAt: new Date("2000-01-01T00:00:00Z"),
        absoluteExpiresAt: new Date("2000-01-01T00:00:00Z"),
      });
      await insertTokens(id, tokensEach - 1, new Date("2000-01-01T00:00:00Z"));
      ids.push(id);
    }
    return ids;
  }

  /** The real repository, recording what each statement deleted. */
  function recordingRepository() {
    const { stores, close } = testService().stores();
    const repository = stores.maintenance;
    const deleted: Record<string, number[]> = { tokens: [], sessions: [], throttles: [] };
    const store = {
      async deleteTokensOfEndedSessions(cutoff: Date, limit: number) {
        const n = await repository.deleteTokensOfEndedSessions(cutoff, limit);
        deleted.tokens!.push(n);
        return n;
      },
      async deleteEndedSessions(cutoff: Date, limit: number) {
        const n = await repository.deleteEndedSessions(cutoff, limit);
        deleted.sessions!.push(n);
        return n;
      },
      async deleteStaleLoginThrottles(before: Date, at: Date, limit: number) {
        const n = await repository.deleteStaleLoginThrottles(before, at, limit);
        deleted.throttles!.push(n);
        return n;
      },
      deleteExpiredOneTimeTokens: (cutoff: Date, limit: number) => repository.deleteExpiredOneTimeTokens(cutoff, limit),
      deleteExpiredEmailCodes: (cutoff: Date, limit: number) => repository.deleteExpiredEmailCodes(cutoff, limit),
      deleteStaleEmailCodeQuotas: (before: Date, limit: number) => repository.deleteStaleEmailCodeQuotas(before, limit),
      deleteExpiredChallenges: (cutoff: Date, limit: number) => repository.deleteExpiredChallenges(cutoff, limit),
      deleteOldRevocationLog: (cutoff: Date, limit: number) => repository.deleteOldRevocationLog(cutoff, limit),
      deleteExpiredProviderState: (cutoff: Date, limit: number) => repository.deleteExpiredProviderState(cutoff, limit),
      deleteSpentInvitations: (cutoff: Date, limit: number) => repository.deleteSpentInvitations(cutoff, limit),
    };
    return { store, deleted, close };
  }

  it("deletes in statements of at most batchSize rows until a batch comes back short", async () => {
    const ids = await arrangeEndedSessions(5, 3);
    const { store, deleted, close } = recordingRepository();
    try {
      const report = await new MaintenanceService(store, { batchSize: 2 }).run(RUN_AT);
      expect(report).toEqual({
        refreshTokens: 15,
        sessions: 5,
        loginThrottles: 0,
        oneTimeTokens: 0,
        emailCodes: 0,
        emailCodeQuotas: 0,
        challenges: 0,
        revocationLog: 0,
        providerState: 0,
        invitations: 0,
        complete: true,
      });
      expect(deleted.tokens).toEqual([2, 2, 2, 2, 2, 2, 2, 1]);
      expect(deleted.sessions).toEqual([2, 2, 1]);
      expect(await remainingSessions(ids)).toEqual([]);
    } finally {
      await close();
    }
  });

  it(
    "stops after maxBatchesPerRun, never deletes a session that still holds " + "tokens, and the next run finishes",
    async () => {
      const ids = await arrangeEndedSessions(3, 2);
      const { store, close } = recordingRepository();
      try {
        const first = await new MaintenanceService(store, { batchSize: 2, maxBatchesPerRun: 1 }).run(RUN_AT);
        expect(first).toMatchObject({ refreshTokens: 2, complete: false });
        const [left] = await query<{ n: number }>(
          "select count(*)::int as n from refresh_tokens where session_id = any($1::uuid[])",
          [ids],
        );
        expect(left!.n).toBe(4);
        // Only a session whose tokens are all gone may go; none with tokens left.
        const withTokens = await query<{ id: string }>(
          "select distinct session_id as id from refresh_tokens where session_id = any($1::uuid[])",
          [ids],
        );
        const remaining = await remainingSessions(ids);
        for (const { id } of withTokens) expect(remaining).toContain(id);
        expect(first.sessions).toBe(ids.length - remaining.length);

        const second = await new MaintenanceService(store).run(RUN_AT);
        expect(second.complete).toBe(true);
        expect(await remainingSessions(ids)).toEqual([]);
      } finally {
        await close();
      }
    },
  );
});
