// Revocation feed bindings for tests of its failure modes.
import { testEnv } from "./db";

/** A feed namespace whose every call fails: a rejected promise, or a synchronous throw. */
export function unreachableFeed(how: "reject" | "throw" = "reject"): DurableObjectNamespace {
  const fail = () => {
    const error = new Error("Durable Object unreachable: 503");
    if (how === "throw") throw error;
    return Promise.reject(error);
  };
  return {
    idFromName: () => ({}) as DurableObjectId,
    get: () => ({ snapshot: fail, append: fail }),
  } as unknown as DurableObjectNamespace;
}

/** The bindings of a service whose revocation feed and Postgres log are both unreachable. */
export function feedAndLogDown(how: "reject" | "throw" = "reject") {
  return { REVOCATION_FEED: unreachableFeed(how), DATABASE_URL: testEnv.CLOSED_DATABASE_URL };
}
