// The composition root: the one place that builds infrastructure. For each
// request, RPC call and cron run it reads the configuration from the Worker
// env (validated once per env object), imports the signing keys (once per
// isolate), and wires the clock, the lazily opened database, the KV
// revocation list and the services. What holds no request I/O (config,
// clock, access tokens, revocation list) is built once per isolate and env;
// services are built on first use, so a request builds only what its route
// needs; the database pool is opened by the first store call and closed by
// `close()`.
import { systemClock, type Clock } from "./core/clock";
import { loadConfig, type Config, type Env } from "./config";
import { mailTransportFor, QueueOutbox } from "./adapters/mail";
import { isDeadLetterQueue, type MailConsumerDeps } from "./features/mail/consumer";
import { bindingRateLimit } from "./adapters/rate-limit";
import { lazyDatabase, storesFor, unitOfWorkFor, type Database, type LazyDatabase } from "./stores";
import { AccountService } from "./features/accounts/service";
import { ActivityService } from "./features/activity/service";
import { AdminService } from "./features/admin";
import { DeviceTokenCodec } from "./features/sign-in/device-tokens";
import { HealthService } from "./features/health/service";
import { AccountLifecycle } from "./features/lifecycle/service";
import { MailDelivery } from "./features/mail/delivery";
import { MaintenanceService } from "./features/maintenance/service";
import { PasskeyService } from "./features/passkeys/service";
import { SecretBox } from "./features/mfa/secret-box";
import { SecondFactorService } from "./features/mfa/service";
import { BreachedPasswordChecker, PasswordHasher } from "./features/accounts/passwords";
import type { MailOutbox } from "./features/mail/store";
import type { Stores, UnitOfWork } from "./stores";
import { ProfileService } from "./features/lifecycle/profiles";
import { SessionRevocationList } from "./adapters/revocation-list";
import { RefreshTokenCodec, RefreshTokenRotation, SessionService } from "./features/sessions";
import { AccessTokens, loadKeySet, type KeySet } from "./features/tokens";

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
  return composed instanceof Promise ? composed : Promise.resolve(composed);
}

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

/**
 * What every request of this isolate on one env (and clock) shares: the
 * configuration, the clock, the access tokens and the revocation list. None
 * of it holds a request's I/O (the KV binding is the env's), so it is built
 * once, not per request.
 */
type Shared = { config: Config; clock: Clock; tokens: AccessTokens; revocations: SessionRevocationList };
const shared = new WeakMap<Env, WeakMap<Config, Map<Clock, Shared>>>();

function build(env: Env, config: Config, keys: KeySet, overrides: Overrides): Runtime {
  const clock = overrides.clock ?? systemClock;
  let byConfig = shared.get(env);
  if (!byConfig) shared.set(env, (byConfig = new WeakMap()));
  let byClock = byConfig.get(config);
  if (!byClock) byConfig.set(config, (byClock = new Map()));
  if (byClock.size >= 16) byClock.clear(); // tests inject a clock per app
  let parts = byClock.get(clock);
  if (!parts) {
    const revocations = new SessionRevocationList(
      env.REVOKED_SESSIONS,
      config.accessTokenTtl,
      Date.now,
      config.refreshReuseGrace,
    );
    parts = { config, clock, tokens: new AccessTokens(keys, config, clock, revocations), revocations };
    byClock.set(clock, parts);
  }
  // The database and the services over it are the request's own.
  const database = lazyDatabase(config);
  return {
    config,
    clock,
    tokens: parts.tokens,
    services: new Services(env, config, clock, parts.tokens, parts.revocations, database),
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
      outbox: new QueueOutbox(env.MAIL_QUEUE),
      deadLetter: (job, attempts) => services.mail().deadLetter(job, attempts),
      isDeadLetterQueue: isDeadLetterQueue(queueName),
    },
    close: runtime.close,
  };
}

/** A Cron Trigger run: no request and no tokens, only the database. */
export function composeScheduled(env: Env): { maintenance: MaintenanceService; close(): Promise<void> } {
  const database = lazyDatabase(loadConfig(env));
  return { maintenance: new MaintenanceService(storesFor(database.get()).maintenance), close: () => database.close() };
}

/**
 * The operator CLI (`npm run admin`): the stores and the admin service over a
 * database the CLI opened itself (node-postgres), so a role change follows
 * the same rule, locks and audit row as through the admin API, with the
 * OPERATOR actor. The CLI cannot reach Workers KV: its revocation list writes
 * nothing, and a role change reaches the user's tokens at their next refresh.
 */
export function composeOperator(db: Database): { stores: Stores; unitOfWork: UnitOfWork; admin: AdminService } {
  const stores = storesFor(db);
  const unitOfWork = unitOfWorkFor(db);
  const revocations = { endSessionsOf: async () => {}, markGrantsChanged: async () => {} };
  return { stores, unitOfWork, admin: new AdminService({ stores, unitOfWork, clock: systemClock, revocations }) };
}

/**
 * The services of one request, RPC call or queue batch, each built on its
 * first use and kept for the rest of it, so a request builds only what its
 * route calls (GET /health: nothing). One object of lazily filled fields
 * rather than a closure per service: the per-request path allocates little.
 */
export class Services {
  #stores?: Stores;
  #unitOfWork?: UnitOfWork;
  #codec?: RefreshTokenCodec;
  #hasher?: PasswordHasher;
  #breached?: BreachedPasswordChecker;
  #deviceTokens?: DeviceTokenCodec;
  #outbox?: MailOutbox;
  #accounts?: AccountService;
  #secondFactors?: SecondFactorService;
  #passkeys?: PasskeyService;
  #lifecycle?: AccountLifecycle;
  #rotation?: RefreshTokenRotation;
  #sessions?: SessionService;
  #admin?: AdminService;
  #profiles?: ProfileService;
  #activity?: ActivityService;
  #health?: HealthService;
  #mail?: MailDelivery;

  constructor(
    private readonly env: Env,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly tokens: AccessTokens,
    private readonly revocations: SessionRevocationList,
    private readonly database: LazyDatabase,
  ) {}

  accounts(): AccountService {
    return (this.#accounts ??= new AccountService({
      stores: this.stores(),
      unitOfWork: this.unitOfWork(),
      settings: this.config,
      clock: this.clock,
      hasher: this.hasher(),
      breached: this.breached(),
      codec: this.codec(),
      deviceTokens: this.deviceTokens(),
      // The edge limit per normalised email on register.
      registrationLimit: bindingRateLimit(this.env.AUTH_EMAIL_RATE_LIMITER, "register"),
      tokens: this.tokens,
      revocations: this.revocations,
      outbox: this.outbox(),
      secondFactor: this.secondFactors(),
    }));
  }

  secondFactors(): SecondFactorService {
    const { config } = this;
    return (this.#secondFactors ??= new SecondFactorService({
      stores: this.stores(),
      sessions: this.stores().sessions,
      settings: { ...config, issuerName: config.mfa.webauthn.rpName },
      clock: this.clock,
      hasher: this.hasher(),
      secretBox: secretBoxFor(config.mfa.encryptionKey),
      tokens: this.tokens,
      codec: this.codec(),
      deviceTokens: this.deviceTokens(),
      revocations: this.revocations,
    }));
  }

  passkeys(): PasskeyService {
    return (this.#passkeys ??= new PasskeyService({
      stores: this.stores(),
      sessions: this.stores().sessions,
      settings: { ...this.config, webauthn: this.config.mfa.webauthn },
      clock: this.clock,
      codec: this.codec(),
      deviceTokens: this.deviceTokens(),
      tokens: this.tokens,
      revocations: this.revocations,
    }));
  }

  lifecycle(): AccountLifecycle {
    return (this.#lifecycle ??= new AccountLifecycle({
      stores: this.stores(),
      unitOfWork: this.unitOfWork(),
      settings: this.config,
      clock: this.clock,
      hasher: this.hasher(),
      breached: this.breached(),
      outbox: this.outbox(),
      revocations: this.revocations,
      // The edge limit per (normalised email, requesting network) on forgot-password.
      forgotLimit: bindingRateLimit(this.env.AUTH_EMAIL_RATE_LIMITER, "forgot"),
    }));
  }

  rotation(): RefreshTokenRotation {
    return (this.#rotation ??= new RefreshTokenRotation({
      refreshTokens: this.stores().refreshTokens,
      users: this.stores().users,
      codec: this.codec(),
      settings: this.config,
      clock: this.clock,
      tokens: this.tokens,
      revocations: this.revocations,
      // The edge limit per session on refresh.
      refreshLimit: bindingRateLimit(this.env.AUTH_REFRESH_RATE_LIMITER, "refresh"),
    }));
  }

  sessions(): SessionService {
    return (this.#sessions ??= new SessionService({
      sessions: this.stores().sessions,
      codec: this.codec(),
      clock: this.clock,
      revocations: this.revocations,
      tokens: this.tokens,
    }));
  }

  admin(): AdminService {
    return (this.#admin ??= new AdminService({
      stores: this.stores(),
      unitOfWork: this.unitOfWork(),
      clock: this.clock,
      revocations: this.revocations,
    }));
  }

  profiles(): ProfileService {
    return (this.#profiles ??= new ProfileService(this.stores().users));
  }

  activity(): ActivityService {
    return (this.#activity ??= new ActivityService(this.stores().audit));
  }

  health(): HealthService {
    return (this.#health ??= new HealthService(this.stores().health));
  }

  mail(): MailDelivery {
    return (this.#mail ??= new MailDelivery({
      transport: mailTransportFor(this.config.mail),
      audit: this.stores().audit,
      clock: this.clock,
    }));
  }

  private stores(): Stores {
    return (this.#stores ??= storesFor(this.database.get()));
  }

  private unitOfWork(): UnitOfWork {
    return (this.#unitOfWork ??= unitOfWorkFor(this.database.get()));
  }

  private codec(): RefreshTokenCodec {
    return (this.#codec ??= new RefreshTokenCodec(
      this.config.refreshTokenSecret,
      this.config.refreshTokenPreviousSecret,
    ));
  }

  private deviceTokens(): DeviceTokenCodec {
    return (this.#deviceTokens ??= new DeviceTokenCodec(
      this.config.refreshTokenSecret,
      this.config.refreshTokenPreviousSecret,
    ));
  }

  private hasher(): PasswordHasher {
    return (this.#hasher ??= new PasswordHasher(this.config.argon2));
  }

  private breached(): BreachedPasswordChecker {
    return (this.#breached ??= new BreachedPasswordChecker(this.config.pwnedPasswordsUrl));
  }

  private outbox(): MailOutbox {
    return (this.#outbox ??= new QueueOutbox(this.env.MAIL_QUEUE));
  }
}

/** One AES-GCM key import per isolate and key. */
const secretBoxes = new WeakMap<Uint8Array, SecretBox>();

function secretBoxFor(key: Uint8Array | undefined): SecretBox | undefined {
  if (!key) return undefined;
  let box = secretBoxes.get(key);
  if (!box) secretBoxes.set(key, (box = new SecretBox(key)));
  return box;
}
