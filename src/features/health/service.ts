// Readiness: the service is ready when its database answers. Liveness needs
// no service (GET /health does no I/O).
import { ServiceUnavailable } from "../../core/errors";
import type { HealthProbe } from "./store";

export class HealthService {
  constructor(private readonly probe: HealthProbe) {}

  /** Throws ServiceUnavailable, with the driver's error as cause, when the database does not answer. */
  async checkReady(): Promise<void> {
    try {
      await this.probe.ping();
    } catch (error) {
      throw new ServiceUnavailable(error);
    }
  }
}
