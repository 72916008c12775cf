// The active organization as the composition root wires it: its store, the
// service, POST /auth/org.
import type { Feature } from "../../features";
import { ActiveOrganizationRepository } from "./postgres";
import { ActiveOrganizationService } from "./service";
import type { ActiveOrganizationStore } from "./store";

export const activeOrganization = {
  stores: (db): { activeOrganization: ActiveOrganizationStore } => ({
    activeOrganization: new ActiveOrganizationRepository(db),
  }),
  services: {
    activeOrganization: (deps): ActiveOrganizationService =>
      new ActiveOrganizationService({
        store: deps.stores().activeOrganization,
        clock: deps.clock,
        tokens: deps.tokens,
      }),
  },
  routes: [() => import("./routes").then((m) => m.activeOrganizationRoutes)],
} satisfies Feature;
