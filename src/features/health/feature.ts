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
  // Liveness on its own, a plain Hono app: the first GET /health of an isolate evaluates no schema.
  routes: [
    () => import("./liveness-routes").then((m) => m.livenessRoutes),
    () => import("./routes").then((m) => m.healthRoutes),
  ],
} satisfies Feature;
