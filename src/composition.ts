// The composition root: the one place that builds infrastructure (config,
// signing keys, clock, database, revocation list, mail) for each request, RPC
// call, queue batch and cron run, and each feature's services through the
// factories src/features.ts lists. What holds no request I/O is built once per
// isolate and env; services on first use; the database pool is opened by the
// first store call and closed by `close()`.
import { systemClock, type Clock } from "./core/clock";
import { loadConfig, type Config, type Env } from "./config";
import { mailTransportFor, QueueOutbox } from "./adapters/mail";
import { isDeadLetterQueue, type MailConsumerDeps } from "./features/mail/consumer";
import { bindingRateLimit } from "./adapters/rate-limit";
import { lazyDatabase, loadDatabaseDriver, storesFor, unitOfWorkFor, type Database, type LazyDatabase } from "./stores";
import { FEATURES, type FeatureDeps, type Services } from "./features";
import { admin } from "./features/admin/feature";
import type { AdminService } from "./features/admin";
import { maintenance } from "./features/maintenance/feature";
import type { MaintenanceService } from "./features/maintenance/service";
import { DeviceTokenCodec } from "./features/sign-in/device-tokens";
import { BreachedPasswordChecker, PasswordHasher } from "./features/accounts/passwords";
import type { MailOutbox, MailTransport } from "./features/mail/store";
import type { Stores, UnitOfWork } from "./stores";
import { type FeedRevocationList, revocationFeedFor } from "./adapters/revocation-feed";
import { RefreshTokenCodec } from "./features/sessions";
import { AccessTokens, loadKeySet, type KeySet } from "./features/tokens";

export type { Services };

/** What tests replace. */
export type Overrides = { clock?: Clock };

export type Runtime = {
  config: Config;
  clock: Clock;
  tokens: AccessTokens;
  services: Services;
  /** Closes the database pool if the request opened one. */
  close(): Promise<void>;
  /** Whether anything opened a database pool (so close() has work to do). */
  opened(): boolean;
};

/**
 * Everything one request or RPC call may use. Throws ConfigError when a
 * variable is missing or malformed or a signing key does not import, so a
 * misconfigured service refuses every request alike.
 */
export async function compose(env: Env, overrides: Overrides = {}): Promise<Runtime> {
  const composed = composeNow(env, overrides);
  // An RPC call, a queue batch or a test may reach the stores at once: the driver is loaded first.
  await loadDatabaseDriver();
  return composed;
}

/**
 * Loads the database driver (once per isolate): what an entry point awaits before anything it runs may reach the
 * stores. composeNow does not, so a request that needs no database does not evaluate the driver; the app awaits this
 * before a route that may (src/http/lazy-routes.ts).
 */
export const prepareDatabase: () => Promise<void> = loadDatabaseDriver;

/** The signing keys each key list imported to, once the import is done: read synchronously after that. */
const importedKeys = new WeakMap<object, KeySet>();

/**
 * compose, without a turn of the event loop once this isolate has imported
 * the signing keys: the per-request path (app.ts) calls this, so a route
 * that needs nothing pays for nothing but a few object allocations.
 */
export function composeNow(env: Env, overrides: Overrides = {}): Runtime | Promise<Runtime> {
  const config = loadConfig(env);
  const keys = importedKeys.get(config.signingKeys);
  if (keys) return build(env, config, keys, overrides);
  return loadKeySet(config).then((imported) => {
    importedKeys.set(config.signingKeys, imported);
    return build(env, config, imported, overrides);
  });
}

/** This isolate's copy of the revocation feed: one per env, shared by every request, RPC call and clock. */
const feeds = new WeakMap<Config, FeedRevocationList>();

export function revocationsOf(env: Env, config: Config = loadConfig(env)): FeedRevocationList {
  let feed = feeds.get(config);
  if (!feed) feeds.set(config, (feed = revocationFeedFor(env, config)));
  return feed;
}

/**
 * What every request of this isolate on one env (and clock) shares: the
 * configuration, the clock, the access tokens and the revocation list. None
 * of it holds a request's I/O (the feed's stubs are made per call), so it is
 * built once, not per request.
 */
type Shared = { config: Config; clock: Clock; tokens: AccessTokens; revocations: FeedRevocationList };
const shared = new WeakMap<Env, WeakMap<Config, Map<Clock, Shared>>>();

function sharedParts(env: Env, config: Config, keys: KeySet, clock: Clock): Shared {
  let byConfig = shared.get(env);
  if (!byConfig) shared.set(env, (byConfig = new WeakMap()));
  let byClock = byConfig.get(config);
  if (!byClock) byConfig.set(config, (byClock = new Map()));
  if (byClock.size >= 16) byClock.clear(); // tests inject a clock per app
  let parts = byClock.get(clock);
  if (!parts) {
    const revocations = revocationsOf(env, config);
    parts = { config, clock, tokens: new AccessTokens(keys, config, clock, revocations), revocations };
    byClock.set(clock, parts);
  }
  return parts;
}

/** What a token check needs (config, clock, access tokens), without a database or services. */
export type TokenCheck = Pick<Shared, "config" | "clock" | "tokens">;

/**
 * The token check of this isolate, when it is ready at once: the config parses and the signing keys are imported.
 * Undefined otherwise (the first request, or a configuration that does not load), for the caller to take the way
 * that imports them or answers the error. The verify fast path (src/http/verify-fast-path.ts) asks it.
 */
export function tokenCheckNow(env: Env, overrides: Overrides = {}): TokenCheck | undefined {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch {
    return undefined;
  }
  const keys = importedKeys.get(config.signingKeys);
  return keys && sharedParts(env, config, keys, overrides.clock ?? systemClock);
}

function build(env: Env, config: Config, keys: KeySet, overrides: Overrides): Runtime {
  const clock = overrides.clock ?? systemClock;
  const parts = sharedParts(env, config, keys, clock);
  // The database and the services over it are the request's own.
  const database = lazyDatabase(config);
  return {
    config,
    clock,
    tokens: parts.tokens,
    services: new RequestScope(env, config, clock, parts.tokens, parts.revocations, database).services,
    close: () => database.close(),
    opened: () => database.opened(),
  };
}

/**
 * A batch of the mail queue (or its dead-letter queue): the consumer's
 * dependencies over the same services a request uses.
 */
export async function composeMailConsumer(
  env: Env,
  queueName: string,
): Promise<{ consumer: MailConsumerDeps; close(): Promise<void> }> {
  const runtime = await compose(env);
  const { services } = runtime;
  return {
    consumer: {
      deliver: (job) => services.mail().deliver(job),
      mintPasswordReset: (email, network) => services.lifecycle().mintPasswordReset(email, network),
      mintEmailCode: (id, signUp) => services.emailSignIn().mintCode(id, signUp),
      outbox: new QueueOutbox(env.MAIL_QUEUE),
      deadLetter: (job, attempts) => services.mail().deadLetter(job, attempts),
      isDeadLetterQueue: isDeadLetterQueue(queueName),
    },
    close: runtime.close,
  };
}

/** A Cron Trigger run: no request and no tokens, only the database. */
export async function composeScheduled(env: Env): Promise<{ maintenance: MaintenanceService; close(): Promise<void> }> {
  await loadDatabaseDriver();
  const database = lazyDatabase(loadConfig(env));
  const stores = () => storesFor(database.get());
  return { maintenance: maintenance.services.maintenance({ stores }), close: () => database.close() };
}

/**
 * The operator CLI (`npm run admin`): the stores and the admin service over a
 * database the CLI opened itself (node-postgres), so a role change follows
 * the same rule, locks and audit row as through the admin API, with the
 * OPERATOR actor. The CLI cannot reach the revocation feed's Durable Object:
 * it publishes nothing itself, and the feed's alarm drains the log row the
 * change's trigger wrote, so the edge refuses the user's older tokens within
 * seconds all the same.
 */
export function composeOperator(db: Database): { stores: Stores; unitOfWork: UnitOfWork; admin: AdminService } {
  const stores = storesFor(db);
  const unitOfWork = unitOfWorkFor(db);
  const revocations = { publish: async () => {} };
  const service = admin.services.admin({
    stores: () => stores,
    unitOfWork: () => unitOfWork,
    clock: systemClock,
    revocations,
  });
  return { stores, unitOfWork, admin: service };
}

/**
 * The services of one request, RPC call or queue batch: one getter per
 * service of FEATURES, installed on the prototype once per isolate, each
 * building its service on first use and keeping it for the rest of the
 * request (GET /health builds nothing). No closure per service and request:
 * the per-request path allocates little.
 */
class LazyServices {
  readonly built: Record<string, unknown> = {};
  constructor(readonly deps: FeatureDeps) {}
}

const factories: Record<string, (deps: FeatureDeps) => unknown> = {};
for (const feature of FEATURES) {
  if (!("services" in feature)) continue;
  for (const [name, factory] of Object.entries<(deps: FeatureDeps) => unknown>(feature.services)) {
    if (name in factories) throw new TypeError(`two features declare the service "${name}"`);
    factories[name] = factory;
    Object.defineProperty(LazyServices.prototype, name, {
      value(this: LazyServices) {
        return (this.built[name] ??= factory(this.deps));
      },
    });
  }
}

/** What one request's service factories are handed: the shared parts, and the rest built on first use. */
class RequestScope implements FeatureDeps {
  readonly services: Services;
  #stores?: Stores;
  #unitOfWork?: UnitOfWork;
  #codec?: RefreshTokenCodec;
  #hasher?: PasswordHasher;
  #breached?: BreachedPasswordChecker;
  #deviceTokens?: DeviceTokenCodec;
  #outbox?: MailOutbox;

  constructor(
    private readonly env: Env,
    readonly config: Config,
    readonly clock: Clock,
    readonly tokens: AccessTokens,
    readonly revocations: FeedRevocationList,
    private readonly database: LazyDatabase,
  ) {
    this.services = new LazyServices(this) as unknown as Services;
  }

  stores(): Stores {
    return (this.#stores ??= storesFor(this.database.get()));
  }

  unitOfWork(): UnitOfWork {
    return (this.#unitOfWork ??= unitOfWorkFor(this.database.get()));
  }

  codec(): RefreshTokenCodec {
    return (this.#codec ??= new RefreshTokenCodec(
      this.config.refreshTokenSecret,
      this.config.refreshTokenPreviousSecret,
    ));
  }

  deviceTokens(): DeviceTokenCodec {
    return (this.#deviceTokens ??= new DeviceTokenCodec(
      this.config.refreshTokenSecret,
      this.config.refreshTokenPreviousSecret,
    ));
  }

  hasher(): PasswordHasher {
    return (this.#hasher ??= new PasswordHasher(this.config.argon2));
  }

  breached(): BreachedPasswordChecker {
    return (this.#breached ??= new BreachedPasswordChecker(this.config.pwnedPasswordsUrl));
  }

  outbox(): MailOutbox {
    return (this.#outbox ??= new QueueOutbox(this.env.MAIL_QUEUE));
  }

  mailTransport(): MailTransport | undefined {
    return mailTransportFor(this.config.mail);
  }

  rateLimit(binding: "AUTH_EMAIL_RATE_LIMITER" | "AUTH_REFRESH_RATE_LIMITER", scope: string) {
    return bindingRateLimit(this.env[binding], scope);
  }
}
