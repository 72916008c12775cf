// The revocation feed as the composition root builds it: one reader per
// isolate and deployment, over the RevocationFeed Durable Object, the
// location's Cache API and the Postgres log.
import type { Config, Env } from "../../config";
import { lazyDatabase, loadDatabaseDriver } from "../postgres/database";
import type { FeedSnapshot } from "./entries";
import { readRevocationLog } from "../postgres/revocation-log";
import { type FeedClient, type FeedReaderDeps, FeedRevocationList, type SnapshotCache } from "./reader";

import type { RevocationFeed } from "./durable-object";

export { FeedRevocationList } from "./reader";

/** The one feed of a deployment. */
const FEED_NAME = "revocations";

/** The Durable Object, through a fresh stub per call (a stub is not shared across requests). */
export function feedClient(namespace: DurableObjectNamespace): FeedClient {
  const id = namespace.idFromName(FEED_NAME);
  const stub = () => namespace.get(id) as unknown as DurableObjectStub<RevocationFeed>;
  return {
    snapshot: () => stub().snapshot(),
    append: (entries) => stub().append(entries),
  };
}

/**
 * The snapshot the isolates of one location share, for one second. Keyed by
 * the deployment's issuer and audience: Workers on one zone share the cache.
 */
export function locationCache(config: Pick<Config, "issuer" | "audience">): SnapshotCache {
  const key = `https://revocation-feed.invalid/${encodeURIComponent(config.issuer)}/${encodeURIComponent(config.audience)}`;
  return {
    async get() {
      const hit = await caches.default.match(key);
      return hit ? ((await hit.json()) as FeedSnapshot) : undefined;
    },
    async put(snapshot) {
      const headers = { "content-type": "application/json", "cache-control": "max-age=1" };
      await caches.default.put(key, new Response(JSON.stringify(snapshot), { headers }));
    },
    async clear() {
      await caches.default.delete(key);
    },
  };
}

/**
 * The runtime's waitUntil, loaded on first use rather than imported, so that
 * Node (the operator CLI, the OpenAPI build) can import the composition root.
 * A new isolate's first verify waits for its first copy, by which time this
 * has loaded; only background refreshes, a second later, use it.
 */
let runtimeWaitUntil: ((work: Promise<unknown>) => void) | undefined;
let loadStarted = false;

function defer(work: Promise<unknown>): void {
  if (!loadStarted) {
    loadStarted = true;
    import("cloudflare:workers").then(
      (workers) => {
        runtimeWaitUntil = workers.waitUntil;
      },
      () => {},
    );
  }
  if (runtimeWaitUntil) runtimeWaitUntil(work);
  else work.catch(() => {});
}

/** What one isolate's copy reads and writes: the deployment's feed, its location's cache, its Postgres log. */
export function feedReaderDeps(env: Env, config: Config): FeedReaderDeps {
  return {
    feed: feedClient(env.REVOCATION_FEED),
    async log(since) {
      await loadDatabaseDriver();
      const database = lazyDatabase(config);
      try {
        return await readRevocationLog(database.get(), since);
      } finally {
        defer(database.close());
      }
    },
    cache: locationCache(config),
    accessTokenTtl: config.accessTokenTtl,
    freshness: config.revocationFreshness,
    defer,
  };
}

/** The revocation list of one isolate over the deployment's feed. */
export function revocationFeedFor(env: Env, config: Config): FeedRevocationList {
  defer(Promise.resolve());
  return new FeedRevocationList(feedReaderDeps(env, config));
}
