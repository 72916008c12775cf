// Every store, as one type built from each feature's port (features/*/store.ts),
// and the same stores over Postgres for the composition root: each port
// implemented by its feature's postgres.ts, bound to one connection or one
// transaction, with driver errors translated to typed ones. A new feature's
// store is one line in `Stores` and one in `storesFor`.
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

import type { RegistrationStore, UserStore } from "./features/accounts/store";
import type { RefreshTokenStore, SessionStore } from "./features/sessions/store";
import type { ChallengeStore, LoginThrottleStore } from "./features/sign-in/store";
import type { OneTimeTokenStore } from "./features/lifecycle/store";
import type { AuditLog } from "./features/activity/store";
import type { AdminUserStore, RoleStore } from "./features/admin/store";
import type { HealthProbe } from "./features/health/store";
import type { MaintenanceStore } from "./features/maintenance/store";
import type { SecondFactorStore } from "./features/mfa/store";
import type { PasskeyStore } from "./features/passkeys/store";
export { lazyDatabase, type Database, type LazyDatabase } from "./adapters/postgres/database";

/** Every store, bound to one connection or one transaction. */
export type Stores = {
  users: UserStore;
  throttles: LoginThrottleStore;
  registrations: RegistrationStore;
  oneTimeTokens: OneTimeTokenStore;
  sessions: SessionStore;
  refreshTokens: RefreshTokenStore;
  audit: AuditLog;
  adminUsers: AdminUserStore;
  roles: RoleStore;
  health: HealthProbe;
  maintenance: MaintenanceStore;
  secondFactors: SecondFactorStore;
  challenges: ChallengeStore;
  passkeys: PasskeyStore;
};

/** Runs `work` in one transaction: every store it is handed commits together, or nothing does. */
export interface UnitOfWork {
  run<T>(work: (tx: Stores) => Promise<T>): Promise<T>;
}

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
