// What the Worker writes to its console while a test runs, for asserting
// that no secret ever reaches a log line. Restore in a finally block.
const LEVELS = ["log", "warn", "error", "info"] as const;

export function captureConsole(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const originals = Object.fromEntries(LEVELS.map((level) => [level, console[level]]));
  for (const level of LEVELS) console[level] = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  return { lines, restore: () => void Object.assign(console, originals) };
}
