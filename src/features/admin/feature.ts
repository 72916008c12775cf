// Administration as the composition root wires it: the admin users and
// roles stores, the admin service (also built by the operator CLI, with
// fewer deps), the /admin routes.
import type { Feature, FeatureDeps } from "../../features";
import { AdminUserRepository } from "./postgres";
import { RoleRepository } from "./roles.postgres";
import { AdminService, type AdminDeps } from "./service";
import type { AdminUserStore, RoleStore } from "./store";

export const admin = {
  stores: (db): { adminUsers: AdminUserStore; roles: RoleStore } => ({
    adminUsers: new AdminUserRepository(db),
    roles: new RoleRepository(db),
  }),
  services: {
    admin: (
      deps: Pick<FeatureDeps, "stores" | "unitOfWork" | "clock"> & Pick<AdminDeps, "revocations">,
    ): AdminService =>
      new AdminService({
        stores: deps.stores(),
        unitOfWork: deps.unitOfWork(),
        clock: deps.clock,
        revocations: deps.revocations,
      }),
  },
  routes: [() => import("./routes").then((m) => m.adminRoutes)],
} satisfies Feature;
