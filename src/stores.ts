// The stores over Postgres, for the composition root: every port of
// services/ports.ts implemented by its repository, bound to one connection
// or one transaction, with driver errors translated to typed ones.
import type { Stores, UnitOfWork } from "./core/ports";
import { AdminUserRepository } from "./features/admin/postgres";
import { AuditRepository } from "./features/activity/postgres";
import { ChallengeRepository } from "./features/sign-in/challenges.postgres";
import type { Database, Executor } from "./adapters/postgres/database";
import { translateDatabaseError, translatingErrors } from "./adapters/postgres/database-errors";
import { HealthRepository } from "./features/health/postgres";
import { LoginThrottleRepository } from "./features/sign-in/postgres";
import { MaintenanceRepository } from "./features/maintenance/postgres";
import { OneTimeTokenRepository } from "./features/lifecycle/postgres";
import { PasskeyRepository } from "./features/passkeys/postgres";
import { RefreshTokenRepository } from "./features/sessions/refresh-tokens.postgres";
import { RegistrationRepository } from "./features/accounts/registrations.postgres";
import { RoleRepository } from "./features/admin/roles.postgres";
import { SecondFactorRepository } from "./features/mfa/postgres";
import { SessionRepository } from "./features/sessions/postgres";
import { UserRepository } from "./features/accounts/postgres";

export { lazyDatabase, type Database, type LazyDatabase } from "./adapters/postgres/database";

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
