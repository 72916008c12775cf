// Accounts as the composition root wires them: the users and registrations
// stores, the account service, the /auth routes.
import { type Feature, passwordServiceDeps } from "../../features";
import { UserRepository } from "./postgres";
import { RegistrationRepository } from "./registrations.postgres";
import { AccountService } from "./service";
import type { RegistrationStore, UserStore } from "./store";

export const accounts = {
  stores: (db): { users: UserStore; registrations: RegistrationStore } => ({
    users: new UserRepository(db),
    registrations: new RegistrationRepository(db),
  }),
  services: {
    accounts: (deps): AccountService =>
      new AccountService({
        ...passwordServiceDeps(deps),
        codec: deps.codec(),
        deviceTokens: deps.deviceTokens(),
        // The edge limit per normalised email on register.
        registrationLimit: deps.rateLimit("AUTH_EMAIL_RATE_LIMITER", "register"),
        tokens: deps.tokens,
        revocations: deps.revocations,
        outbox: deps.outbox(),
        secondFactor: deps.services.secondFactors(),
      }),
  },
  routes: [() => import("./routes").then((m) => m.authRoutes)],
} satisfies Feature;
