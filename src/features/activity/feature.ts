// The audit trail as the composition root wires it: its store, and the
// service the account and admin routes page it through.
import type { Feature } from "../../features";
import { AuditRepository } from "./postgres";
import { ActivityService } from "./service";
import type { AuditLog } from "./store";

export const activity = {
  stores: (db): { audit: AuditLog } => ({ audit: new AuditRepository(db) }),
  services: {
    activity: (deps): ActivityService => new ActivityService(deps.stores().audit),
  },
} satisfies Feature;
