// The stores over Postgres, for the composition root: every port of
// services/ports.ts implemented by its repository, bound to one connection
// or one transaction, with driver errors translated to typed ones.
import type { Stores, UnitOfWork } from "../services/ports";
import { AdminUserRepository } from "./admin-users";
import { AuditRepository } from "./audit";
import { ChallengeRepository } from "./challenges";
import type { Database, Executor } from "./database";
import { translateDatabaseError, translatingErrors } from "./database-errors";
import { HealthRepository } from "./health";
import { LoginThrottleRepository } from "./login-throttles";
import { MaintenanceRepository } from "./maintenance";
import { OneTimeTokenRepository } from "./one-time-tokens";
import { PasskeyRepository } from "./passkeys";
import { RefreshTokenRepository } from "./refresh-tokens";
import { RegistrationRepository } from "./registrations";
import { RoleRepository } from "./roles";
import { SecondFactorRepository } from "./second-factors";
import { SessionRepository } from "./sessions";
import { UserRepository } from "./users";

export { lazyDatabase, type Database, type LazyDatabase } from "./database";

export function storesFor(db: Executor): Stores {
  return {
    users: translatingErrors(new UserRepository(db)),
    throttles: translatingErrors(new LoginThrottleRepository(db)),
    registrations: translatingErrors(new RegistrationRepository(db)),
    oneTimeTokens: translatingErrors(new OneTimeTokenRepository(db)),
    sessions: translatingErrors(new SessionRepository(db)),
    refreshTokens: translatingErrors(new RefreshTokenRepository(db)),
    audit: translatingErrors(new AuditRepository(db)),
    adminUsers: translatingErrors(new AdminUserRepository(db)),
    roles: translatingErrors(new RoleRepository(db)),
    health: translatingErrors(new HealthRepository(db)),
    maintenance: translatingErrors(new MaintenanceRepository(db)),
    secondFactors: translatingErrors(new SecondFactorRepository(db)),
    challenges: translatingErrors(new ChallengeRepository(db)),
    passkeys: translatingErrors(new PasskeyRepository(db)),
  };
}

export function unitOfWorkFor(db: Database): UnitOfWork {
  return {
    async run(work) {
      try {
        return await db.transaction((tx) => work(storesFor(tx as unknown as Executor)));
      } catch (error) {
        throw translateDatabaseError(error);
      }
    },
  };
}
