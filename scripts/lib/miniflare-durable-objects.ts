// The Durable Object bindings wrangler.toml declares (the revocation feed), as
// Miniflare's worker options: the bench, the soak run and the profiler start
// the built Worker in Miniflare directly and need the same objects.

type DurableObjectBinding = { name: string; class_name: string; script_name?: string };
type WranglerConfig = { durable_objects?: { bindings?: DurableObjectBinding[] } };

/**
 * `durableObjects` for a Worker's options: each binding to its class, on SQLite storage; with `scriptName`, to the
 * objects that Worker of the same Miniflare holds (another isolate of the same bundle, as another location).
 */
export function durableObjectOptions(config: WranglerConfig, scriptName?: string) {
  const bindings = config.durable_objects?.bindings ?? [];
  return Object.fromEntries(
    bindings.map((binding) => [
      binding.name,
      { className: binding.class_name, useSQLite: true, ...(scriptName ? { scriptName } : {}) },
    ]),
  );
}

/** A Worker holding a Durable Object whose every call fails: the feed unreachable, for the soak's fault phase. */
export const UNREACHABLE_FEED_WORKER = {
  name: "unreachable-feed",
  compatibilityDate: "2026-11-01",
  modules: true,
  script:
    'import { DurableObject } from "cloudflare:workers";\n' +
    "export class UnreachableFeed extends DurableObject {\n" +
    '  snapshot() { throw new Error("the revocation feed is unreachable"); }\n' +
    '  append() { throw new Error("the revocation feed is unreachable"); }\n' +
    "}\n" +
    "export default { fetch: () => new Response(null, { status: 404 }) };\n",
  durableObjects: { FEED: { className: "UnreachableFeed", useSQLite: true } },
};

/** Each Durable Object binding of wrangler.toml pointed at the unreachable feed instead. */
export function unreachableFeedBinding(config: WranglerConfig) {
  const bindings = config.durable_objects?.bindings ?? [];
  return Object.fromEntries(
    bindings.map((binding) => [
      binding.name,
      { className: "UnreachableFeed", scriptName: UNREACHABLE_FEED_WORKER.name, useSQLite: true },
    ]),
  );
}
