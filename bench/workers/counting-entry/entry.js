// `npm run bench`: an entry module in front of the unchanged built Worker
// (./index.js beside it, the deployable bundle) that counts the calls made on
// its KV bindings, so the bench counts storage operations from outside the
// service's code. Each env gets one wrapped copy (its KV bindings behind a
// counting Proxy), so the service still sees one env object per isolate.
// GET /__bench/storage-operations answers the running totals.
import worker from "./index.js";

/** The KV binding names, filled in by the bench when it writes this file beside the bundle. */
const KV_BINDINGS = /* KV_BINDINGS */ [];

const counts = { kv: 0 };
const wrapped = new WeakMap();

function counting(namespace) {
  return new Proxy(namespace, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      return (...args) => {
        counts.kv++;
        return value.apply(target, args);
      };
    },
  });
}

function envOf(env) {
  let copy = wrapped.get(env);
  if (!copy) {
    copy = { ...env };
    for (const name of KV_BINDINGS) if (env[name]) copy[name] = counting(env[name]);
    wrapped.set(env, copy);
  }
  return copy;
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/storage-operations") return Response.json(counts);
    return worker.fetch(request, envOf(env), ctx);
  },
};
