// The federation store is not modelled in memory: federated sign-in is
// tested through the Worker against the real Postgres and real providers
// (test/http/federation*.test.ts). Unit tests of other services get a store
// whose every call fails loudly, so none depends on it by accident.
import type { FederationStore } from "../../../src/features/federation/store";

export function unmodelledFederationStore(): FederationStore {
  return new Proxy({} as FederationStore, {
    get(_, name) {
      // No identity is in memory, so no account holds a provider grant.
      if (name === "appleGrantsOf") return () => Promise.resolve([]);
      return () => Promise.reject(new Error(`federation.${String(name)} is not modelled in memory`));
    },
  });
}
