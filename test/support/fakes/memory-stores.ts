// Every store port over one in-memory model (memory-model.ts), for unit tests
// of the services: `stores` implements Stores, `unitOfWork` runs work against
// the same memory and restores it if the work throws, so a failed unit of
// work writes nothing. Each store method, like one Postgres statement, makes
// all its changes or none. Calls are recorded by name ("refreshTokens.rotate"),
// and `onCall` runs before each one: a change racing the call.
//
// test/support/contracts/ runs the same checks against this and Postgres, so
// the model cannot drift from the SQL.
import type { Stores, UnitOfWork } from "../../../src/stores";
import type { UserRecord, UserStatus } from "../../../src/core/domain";
import { refreshTokenStore, registrationStore, sessionStore, throttleStore, userStore } from "./account-stores";
import { adminUserStore, auditLog, healthProbe, maintenanceStore, roleStore } from "./admin-stores";
import {
  emptyState,
  userRecord,
  type MemoryAuditRow,
  type MemoryOneTimeToken,
  type MemorySession,
  type MemoryState,
  type MemoryToken,
} from "./memory-model";
import { oneTimeTokenStore } from "./one-time-tokens";
import { memoryPasskeyStore } from "./passkeys";
import { unmodelledFederationStore } from "./federation";
import { unmodelledOrganizationStore } from "./organizations";
import { challengeStore, secondFactorStore } from "./second-factors";

export class MemoryStores {
  readonly state: MemoryState = emptyState();
  /** "store.method" for every store call and "unitOfWork.run", in order. */
  readonly calls: string[] = [];
  /** Runs before each store call (after it is recorded). */
  onCall: ((call: string) => void) | undefined;
  readonly stores: Stores;
  readonly unitOfWork: UnitOfWork;

  constructor() {
    const s = this.state;
    this.stores = {
      users: this.#recorded("users", userStore(s)),
      throttles: this.#recorded("throttles", throttleStore(s)),
      registrations: this.#recorded("registrations", registrationStore(s)),
      oneTimeTokens: this.#recorded("oneTimeTokens", oneTimeTokenStore(s)),
      sessions: this.#recorded("sessions", sessionStore(s)),
      refreshTokens: this.#recorded("refreshTokens", refreshTokenStore(s)),
      audit: this.#recorded("audit", auditLog(s)),
      adminUsers: this.#recorded("adminUsers", adminUserStore(s)),
      roles: this.#recorded("roles", roleStore(s)),
      health: this.#recorded("health", healthProbe()),
      maintenance: this.#recorded("maintenance", maintenanceStore(s)),
      secondFactors: this.#recorded("secondFactors", secondFactorStore(s)),
      challenges: this.#recorded("challenges", challengeStore(s)),
      passkeys: this.#recorded("passkeys", memoryPasskeyStore(s)),
      emailCodes: this.#recorded("emailCodes", unmodelledEmailCodes()),
      federation: unmodelledFederationStore(),
      organizations: unmodelledOrganizationStore(),
      // No organization is in memory: the switch is tested over Postgres (test/http/active-org.test.ts).
      activeOrganization: {
        switchTo: () => Promise.reject(new Error("activeOrganization.switchTo is not modelled in memory")),
      },
    };
    this.unitOfWork = {
      run: (work) => {
        this.#record("unitOfWork.run");
        return this.#atomically(() => work(this.stores));
      },
    };
  }

  /** A deep copy of everything stored, for before/after comparisons. */
  snapshot(): MemoryState {
    return structuredClone(this.state);
  }

  // ---- Arranging and inspecting (not ports: tests only) --------------------

  /** A user inserted directly, with these roles (default: user); the email unverified unless `emailVerified`. */
  addUser(
    input: {
      email?: string;
      name?: string | null;
      passwordHash?: string;
      status?: UserStatus;
      roles?: string[];
      emailVerified?: boolean;
      createdAt?: Date;
    } = {},
  ): UserRecord {
    const id = crypto.randomUUID();
    const createdAt = input.createdAt ?? new Date("2026-01-01T00:00:00.000Z");
    const user = {
      id,
      email: input.email ?? `${id}@example.com`,
      name: input.name ?? null,
      status: input.status ?? ("active" as const),
      passwordHash: input.passwordHash ?? "$argon2id$unused",
      emailVerifiedAt: input.emailVerified ? createdAt : null,
      createdAt,
      updatedAt: createdAt,
      grantsVersion: 0,
      deviceGeneration: 0,
    };
    this.state.users.set(id, user);
    this.state.userRoles.set(id, new Set(input.roles ?? ["user"]));
    return userRecord(this.state, user);
  }

  /** The user as a store would read them now. */
  user(id: string): UserRecord | undefined {
    const user = this.state.users.get(id);
    return user && userRecord(this.state, user);
  }

  session(id: string): MemorySession | undefined {
    return this.state.sessions.get(id);
  }

  sessionsOf(userId: string): MemorySession[] {
    return [...this.state.sessions.values()].filter((s) => s.userId === userId);
  }

  token(tokenHash: string): MemoryToken | undefined {
    return this.state.refreshTokens.get(tokenHash);
  }

  /** The user's one-time token rows, oldest first. */
  oneTimeTokensOf(userId: string): MemoryOneTimeToken[] {
    return [...this.state.oneTimeTokens.values()]
      .filter((t) => t.userId === userId)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Audit rows in the order they were written, optionally filtered. */
  auditRows(filter: { event?: string; userId?: string; sessionId?: string } = {}): MemoryAuditRow[] {
    return this.state.audit.filter(
      (row) =>
        (filter.event === undefined || row.event === filter.event) &&
        (filter.userId === undefined || row.userId === filter.userId) &&
        (filter.sessionId === undefined || row.sessionId === filter.sessionId),
    );
  }

  // ---- Internals ------------------------------------------------------------

  #record(call: string): void {
    this.calls.push(call);
    this.onCall?.(call);
  }

  /** Runs `work`; if it throws, puts the memory back as it was. */
  async #atomically<T>(work: () => Promise<T>): Promise<T> {
    const before = this.snapshot();
    try {
      return await work();
    } catch (error) {
      Object.assign(this.state, before);
      throw error;
    }
  }

  #recorded<T extends object>(name: string, store: T): T {
    const wrapped = {} as Record<string, unknown>;
    for (const [method, fn] of Object.entries(store)) {
      wrapped[method] = (...args: unknown[]) => {
        this.#record(`${name}.${method}`);
        return this.#atomically(() => (fn as (...a: unknown[]) => Promise<unknown>).apply(store, args));
      };
    }
    return wrapped as T;
  }
}

/**
 * Email sign-in codes are not modelled in memory: their rules are tested over
 * Postgres (test/http/email-sign-in.test.ts). A unit test that reaches them fails loudly.
 */
function unmodelledEmailCodes(): Stores["emailCodes"] {
  const fail = (): never => {
    throw new Error("email sign-in codes are not modelled in memory: test them over Postgres");
  };
  return {
    request: fail,
    mint: fail,
    findLive: fail,
    findByToken: fail,
    recordFailure: fail,
    spend: fail,
    createAccount: fail,
    requestReauthentication: fail,
    findLiveForSession: fail,
  };
}
