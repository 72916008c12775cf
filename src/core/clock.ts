// Time, injected: every time-based rule reads a Clock, so tests can fix it.
// Framework-free; the composition root passes the system clock.

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
