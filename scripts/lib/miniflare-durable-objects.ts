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
