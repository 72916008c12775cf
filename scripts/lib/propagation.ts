// Revocation propagation between two isolates over one feed, measured from
// outside: sessions signed in through isolate A, each token polled at B,
// logged out through A, and the time from the logout's request to B's first
// 401 recorded. B stands for another location: it shares nothing with A but
// the feed (the benchmark starts it without the location cache A clears).

export type PropagationResult = { samples: number[]; p50: number; p99: number; max: number; failures: number };

type Options = {
  /** The isolate that makes each change. */
  origin: string;
  /** The isolate that must learn of it. */
  elsewhere: string;
  /** How many sessions to revoke (one measurement each). */
  samples: number;
  /** How many are in flight at once. */
  concurrency?: number;
  /** How often B is asked, per token, while the revocation travels. */
  pollMs?: number;
  /** Past this, a sample is a failure (never refused). */
  giveUpMs?: number;
  /** A fresh signed-in session: its access token. */
  signIn(): Promise<string>;
};

/** Measures `samples` revocations; p50 and p99 in milliseconds. */
export async function measurePropagation(options: Options): Promise<PropagationResult> {
  const { samples, concurrency = 8, pollMs = 20, giveUpMs = 10_000 } = options;
  const delays: number[] = [];
  let failures = 0;
  let next = 0;
  const verifyAt = (base: string, token: string) =>
    fetch(`${base}/auth/verify`, { headers: { authorization: `Bearer ${token}` } }).then(async (res) => {
      await res.arrayBuffer();
      return res.status;
    });

  async function one(): Promise<void> {
    const token = await options.signIn();
    // B knows the session live first (its copy is warm and in use, as a busy location's is).
    if ((await verifyAt(options.elsewhere, token)) !== 200) throw new Error("a fresh token was refused at B");
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await verifyAt(options.elsewhere, token);
        await sleep(pollMs);
      }
    })();
    // Staggered, so the logouts do not line up with B's refresh cycle.
    await sleep(Math.random() * 1000);
    const start = performance.now();
    const logout = await fetch(`${options.origin}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    await logout.arrayBuffer();
    if (logout.status !== 204) throw new Error(`logout answered ${logout.status}`);
    try {
      for (;;) {
        const status = await verifyAt(options.elsewhere, token);
        const elapsed = performance.now() - start;
        if (status === 401) {
          delays.push(elapsed);
          return;
        }
        if (elapsed > giveUpMs) {
          failures++;
          return;
        }
        await sleep(pollMs);
      }
    } finally {
      polling = false;
      await poller;
    }
  }

  await Promise.all(
    Array.from({ length: Math.min(concurrency, samples) }, async () => {
      while (next < samples) {
        next++;
        await one();
      }
    }),
  );
  const sorted = [...delays].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { samples: delays, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN, failures };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
