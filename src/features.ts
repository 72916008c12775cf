// Every feature of the service, in the order its routes are mounted: the one
// list the stores (src/stores.ts), the services (src/composition.ts) and the
// routes (src/http/app.ts) are built from. Adding a feature is its folder,
// with a feature.ts that says what it contributes, and one line here.
import type { Hono } from "hono";
import type { Clock } from "./core/clock";
import type { Config } from "./config";
import type { KeyedRateLimit } from "./core/domain";
import type { Executor } from "./adapters/postgres/database";
import type { AppEnv } from "./http/context";
import type { Stores, UnitOfWork } from "./stores";
import type { BreachedPasswordChecker, PasswordHasher } from "./features/accounts/passwords";
import type { DeviceTokenCodec } from "./features/sign-in/device-tokens";
import type { MailOutbox, MailTransport } from "./features/mail/store";
import type { RefreshTokenCodec } from "./features/sessions";
import type { RevocationList } from "./features/sessions/store";
import type { AccessTokens } from "./features/tokens";
import { accounts } from "./features/accounts/feature";
import { activity } from "./features/activity/feature";
import { admin } from "./features/admin/feature";
import { health } from "./features/health/feature";
import { lifecycle } from "./features/lifecycle/feature";
import { mail } from "./features/mail/feature";
import { maintenance } from "./features/maintenance/feature";
import { mfa } from "./features/mfa/feature";
import { passkeys } from "./features/passkeys/feature";
import { federation } from "./features/federation/feature";
import { reauthentication } from "./features/reauthentication/feature";
import { sessions } from "./features/sessions/feature";
import { signIn } from "./features/sign-in/feature";
import { tokens } from "./features/tokens/feature";
import { emailSignIn } from "./features/email-sign-in/feature";
import { organizations } from "./features/organizations/feature";
import { activeOrganization } from "./features/active-organization/feature";

export const FEATURES = [
  health,
  tokens,
  accounts,
  lifecycle,
  mfa,
  passkeys,
  federation,
  reauthentication,
  emailSignIn,
  sessions,
  activeOrganization,
  admin,
  organizations,
  signIn,
  activity,
  mail,
  maintenance,
] as const satisfies readonly Feature[];

/**
 * What a feature contributes, each part optional. A service factory states
 * its return type: the services' type is derived from these factories, and
 * their deps name it, so an inferred one would be circular.
 */
export type Feature = {
  /** Its stores over one connection or transaction, under the names services find them by in `Stores`. */
  stores?(db: Executor): object;
  /** Its services by the name routes call them by (`c.var.services.<name>()`), each built on first use. */
  services?: Record<string, (deps: FeatureDeps) => unknown>;
  /**
   * Its route modules, one app each, mounted at "/" in this list's order, each imported the first time one of its
   * routes is asked for (src/http/lazy-routes.ts): a dynamic import(), so a cold start does not evaluate them.
   */
  routes?: readonly (() => Promise<Hono<AppEnv>>)[];
  /**
   * The paths (its routes', its pages') the configuration turns off: each answers 404 as a path no route takes
   * would, before anything else.
   */
  switchedOff?(config: Config): readonly string[];
};

/** The infrastructure the composition root hands each service factory; what costs anything is built on first use. */
export type FeatureDeps = {
  readonly config: Config;
  readonly clock: Clock;
  readonly tokens: AccessTokens;
  readonly revocations: RevocationList;
  /** The other features' services, for one that builds on another's. */
  readonly services: Services;
  stores(): Stores;
  unitOfWork(): UnitOfWork;
  codec(): RefreshTokenCodec;
  deviceTokens(): DeviceTokenCodec;
  hasher(): PasswordHasher;
  breached(): BreachedPasswordChecker;
  outbox(): MailOutbox;
  mailTransport(): MailTransport | undefined;
  /** A rate-limiting binding of the env, its keys prefixed with `scope`; absent, everything is allowed. */
  rateLimit(binding: "AUTH_EMAIL_RATE_LIMITER" | "AUTH_REFRESH_RATE_LIMITER", scope: string): KeyedRateLimit;
};

/**
 * What a service that takes new passwords and checks current ones is built on (accounts, lifecycle). Their
 * feature.ts imports it from here, so it is called by their factories, never while the list loads.
 */
export function passwordServiceDeps(deps: FeatureDeps) {
  return {
    stores: deps.stores(),
    unitOfWork: deps.unitOfWork(),
    settings: deps.config,
    clock: deps.clock,
    hasher: deps.hasher(),
    breached: deps.breached(),
  };
}

/** One intersection of what each feature of a list declares: its stores, or its service factories. */
type Each<List, Part extends "stores" | "services"> = List extends readonly [infer Head, ...infer Rest]
  ? (Part extends "stores"
      ? Head extends { stores(db: Executor): infer S }
        ? S
        : unknown
      : Head extends { services: infer S }
        ? S
        : unknown) &
      Each<Rest, Part>
  : unknown;
type Flat<T> = { [K in keyof T]: T[K] };

/** Every feature's stores, as one object type (src/stores.ts names it `Stores`). */
export type FeatureStores = Flat<Each<typeof FEATURES, "stores">>;

/** Every feature's service factories by name. */
export type ServiceFactories = Flat<Each<typeof FEATURES, "services">>;

/** The services of one request, RPC call or queue batch: a getter each, built on its first call. */
export type Services = {
  readonly [Name in keyof ServiceFactories]: () => ServiceFactories[Name] extends (deps: never) => infer S ? S : never;
};
