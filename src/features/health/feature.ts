// Health as the composition root wires it: the readiness probe, its
// service, /health and /health/ready.
import type { Feature } from "../../features";
import { HealthRepository } from "./postgres";
import { HealthService } from "./service";
import type { HealthProbe } from "./store";

export const health = {
  stores: (db): { health: HealthProbe } => ({ health: new HealthRepository(db) }),
  services: {
    health: (deps): HealthService => new HealthService(deps.stores().health),
  },
  routes: () => import("./routes").then((m) => [m.healthRoutes]),
} satisfies Feature;
