// Time, injected: every time-based rule reads a Clock, so tests can fix it.
// Framework-free; the composition root passes the system clock.

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** Seconds of clock skew allowed on exp, nbf and iat; the revocation list outlives a token by this much too. */
export const CLOCK_TOLERANCE_SECONDS = 30;
