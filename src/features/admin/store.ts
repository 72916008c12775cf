// The admin feature's ports: the operator's user listing and the roles.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { KeysetCursor, Page, UserRecord, UserStatus } from "../../core/domain";

/** The audit events this feature writes. */
export type AdminAuditEvent = "user.roles_changed" | "user.disabled" | "user.enabled" | "role.defined";

export interface AdminUserStore {
  /** Oldest first; `search` matches email or name as a literal, case-insensitive substring. */
  page(filter: { search?: string; cursor?: KeysetCursor; limit: number }): Promise<Page<UserRecord>>;
  /**
   * Inside a transaction: locks the actor's and the target's rows in one
   * order, so administrators acting on each other queue; their statuses.
   */
  lockActorAndTarget(actorId: string | null, targetId: string): Promise<Map<string, UserStatus>>;
  setStatus(id: string, status: UserStatus, at: Date): Promise<void>;
  /** A new grants version: the user's earlier tokens stop working once it reaches the edge. */
  bumpGrantsVersion(id: string, at: Date): Promise<number>;
  exists(id: string): Promise<boolean>;
  findIdByEmail(email: string): Promise<string | undefined>;
}

export interface RoleStore {
  /** The names among `names` that are roles (share-locked inside a transaction). */
  existing(names: readonly string[]): Promise<string[]>;
  /** The permissions the given roles grant together, sorted. */
  permissionsOf(names: readonly string[]): Promise<string[]>;
  /** Makes the user's roles exactly `names`. */
  replaceForUser(userId: string, names: readonly string[], at: Date): Promise<void>;
  all(): Promise<{ name: string; description: string; permissions: string[] }[]>;
  /**
   * Inside a transaction: creates the role `name` or replaces its
   * permissions with exactly `permissions` (validated), and, when they
   * changed, bumps the grants version of every holder, as a role change
   * does. Locks the holders' rows (in id order, as the admin changes do)
   * before the role's, so it queues behind a concurrent role change instead
   * of deadlocking with it. Three statements. `before`: the permissions the
   * role had (sorted; [] for a new role).
   */
  define(name: string, permissions: readonly string[], at: Date): Promise<RoleDefined>;
}

/** What defining a role did: the holders' new grants versions are for the edge. */
export type RoleDefined = { created: boolean; before: string[]; holders: { userId: string; grantsVersion: number }[] };
