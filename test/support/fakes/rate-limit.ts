// A KeyedRateLimit that counts in memory, as the edge binding would within
// one period: `limit` requests per key, then refused with the period as
// Retry-After. It records every key it is asked about, in order.
import type { KeyedRateLimit, RateLimitDecision } from "../../../src/core/domain";

export class CountingRateLimit implements KeyedRateLimit {
  /** Every key taken, in order, refused ones included. */
  readonly keys: string[] = [];
  readonly #counts = new Map<string, number>();

  constructor(
    readonly limit = Number.POSITIVE_INFINITY,
    readonly periodSeconds = 60,
  ) {}

  async take(key: string): Promise<RateLimitDecision> {
    this.keys.push(key);
    const used = this.#counts.get(key) ?? 0;
    if (used >= this.limit) return { allowed: false, retryAfterSeconds: this.periodSeconds };
    this.#counts.set(key, used + 1);
    return { allowed: true };
  }

  /** A new period: every key starts over. */
  reset(): void {
    this.#counts.clear();
  }
}
