// Administration as the composition root wires it: the admin users and
// roles stores, the admin service (also built by the operator CLI, with
// fewer deps), the /admin routes.
import type { Feature, FeatureDeps } from "../../features";
import { AdminUserRepository } from "./postgres";
import { RoleRepository } from "./roles.postgres";
import { AdminService, type AdminDeps } from "./service";
import type { AdminUserStore, RoleStore } from "./store";

type ProviderGrantRevoker = { revokeGrants(userId: string, sealed: readonly string[]): Promise<void> };

export const admin = {
  stores: (db): { adminUsers: AdminUserStore; roles: RoleStore } => ({
    adminUsers: new AdminUserRepository(db),
    roles: new RoleRepository(db),
  }),
  services: {
    admin: (
      deps: Pick<FeatureDeps, "stores" | "unitOfWork" | "clock"> & Pick<AdminDeps, "revocations">,
    ): AdminService => {
      // A request's deps have the other services; the operator CLI's have none, and its deletions revoke no
      // provider grant. (Not in the parameter's type: the services' type is derived from these factories.)
      const services = (deps as { services?: { federation(): ProviderGrantRevoker } }).services;
      return new AdminService({
        stores: deps.stores(),
        unitOfWork: deps.unitOfWork(),
        clock: deps.clock,
        revocations: deps.revocations,
        providerGrants: services && {
          revoke: (userId, sealed) => services.federation().revokeGrants(userId, sealed),
        },
      });
    },
  },
  routes: [() => import("./routes").then((m) => m.adminRoutes)],
} satisfies Feature;
