// A clock for unit tests: fixed at `start` until the test moves it.
import type { Clock } from "../../../src/core/clock";

export type TestClock = {
  /** The Clock to inject. */
  clock: Clock;
  /** The current instant (a fresh Date each call). */
  now(): Date;
  advanceMs(ms: number): void;
  advance(seconds: number): void;
  set(at: Date): void;
};

export const FIXED_NOW = new Date("2026-11-26T12:00:00.000Z");

export function testClock(start: Date = FIXED_NOW): TestClock {
  let now = start.getTime();
  const clock: Clock = () => new Date(now);
  return {
    clock,
    now: clock,
    advanceMs(ms) {
      now += ms;
    },
    advance(seconds) {
      now += seconds * 1000;
    },
    set(at) {
      now = at.getTime();
    },
  };
}
