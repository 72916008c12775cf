// Retention as the composition root wires it: its store and the service a
// Cron Trigger run builds with nothing but the stores.
import type { Feature, FeatureDeps } from "../../features";
import { MaintenanceRepository } from "./postgres";
import { MaintenanceService } from "./service";
import type { MaintenanceStore } from "./store";

export const maintenance = {
  stores: (db): { maintenance: MaintenanceStore } => ({ maintenance: new MaintenanceRepository(db) }),
  services: {
    maintenance: (deps: Pick<FeatureDeps, "stores">): MaintenanceService =>
      new MaintenanceService(deps.stores().maintenance),
  },
} satisfies Feature;
