// The account lifecycle as the composition root wires it: one-time tokens,
// the lifecycle and profile services, the email-link and /me routes.
import { type Feature, passwordServiceDeps } from "../../features";
import { OneTimeTokenRepository } from "./postgres";
import { ProfileService } from "./profiles";
import { AccountLifecycle } from "./service";
import type { OneTimeTokenStore } from "./store";

export const lifecycle = {
  stores: (db): { oneTimeTokens: OneTimeTokenStore } => ({ oneTimeTokens: new OneTimeTokenRepository(db) }),
  services: {
    lifecycle: (deps): AccountLifecycle =>
      new AccountLifecycle({
        ...passwordServiceDeps(deps),
        outbox: deps.outbox(),
        revocations: deps.revocations,
        // The edge limit per (normalised email, requesting network) on forgot-password.
        forgotLimit: deps.rateLimit("AUTH_EMAIL_RATE_LIMITER", "forgot"),
        providerGrants: { revoke: (userId, sealed) => deps.services.federation().revokeGrants(userId, sealed) },
      }),
    profiles: (deps): ProfileService => new ProfileService(deps.stores().users),
  },
  routes: [
    () => import("./email-routes").then((m) => m.accountEmailRoutes),
    () => import("./routes").then((m) => m.meRoutes),
  ],
} satisfies Feature;
