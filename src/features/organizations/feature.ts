// Organizations as the composition root wires them: their store, the
// organization and invitation services, the /orgs and /invitations routes.
import type { Feature } from "../../features";
import { InvitationService } from "./invitations";
import { OrganizationRepository } from "./postgres";
import { OrganizationService } from "./service";
import type { OrganizationStore } from "./store";

export const organizations = {
  stores: (db): { organizations: OrganizationStore } => ({ organizations: new OrganizationRepository(db) }),
  services: {
    organizations: (deps): OrganizationService =>
      new OrganizationService({
        stores: deps.stores(),
        unitOfWork: deps.unitOfWork(),
        clock: deps.clock,
        settings: deps.config,
        revocations: deps.revocations,
      }),
    invitations: (deps): InvitationService =>
      new InvitationService({
        organizations: deps.services.organizations(),
        stores: deps.stores(),
        unitOfWork: deps.unitOfWork(),
        clock: deps.clock,
        settings: deps.config,
        outbox: deps.outbox(),
      }),
  },
  routes: [() => import("./routes").then((m) => m.organizationRoutes)],
} satisfies Feature;
