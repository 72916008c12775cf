// The readiness probe's port.

export interface HealthProbe {
  ping(): Promise<void>;
}
