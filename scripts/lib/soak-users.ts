// The simulated users of `npm run soak`. Each registers once (and keeps that
// first session open, as an older device), then loops until told to stop:
// login, 2 to 4 refreshes (each with the previous answer's token; sometimes
// two at once with the same token, sometimes a replay of the token just
// rotated, both of which the grace rule answers with the same successor),
// GET /auth/verify, GET /me, GET /sessions, sometimes DELETE /sessions/:id
// of an older session, and logout (or, one time in two, leaving the
// session open, so sessions pile up and the session cap evicts the oldest).
// With retryUnavailable (the fault phase), a 503 or a missing answer is
// retried, the same request after a short pause (a refresh with no answer at
// once the first time, as the client package does), as a client would: a
// retried refresh whose first answer was lost gets the same successor within
// the grace window. A refresh that reaches the service later than the grace
// window after its token was rotated (a retry or a replay held up by an
// outage) is refused as reuse and its session ended, by the rules: that 401
// is explained, counted, and the user signs in again. Any other answer the
// rules do not expect ends the iteration; the user starts over at login (or
// register) after a pause.
import { randomBytes } from "node:crypto";
import type { Call } from "./soak-stats.ts";

export type LoadContext = {
  url: string;
  phase: string;
  record(call: Call): void;
  /** True once the phase's load should end; a user finishes its current step. */
  stopped(): boolean;
  /** Every refresh token a 200 refresh answered with: its size is the number of rotations the clients saw. */
  rotated: Set<string>;
  grace: GraceTally;
  /** Pause after an unexpected answer before starting over, and between retries. */
  backoffMs: number;
  /** Retry a request answered 503 (or not at all) until it gets another answer. */
  retryUnavailable: boolean;
  /**
   * REFRESH_REUSE_GRACE in ms: a refresh retried later than this after a lost answer may rightly be refused as reuse.
   */
  refreshGraceMs: number;
  random?: () => number;
};

/**
 * Refreshes the grace rule must answer with the same successor: two at once with one token, or a replay of a
 * just-rotated token.
 */
export type GraceTally = {
  pairs: number;
  pairsSame: number;
  replays: number;
  replaysSame: number;
  /** Pairs and replays that reached the service past the grace window (refused as reuse, explained below). */
  pairsLate: number;
  replaysLate: number;
  /**
   * Refreshes the service may have seen later than the grace window after the rotation of their token (a retry held
   * up by an outage) that it refused as reuse, ending the session, as the rotation rule says it must: the user signs
   * in again. Explained, counted, not failures.
   */
  endedLate: number;
  anomalies: string[];
};

export const newGraceTally = (): GraceTally => ({
  pairs: 0,
  pairsSame: 0,
  replays: 0,
  replaysSame: 0,
  pairsLate: 0,
  replaysLate: 0,
  endedLate: 0,
  anomalies: [],
});

/**
 * Whether the service may have seen a refresh later than the grace window after the rotation it replays: the latest
 * it can have received the request (its answer's end) minus the earliest it can have committed the rotation (the
 * start of the request that rotated). Only then is a 401 for it the rule at work rather than a fault.
 */
export function refusalIsLate(rotationStart: number, answerEnd: number, graceMs: number): boolean {
  return answerEnd - rotationStart > graceMs;
}

const LATE_REFUSAL =
  "session ended by reuse detection: a refresh of a rotated token reached the service past the grace window";

type Tokens = { accessToken: string; refreshToken: string; sessionId: string };
type Answer = { status: number; body: unknown; call: Call };

const REQUEST_TIMEOUT_MS = 15_000;

/** Thrown to end an iteration after an answer the step did not expect. */
class StartOver extends Error {}

export async function request(
  ctx: LoadContext,
  endpoint: string,
  path: string,
  options: {
    method?: string;
    body?: unknown;
    token?: string;
    ip?: string;
    expect: number[];
    explain?: Record<number, string>;
    /** Also expected, with these reasons, when the answer ends later than `afterMs` after `since`. */
    late?: { since: number; afterMs: number; explain: Record<number, string> };
  },
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.ip) headers["CF-Connecting-IP"] = options.ip;
  const start = performance.now();
  let status = 0;
  let body: unknown;
  let problem = false;
  try {
    const res = await fetch(`${ctx.url}${path}`, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    status = res.status;
    problem = (res.headers.get("content-type") ?? "").startsWith("application/problem+json");
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
  } catch {
    status = 0;
  }
  const code =
    problem && body && typeof body === "object" && typeof (body as { code?: unknown }).code === "string"
      ? (body as { code: string }).code
      : undefined;
  const end = performance.now();
  const late =
    options.late && refusalIsLate(options.late.since, end, options.late.afterMs) ? options.late.explain : undefined;
  const expected = options.expect.includes(status) || late?.[status] !== undefined;
  const reason = expected && status >= 300 ? (options.explain?.[status] ?? late?.[status]) : undefined;
  const call: Call = {
    phase: ctx.phase,
    endpoint,
    status,
    problem,
    start,
    end,
    expected,
    ...(code ? { code } : {}),
    ...(reason ? { reason } : {}),
  };
  ctx.record(call);
  return { status, body, call };
}

type RequestOptions = Parameters<typeof request>[3];

/**
 * request(), retried after a 503 or a missing answer when the context says
 * so. `onRetry` names the answers a retry may rightly get because the lost
 * attempt may have committed (given the time since the first attempt).
 */
async function step(
  ctx: LoadContext,
  endpoint: string,
  path: string,
  options: RequestOptions & {
    onRetry?: (elapsedMs: number) => Record<number, string>;
    retryAtOnce?: boolean;
    /** `late` applies to retries only: the first attempt of a token never rotated cannot be reuse. */
    lateOnRetryOnly?: boolean;
  },
): Promise<Answer> {
  const first = performance.now();
  for (let attempt = 0; ; attempt++) {
    const explainRetry = attempt > 0 ? (options.onRetry?.(performance.now() - first) ?? {}) : {};
    const answer = await request(ctx, endpoint, path, {
      ...options,
      expect: [...options.expect, ...Object.keys(explainRetry).map(Number)],
      explain: { ...options.explain, ...explainRetry },
      late: attempt > 0 || !options.lateOnRetryOnly ? options.late : undefined,
    });
    if (!ctx.retryUnavailable || (answer.status !== 503 && answer.status !== 0) || ctx.stopped()) return answer;
    // A request that got no answer may be retried at once the first time, as the client package retries a refresh:
    // within the grace window, a rotation whose answer was lost is answered with the same successor.
    if (answer.status === 0 && attempt === 0 && options.retryAtOnce) continue;
    await sleep(ctx.backoffMs);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tokensOf(answer: Answer): Tokens {
  const tokens = (answer.body as { tokens?: Tokens } | undefined)?.tokens;
  if (!tokens?.accessToken || !tokens.refreshToken)
    throw new StartOver(`${answer.call.endpoint} answered ${answer.status} without tokens`);
  return tokens;
}

function must(answer: Answer): Answer {
  if (!answer.call.expected) throw new StartOver(`${answer.call.endpoint} answered ${answer.status}`);
  return answer;
}

/** A documentation-range (198.18.0.0/15) address per user, so the users look like separate networks. */
export function userAddress(index: number, phaseIndex: number): string {
  return `198.${18 + (phaseIndex & 1)}.${(index >> 8) & 255}.${index & 255}`;
}

export async function simulateUser(ctx: LoadContext, index: number, phaseIndex: number): Promise<void> {
  const random = ctx.random ?? Math.random;
  const email = `soak-${ctx.phase}-${index}-${randomBytes(4).toString("hex")}@example.com`;
  const password = `soak ${randomBytes(12).toString("base64url")} pass`;
  const ip = userAddress(index + 1, phaseIndex);
  let registered = false;

  /**
   * `rotatedSince`: when the request that rotated this token started, for a replay of a rotated parent. Either way
   * a refresh that may have reached the service past the grace window after a rotation of its token (a retry after
   * a lost answer, held up by an outage) is refused as reuse and its session ended, by the rules: a 401 then is
   * explained, and the user signs in again (endedByReuse).
   */
  const refresh = (token: string, rotatedSince?: number) =>
    step(ctx, "POST /auth/refresh", "/auth/refresh", {
      body: { refreshToken: token },
      expect: [200],
      retryAtOnce: true,
      // A replay: since the rotation it replays. Otherwise since this refresh's first attempt, whose lost answer
      // may have rotated the token, and for its retries only.
      late: { since: rotatedSince ?? performance.now(), afterMs: ctx.refreshGraceMs, explain: { 401: LATE_REFUSAL } },
      lateOnRetryOnly: rotatedSince === undefined,
    });
  const refusedLate = (...answers: Answer[]) =>
    answers.some((answer) => answer.status === 401 && answer.call.reason === LATE_REFUSAL);
  /** After an explained late refusal the session is gone: count it and start over at login, as a client would. */
  const endedByReuse = (...answers: Answer[]) => {
    if (!refusedLate(...answers)) return;
    ctx.grace.endedLate++;
    throw new StartOver("the session was ended by reuse detection after a late refresh");
  };

  while (!ctx.stopped()) {
    try {
      if (!registered) {
        // A retry after a lost answer (the database went away mid-request)
        // may find that the first attempt did commit: 409 is then the truth.
        const answer = await step(ctx, "POST /auth/register", "/auth/register", {
          body: { email, password, name: `Soak ${index}` },
          ip,
          expect: [201],
          onRetry: () => ({ 409: "register retried after a lost answer; that attempt had committed" }),
        });
        must(answer);
        registered = true;
        // The registration's session stays open: an older device for DELETE /sessions/:id.
        continue;
      }

      let tokens = tokensOf(
        must(await step(ctx, "POST /auth/login", "/auth/login", { body: { email, password }, ip, expect: [200] })),
      );
      const refreshes = 2 + Math.floor(random() * 3);
      for (let i = 0; i < refreshes && !ctx.stopped(); i++) {
        const previous = tokens.refreshToken;
        if (random() < 0.3) {
          // Two tabs refreshing at once with the same token: one rotates, the other gets the same successor (grace).
          const [a, b] = await Promise.all([refresh(previous), refresh(previous)]);
          ctx.grace.pairs++;
          const ta = a.status === 200 ? tokensOf(a) : undefined;
          const tb = b.status === 200 ? tokensOf(b) : undefined;
          if (ta) ctx.rotated.add(ta.refreshToken);
          if (tb) ctx.rotated.add(tb.refreshToken);
          if (ta && tb && ta.refreshToken === tb.refreshToken) ctx.grace.pairsSame++;
          else if (ta && tb) ctx.grace.anomalies.push("a parallel pair answered 200 with two different refresh tokens");
          must(a);
          must(b);
          if (refusedLate(a, b)) ctx.grace.pairsLate++;
          endedByReuse(a, b);
          tokens = ta!;
        } else {
          const rotationStart = performance.now();
          const rotation = must(await refresh(previous));
          endedByReuse(rotation);
          tokens = tokensOf(rotation);
          ctx.rotated.add(tokens.refreshToken);
          if (random() < 0.1 && !ctx.stopped()) {
            // The answer was "lost": the client sends the same token again, within the grace window (unless an
            // outage holds the replay up past it: then reuse detection ends the session, by the rules).
            const replay = await refresh(previous, rotationStart);
            ctx.grace.replays++;
            const again = replay.status === 200 ? tokensOf(replay) : undefined;
            if (again && again.refreshToken === tokens.refreshToken) ctx.grace.replaysSame++;
            else if (again)
              ctx.grace.anomalies.push("a replay within the grace window answered 200 with another refresh token");
            must(replay);
            if (refusedLate(replay)) ctx.grace.replaysLate++;
            endedByReuse(replay);
          }
        }
      }

      must(await step(ctx, "GET /auth/verify", "/auth/verify", { token: tokens.accessToken, expect: [200] }));
      must(await step(ctx, "GET /me", "/me", { token: tokens.accessToken, expect: [200] }));
      const listed = must(await step(ctx, "GET /sessions", "/sessions", { token: tokens.accessToken, expect: [200] }));
      const sessions = (
        (listed.body as { sessions?: { id: string; current: boolean; lastUsedAt: string }[] }).sessions ?? []
      ).filter((s) => !s.current);
      if (sessions.length > 0 && random() < 0.3) {
        // The least recently used of the others (the list is most recently used first).
        const older = sessions[sessions.length - 1]!;
        must(
          await step(ctx, "DELETE /sessions/:id", `/sessions/${older.id}`, {
            method: "DELETE",
            token: tokens.accessToken,
            expect: [204],
            onRetry: () => ({ 404: "DELETE retried after a lost answer; that attempt had ended the session" }),
          }),
        );
      }
      if (random() < 0.5) {
        must(
          await step(ctx, "POST /auth/logout", "/auth/logout", {
            body: { refreshToken: tokens.refreshToken },
            token: tokens.accessToken,
            expect: [204],
          }),
        );
      }
    } catch (error) {
      if (!(error instanceof StartOver)) throw error;
      await sleep(ctx.backoffMs);
    }
  }
}

/**
 * GET /auth/verify with one token every intervalMs until stopped: it needs no database, so it must keep answering 200
 * through an outage.
 */
export async function probeVerify(ctx: LoadContext, accessToken: string, intervalMs: number): Promise<void> {
  while (!ctx.stopped()) {
    await request(ctx, "GET /auth/verify (probe)", "/auth/verify", { token: accessToken, expect: [200] });
    await sleep(intervalMs);
  }
}
