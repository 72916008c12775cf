// The soak run's revocation feed faults: the feed's Durable Object
// unreachable (verify keeps answering from the Postgres log, a logout made
// meanwhile still takes effect, nothing revoked verifies once it is back),
// the Durable Object and Postgres both down (503, failing closed, past the
// freshness bound), and a logout storm while another isolate verifies (no
// revoked session verifies past its propagation bound).
import { measurePropagation } from "./propagation.ts";

export type FeedFaultContext = {
  /** The Worker that makes changes (logout). */
  url: string;
  /** Another isolate of the same Worker sharing only the feed, as another location. */
  elsewhere: string;
  /** Rebinds the feed to a Durable Object whose every call fails (true), or back to the real one. */
  cutFeed(cut: boolean): Promise<void>;
  /** Stops Postgres, or starts it again on the same data. */
  database(up: boolean): Promise<void>;
  /** A new account, signed in: its tokens. */
  signIn(): Promise<{ accessToken: string }>;
  check(name: string, pass: boolean, detail: string): void;
  log(message: string): void;
  /** REVOCATION_FRESHNESS, seconds. */
  freshness: number;
  /** How many sessions the logout storm ends at once. */
  stormSessions: number;
};

/** The propagation bound the storm checks against: the promise's two seconds. */
export const PROPAGATION_BOUND_MS = 2000;

export async function runFeedFaults(ctx: FeedFaultContext): Promise<void> {
  const verify = async (base: string, token: string) => {
    const res = await fetch(`${base}/auth/verify`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  };
  const logout = async (token: string) => {
    const res = await fetch(`${ctx.url}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    return res.status;
  };
  const statuses = async (base: string, tokens: string[]) => Promise.all(tokens.map((t) => verify(base, t)));
  const all = (values: number[], status: number) => values.length > 0 && values.every((v) => v === status);

  // --- the Durable Object unreachable -----------------------------------------
  const live = await Promise.all(Array.from({ length: 5 }, () => ctx.signIn()));
  const endedBefore = await Promise.all(Array.from({ length: 3 }, () => ctx.signIn()));
  for (const { accessToken } of endedBefore) await logout(accessToken);
  ctx.log("feed fault: the revocation feed's Durable Object made unreachable (the Worker restarts on the new binding)");
  await ctx.cutFeed(true);
  const liveDuring = await statuses(
    ctx.url,
    live.map((t) => t.accessToken),
  );
  const endedDuring = await statuses(
    ctx.url,
    endedBefore.map((t) => t.accessToken),
  );
  ctx.check(
    "feed down: verify keeps answering from the Postgres log (live tokens 200, sessions ended before 401)",
    all(liveDuring, 200) && all(endedDuring, 401),
    `live ${liveDuring.join(",")}; ended before ${endedDuring.join(",")}`,
  );
  const endedMeanwhile = live.slice(0, 2);
  const logouts = await Promise.all(endedMeanwhile.map((t) => logout(t.accessToken)));
  const here = await statuses(
    ctx.url,
    endedMeanwhile.map((t) => t.accessToken),
  );
  const there = await statuses(
    ctx.elsewhere,
    endedMeanwhile.map((t) => t.accessToken),
  );
  ctx.check(
    "feed down: a logout made meanwhile still takes effect, here and in another isolate (read from the log)",
    all(logouts, 204) && all(here, 401) && all(there, 401),
    `logouts ${logouts.join(",")}; here ${here.join(",")}; elsewhere ${there.join(",")}`,
  );

  // --- the Durable Object and Postgres both down -------------------------------
  ctx.log("feed fault: Postgres stopped too");
  await ctx.database(false);
  const fromMemory = await statuses(
    ctx.url,
    live.slice(2).map((t) => t.accessToken),
  );
  ctx.check(
    "feed and Postgres down: within the freshness bound verify answers from the isolate's copy in memory",
    all(fromMemory, 200),
    `live ${fromMemory.join(",")}`,
  );
  await sleep(ctx.freshness * 1000 + 500);
  const bothDown = await statuses(
    ctx.url,
    live.slice(2).map((t) => t.accessToken),
  );
  const bothDownElsewhere = await statuses(
    ctx.elsewhere,
    live.slice(2).map((t) => t.accessToken),
  );
  ctx.check(
    "feed and Postgres down: past the freshness bound verify fails closed with 503, here and elsewhere",
    all(bothDown, 503) && all(bothDownElsewhere, 503),
    `here ${bothDown.join(",")}; elsewhere ${bothDownElsewhere.join(",")}`,
  );
  await ctx.database(true);
  ctx.log("feed fault: Postgres back, the Durable Object back (the Worker restarts on the real binding)");
  await ctx.cutFeed(false);
  const revoked = [...endedBefore, ...endedMeanwhile].map((t) => t.accessToken);
  const afterHere = await statuses(ctx.url, revoked);
  const afterThere = await statuses(ctx.elsewhere, revoked);
  const stillLive = await statuses(
    ctx.url,
    live.slice(2).map((t) => t.accessToken),
  );
  ctx.check(
    "feed back: nothing revoked before or during the outage verifies again; live sessions still do",
    all(afterHere, 401) && all(afterThere, 401) && all(stillLive, 200),
    `revoked here ${afterHere.join(",")}; elsewhere ${afterThere.join(",")}; live ${stillLive.join(",")}`,
  );

  // --- a logout storm while another isolate verifies ----------------------------
  ctx.log(`feed fault: a storm of ${ctx.stormSessions} logouts at once while another isolate verifies each token`);
  const storm = await measurePropagation({
    origin: ctx.url,
    elsewhere: ctx.elsewhere,
    samples: ctx.stormSessions,
    concurrency: ctx.stormSessions,
    signIn: async () => (await ctx.signIn()).accessToken,
    giveUpMs: ctx.freshness * 1000 + 5000,
  });
  ctx.check(
    `logout storm: every revoked session refused elsewhere within ${PROPAGATION_BOUND_MS} ms`,
    storm.failures === 0 && storm.max < PROPAGATION_BOUND_MS,
    `${storm.samples.length} sessions: p50 ${storm.p50.toFixed(0)} ms, p99 ${storm.p99.toFixed(0)} ms, ` +
      `max ${storm.max.toFixed(0)} ms; ${storm.failures} never refused`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
