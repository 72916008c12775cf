// Cross-tab coordination for AuthClient: one refresh at a time across every
// tab (and worker) of the app, and a way to tell the other tabs what changed.
//
// - With the Web Locks API (`navigator.locks`), refreshes run under the lock
//   `secureauth-refresh:<baseUrl>`: a tab that waited for it first looks at
//   what the holder left (the shared store, or in cookie mode the access
//   token it broadcast) and adopts it instead of replaying the refresh token
//   it started with.
// - Without locks but with BroadcastChannel (older browsers), the tabs hold a
//   short election on the channel: a tab announces a claim, waits a moment,
//   and refreshes only if no earlier claim is live; the others wait for its
//   release (bounded), then look at what it left, as above.
// - With neither (Node, Workers), each AuthClient single-flights its own
//   refreshes in process, as it always has.
//
// Messages on the channel `secureauth:<baseUrl>`, which every page of the
// origin can hear, so none carries a refresh token: "tokens" (cookie mode
// only: a sign-in, a rotation or a re-authentication's access token and its
// expiry), "rotated" (bearer mode: a session's refresh token rotated, with
// the new expiry and no token), "ended" (a logout or a session the server
// ended), and the election's "claim"/"release". What each mode sends is
// decided in index.ts.

/** The part of the Web Locks API the client uses; `navigator.locks` is one. */
export type LockManagerLike = {
  request(name: string, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
};

/** The part of BroadcastChannel the client uses; a `new BroadcastChannel(name)` is one. */
export type ChannelLike = {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  removeEventListener?(type: "message", listener: (event: { data: unknown }) => void): void;
  close?(): void;
};

/**
 * How AuthClients in different tabs find each other. Left out, the client
 * uses `navigator.locks` and a BroadcastChannel when it runs in a browser
 * page or web worker, and nothing elsewhere. `false`: this client alone.
 */
export type Coordination = { locks?: LockManagerLike | null; channel?: ChannelLike | null };

/** How long a tab that lost the election waits for the winner's release before it goes ahead itself. */
const ELECTION_WAIT_MS = 10_000;
/** How long a claim is announced before its tab counts it as won. */
const CLAIM_WINDOW_MS = 40;
/** The lock is held this much longer after a broadcast, so the message reaches the other tabs before the lock does. */
const LINGER_MS = 25;
/**
 * A tab that had to wait for the lock lets this much time pass before it
 * looks at what the holder left: message delivery and lock hand-over are not
 * ordered between tabs, and this (with LINGER_MS) makes the holder's
 * broadcast arrive first, so the waiter adopts rather than rotating again.
 */
const SETTLE_MS = 50;

type Claim = { id: string; at: number };

export class TabCoordinator {
  readonly lockName: string;
  private readonly locks: LockManagerLike | null;
  private readonly channel: ChannelLike | null;
  private readonly ownsChannel: boolean;
  /** Live claims of other tabs (channel-only election), by id. */
  private readonly claims = new Map<string, Claim>();
  private readonly releaseWaiters = new Set<() => void>();
  private readonly listener = (event: { data: unknown }) => this.receive(event.data);
  private posted = false;

  constructor(
    baseUrl: string,
    readonly id: string,
    coordination: Coordination | false | undefined,
    private readonly onMessage: (message: Record<string, unknown>) => void,
  ) {
    this.lockName = `secureauth-refresh:${baseUrl}`;
    if (coordination === false) {
      this.locks = null;
      this.channel = null;
      this.ownsChannel = false;
    } else if (coordination) {
      this.locks = coordination.locks ?? null;
      this.channel = coordination.channel ?? null;
      this.ownsChannel = false;
    } else {
      const detected = detect(`secureauth:${baseUrl}`);
      this.locks = detected.locks;
      this.channel = detected.channel;
      this.ownsChannel = detected.channel !== null;
    }
    this.channel?.addEventListener("message", this.listener);
  }

  /** Whether other tabs can hear this one. */
  get shared(): boolean {
    return this.channel !== null;
  }

  post(message: Record<string, unknown>): void {
    if (!this.channel) return;
    try {
      this.channel.postMessage({ secureauth: 1, from: this.id, ...message });
      this.posted = true;
    } catch {
      // A closed channel: nobody is listening any more.
    }
  }

  /** Runs `work` while no other tab runs its own: under the lock, or after winning the election. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.locks) {
      let started = false;
      let result!: { value: T } | { error: unknown };
      let settle!: () => void;
      const done = new Promise<void>((resolve) => (settle = resolve));
      // The callers get the result as soon as it is known; the lock itself is
      // held a little longer after a broadcast (see LINGER_MS).
      const asked = Date.now();
      const held = this.locks
        .request(this.lockName, async () => {
          started = true;
          if (Date.now() - asked > 2) await sleep(SETTLE_MS);
          this.posted = false;
          try {
            result = { value: await work() };
          } catch (error) {
            result = { error };
          }
          settle();
          if (this.posted) await sleep(LINGER_MS);
        })
        .catch(() => undefined);
      await Promise.race([done, held]);
      // The lock could not be had at all (an opaque origin, say): go on alone.
      if (!started) return work();
      await done;
      if ("error" in result) throw result.error;
      return result.value;
    }
    if (this.channel) return this.elected(work);
    return work();
  }

  close(): void {
    this.channel?.removeEventListener?.("message", this.listener);
    if (this.ownsChannel) this.channel?.close?.();
    for (const wake of [...this.releaseWaiters]) wake();
  }

  private async elected<T>(work: () => Promise<T>): Promise<T> {
    const mine: Claim = { id: this.id, at: Date.now() };
    this.post({ type: "claim", claim: mine });
    await sleep(CLAIM_WINDOW_MS);
    const deadline = Date.now() + ELECTION_WAIT_MS;
    while (this.earlierClaim(mine) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.releaseWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
        this.releaseWaiters.add(wake);
      });
    }
    try {
      return await work();
    } finally {
      this.post({ type: "release", claim: mine });
    }
  }

  /** A live claim of another tab that goes before `mine`: made earlier, or at the same instant by a smaller id. */
  private earlierClaim(mine: Claim): boolean {
    const now = Date.now();
    for (const [id, claim] of this.claims) {
      if (now - claim.at > ELECTION_WAIT_MS) this.claims.delete(id);
      else if (claim.at < mine.at || (claim.at === mine.at && claim.id < mine.id)) return true;
    }
    return false;
  }

  private receive(data: unknown): void {
    if (!isRecord(data) || data.secureauth !== 1 || data.from === this.id) return;
    if (data.type === "claim" || data.type === "release") {
      const claim = data.claim;
      if (!isRecord(claim) || typeof claim.id !== "string" || typeof claim.at !== "number") return;
      if (data.type === "claim") this.claims.set(claim.id, { id: claim.id, at: claim.at });
      else {
        this.claims.delete(claim.id);
        for (const wake of [...this.releaseWaiters]) wake();
      }
      return;
    }
    this.onMessage(data);
  }
}

function detect(channelName: string): { locks: LockManagerLike | null; channel: ChannelLike | null } {
  const g = globalThis as {
    document?: unknown;
    importScripts?: unknown;
    navigator?: { locks?: LockManagerLike };
    BroadcastChannel?: new (name: string) => ChannelLike;
  };
  // A browser page or web worker. Node 20+ has BroadcastChannel too, but one
  // Node process may hold AuthClients of different users for one service:
  // they must not share anything, so outside a browser nothing is shared.
  const browser = typeof g.document === "object" || typeof g.importScripts === "function";
  if (!browser) return { locks: null, channel: null };
  const locks = typeof g.navigator?.locks?.request === "function" ? g.navigator.locks : null;
  let channel: ChannelLike | null = null;
  if (typeof g.BroadcastChannel === "function") {
    try {
      channel = new g.BroadcastChannel(channelName);
    } catch {
      channel = null;
    }
  }
  return { locks, channel };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
