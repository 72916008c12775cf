// The composition root: the one place that builds infrastructure. For each
// request, RPC call and cron run it reads the configuration from the Worker
// env (validated once per env object), imports the signing keys (once per
// isolate), and wires the clock, the lazily opened database, the KV
// revocation list and the services. Services are built on first use, so a
// request builds only what its route needs; the database pool is opened by
// the first store call and closed by `close()`.
import { systemClock, type Clock } from "./clock";
import { loadConfig, type Config, type Env } from "./config";
import { isDeadLetterQueue, mailTransportFor, QueueOutbox, type MailConsumerDeps } from "./mail";
import { bindingRateLimit } from "./middleware/rate-limit/binding";
import { lazyDatabase, storesFor, unitOfWorkFor, type Database, type LazyDatabase } from "./repositories";
import { AccountService } from "./services/accounts";
import { ActivityService } from "./services/activity";
import { AdminService } from "./services/admin";
import { DeviceTokenCodec } from "./services/device-tokens";
import { HealthService } from "./services/health";
import { AccountLifecycle } from "./services/lifecycle";
import { MailDelivery } from "./services/mail/delivery";
import { MaintenanceService } from "./services/maintenance";
import { PasskeyService } from "./services/mfa/passkeys";
import { SecretBox } from "./services/mfa/secret-box";
import { SecondFactorService } from "./services/mfa/second-factors";
import { BreachedPasswordChecker, PasswordHasher } from "./services/passwords";
import type { KeyedRateLimit, MailOutbox, Stores, UnitOfWork } from "./services/ports";
import { ProfileService } from "./services/profiles";
import { RefreshTokenCodec, RefreshTokenRotation, SessionRevocationList, SessionService } from "./services/sessions";
import { AccessTokens, loadKeySet, type KeySet } from "./services/tokens";

/** What tests replace. */
export type Overrides = { clock?: Clock };

export type Services = ReturnType<typeof wireServices>;

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

function build(env: Env, config: Config, keys: KeySet, overrides: Overrides): Runtime {
  const clock = overrides.clock ?? systemClock;
  const revocations = new SessionRevocationList(env.REVOKED_SESSIONS, config.accessTokenTtl, Date.now, config.refreshReuseGrace);
  const tokens = new AccessTokens(keys, config, clock, revocations);
  const database = lazyDatabase(config);
  const data = lazyData(database);
  const limits = {
    registration: bindingRateLimit(env.AUTH_EMAIL_RATE_LIMITER, "register"),
    forgot: bindingRateLimit(env.AUTH_EMAIL_RATE_LIMITER, "forgot"),
    refresh: bindingRateLimit(env.AUTH_REFRESH_RATE_LIMITER, "refresh"),
  };
  const outbox = new QueueOutbox(env.MAIL_QUEUE);
  return {
    config,
    clock,
    tokens,
    services: wireServices({ config, clock, tokens, revocations, data, limits, outbox }),
    close: () => database.close(),
    opened: () => database.opened(),
  };
}

/**
 * A batch of the mail queue (or its dead-letter queue): the consumer's
 * dependencies over the same services a request uses.
 */
export async function composeMailConsumer(env: Env, queueName: string): Promise<{ consumer: MailConsumerDeps; close(): Promise<void> }> {
  const runtime = await compose(env);
  const { services } = runtime;
  return {
    consumer: {
      deliver: (job) => services.mail().deliver(job),
      mintPasswordReset: (email) => services.lifecycle().mintPasswordReset(email),
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
  return { maintenance: new MaintenanceService(lazyData(database).stores().maintenance), close: () => database.close() };
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

type Data = { stores: () => Stores; unitOfWork: () => UnitOfWork };

function lazyData(database: LazyDatabase): Data {
  return { stores: once(() => storesFor(database.get())), unitOfWork: once(() => unitOfWorkFor(database.get())) };
}

/** The edge limits the services apply themselves: per normalised email on register and forgot-password, per session on refresh. */
type Limits = { registration: KeyedRateLimit; forgot: KeyedRateLimit; refresh: KeyedRateLimit };

function wireServices(root: { config: Config; clock: Clock; tokens: AccessTokens; revocations: SessionRevocationList; data: Data; limits: Limits; outbox: MailOutbox }) {
  const { config, clock, tokens, revocations, data, limits, outbox } = root;
  const codec = once(() => new RefreshTokenCodec(config.refreshTokenSecret, config.refreshTokenPreviousSecret));
  const hasher = once(() => new PasswordHasher(config.argon2));
  const breached = once(() => new BreachedPasswordChecker(config.pwnedPasswordsUrl));
  const deviceTokens = once(() => new DeviceTokenCodec(config.refreshTokenSecret, config.refreshTokenPreviousSecret));
  const secondFactors = once(() => {
    const stores = data.stores();
    return new SecondFactorService({
      stores,
      sessions: stores.sessions,
      settings: { ...config, issuerName: config.mfa.webauthn.rpName },
      clock,
      hasher: hasher(),
      secretBox: secretBoxFor(config.mfa.encryptionKey),
      tokens,
      codec: codec(),
      deviceTokens: deviceTokens(),
      revocations,
    });
  });
  return {
    accounts: once(
      () =>
        new AccountService({
          stores: data.stores(),
          unitOfWork: data.unitOfWork(),
          settings: config,
          clock,
          hasher: hasher(),
          breached: breached(),
          codec: codec(),
          deviceTokens: deviceTokens(),
          registrationLimit: limits.registration,
          tokens,
          revocations,
          outbox,
          secondFactor: secondFactors(),
        }),
    ),
    secondFactors,
    passkeys: once(() => {
      const stores = data.stores();
      return new PasskeyService({
        stores,
        sessions: stores.sessions,
        settings: { ...config, webauthn: config.mfa.webauthn },
        clock,
        codec: codec(),
        deviceTokens: deviceTokens(),
        tokens,
        revocations,
      });
    }),
    lifecycle: once(
      () =>
        new AccountLifecycle({
          stores: data.stores(),
          unitOfWork: data.unitOfWork(),
          settings: config,
          clock,
          hasher: hasher(),
          breached: breached(),
          outbox,
          revocations,
          forgotLimit: limits.forgot,
        }),
    ),
    rotation: once(
      () =>
        new RefreshTokenRotation({
          refreshTokens: data.stores().refreshTokens,
          users: data.stores().users,
          codec: codec(),
          settings: config,
          clock,
          tokens,
          revocations,
          refreshLimit: limits.refresh,
        }),
    ),
    sessions: once(() => new SessionService({ sessions: data.stores().sessions, codec: codec(), clock, revocations, tokens })),
    admin: once(() => new AdminService({ stores: data.stores(), unitOfWork: data.unitOfWork(), clock, revocations })),
    profiles: once(() => new ProfileService(data.stores().users)),
    activity: once(() => new ActivityService(data.stores().audit)),
    health: once(() => new HealthService(data.stores().health)),
    mail: once(() => new MailDelivery({ transport: mailTransportFor(config.mail), audit: data.stores().audit, clock })),
  };
}

/** One AES-GCM key import per isolate and key. */
const secretBoxes = new WeakMap<Uint8Array, SecretBox>();

function secretBoxFor(key: Uint8Array | undefined): SecretBox | undefined {
  if (!key) return undefined;
  let box = secretBoxes.get(key);
  if (!box) secretBoxes.set(key, (box = new SecretBox(key)));
  return box;
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
