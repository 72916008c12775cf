// Builds the services for one request from the context the composition root
// filled in: config, clock, the lazily opened database, the KV revocation
// list. Routes call this and nothing else to reach business rules. The
// scheduled handler gets its services from scheduledServicesFor.
import type { Context } from "hono";
import type { AppEnv } from "../context";
import type { RequestDatabase } from "../repositories/database";
import { HealthRepository } from "../repositories/health";
import { MaintenanceRepository } from "../repositories/maintenance";
import { RefreshTokenRepository } from "../repositories/refresh-tokens";
import { UserRepository } from "../repositories/users";
import { AccountService } from "./accounts";
import { AdminService } from "./admin";
import { ActivityService } from "./activity";
import { HealthService } from "./health";
import { MaintenanceService } from "./maintenance";
import { BreachedPasswordChecker, PasswordHasher } from "./passwords";
import type { RotationDeps } from "./refresh-rotation";
import { SessionRevocationList } from "./revocation";
import { ProfileService } from "./profiles";
import { SessionService } from "./sessions";
import { AccessTokenIssuer, loadKeySet } from "./tokens";

export function servicesFor(c: Context<AppEnv>) {
  const { config, deps, database } = c.var;
  const clock = deps.clock;
  const revocations = new SessionRevocationList(c.env.REVOKED_SESSIONS, config.accessTokenTtl);
  const tokens = async () => new AccessTokenIssuer(await loadKeySet(config), config, clock);
  return {
    accounts: () =>
      new AccountService({
        db: database.get(),
        config,
        clock,
        hasher: new PasswordHasher(config.argon2),
        breached: new BreachedPasswordChecker(config.pwnedPasswordsUrl),
        tokens,
        revocations,
      }),
    profiles: () => new ProfileService(database.get()),
    activity: () => new ActivityService(database.get()),
    admin: () => new AdminService({ db: database.get(), clock, revocations }),
    sessions: () => new SessionService({ db: database.get(), clock, revocations }),
    rotation: (): RotationDeps => {
      const db = database.get();
      return { refreshTokens: new RefreshTokenRepository(db), users: new UserRepository(db), config, clock, tokens, revocations };
    },
    health: () => new HealthService(new HealthRepository(database.get())),
    revocations,
  };
}

/** Services for a Cron Trigger run: no request, so only the database. */
export function scheduledServicesFor(database: RequestDatabase) {
  return {
    maintenance: () => new MaintenanceService(new MaintenanceRepository(database.get())),
  };
}
