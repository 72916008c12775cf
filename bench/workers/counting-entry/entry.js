// `npm run bench`: an entry module in front of the unchanged built Worker
// (./index.js beside it, the deployable bundle) that counts the calls made on
// its storage bindings, so the bench counts storage operations from outside
// the service's code: each call on a KV namespace, each call on a Durable
// Object's stub (the revocation feed's snapshot and append). Each env gets one
// wrapped copy, so the service still sees one env object per isolate.
// GET /__bench/storage-operations answers the running totals.
import worker from "./index.js";

/** The storage binding names, filled in by the bench when it writes this file beside the bundle. */
const STORAGE_BINDINGS = /* STORAGE_BINDINGS */ [];

const counts = { calls: 0 };
const wrapped = new WeakMap();

/** Every function of `target` counted when called; `inner` wraps what a call returns (a Durable Object's stub). */
function counting(target, inner) {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property);
      if (typeof value !== "function") return value;
      return (...args) => {
        const result = value.apply(object, args);
        if (inner) return inner(result);
        counts.calls++;
        return result;
      };
    },
  });
}

/** A Durable Object namespace: its id helpers are free; each call on a stub it hands out is one operation. */
function countingNamespace(namespace) {
  return new Proxy(namespace, {
    get(object, property) {
      const value = Reflect.get(object, property);
      if (typeof value !== "function") return value;
      if (property !== "get") return value.bind(object);
      return (...args) => counting(value.apply(object, args));
    },
  });
}

function envOf(env) {
  let copy = wrapped.get(env);
  if (!copy) {
    copy = { ...env };
    for (const name of STORAGE_BINDINGS) {
      const binding = env[name];
      if (!binding) continue;
      copy[name] = typeof binding.idFromName === "function" ? countingNamespace(binding) : counting(binding);
    }
    wrapped.set(env, copy);
  }
  return copy;
}

export default {
  fetch(request, env, ctx) {
    // A string test, not new URL(): the entry adds nothing measurable to the verify it counts (the jose Worker it is
    // compared with parses no URL either).
    if (request.url.endsWith("/__bench/storage-operations")) return Response.json(counts);
    return worker.fetch(request, envOf(env), ctx);
  },
};
