// Builds the services for one request from the context the composition root
// filled in: config, clock, the lazily opened database, the KV revocation
// list. Routes call this and nothing else to reach business rules.
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { AccountService } from "./accounts";
import { AdminService } from "./admin";
import { ActivityService } from "./activity";
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
    rotation: (): RotationDeps => ({ db: database.get(), config, clock, tokens, revocations }),
    revocations,
  };
}
