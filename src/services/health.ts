// Readiness: the service is ready when its database answers. Liveness needs
// no service (GET /health does no I/O).
import { ServiceUnavailable } from "../errors";
import type { HealthRepository } from "../repositories/health";

export class HealthService {
  constructor(private readonly store: Pick<HealthRepository, "ping">) {}

  /** Throws ServiceUnavailable, with the driver's error as cause, when the database does not answer. */
  async checkReady(): Promise<void> {
    try {
      await this.store.ping();
    } catch (error) {
      throw new ServiceUnavailable(error);
    }
  }
}
