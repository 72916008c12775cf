// The organizations store is not modelled in memory: organizations are tested
// through the Worker against the real Postgres (test/http/organizations*.test.ts).
// Unit tests of other services get a store whose every call fails loudly, but
// for what account deletion asks: memory holds no membership.
import type { OrganizationStore } from "../../../src/features/organizations/store";

export function unmodelledOrganizationStore(): OrganizationStore {
  return new Proxy({} as OrganizationStore, {
    get(_, name) {
      if (name === "lockMembershipsOf") return () => Promise.resolve([]);
      return () => Promise.reject(new Error(`organizations.${String(name)} is not modelled in memory`));
    },
  });
}
