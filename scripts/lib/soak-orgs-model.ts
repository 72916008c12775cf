// The organizations phase's checker, free of I/O so it is unit-tested
// (soak-orgs-model.test.ts). Each organization has one owner acting on it, one
// change at a time, so its history is a sequence: the state after each change
// (members and their roles, the custom roles' permissions), with the instants
// the change was sent and answered. The change committed somewhere between the
// two; a request that overlaps a change may have seen the state before or
// after it, and is judged against both. From that history:
// - a token's `org` claim must equal the organization's state at some instant
//   of the request that issued it (the switch, the refresh): the database's,
//   never richer;
// - a verify that answered 200 for a permission P with a token is a violation
//   when a change sent after the token was issued left its holder without P
//   and was answered longer than the propagation bound before the verify was
//   sent (bound 0 at the isolate that made the change, the feed's bound at
//   another);
// - a refusal (401 for a token, 404 for a switch, no `org` claim after a
//   refresh) is explained only when a change can have caused it.
import { orgPermissionsOf } from "../../src/core/permissions.ts";

export type OrgState = {
  /** Member id -> their roles, sorted. */
  members: ReadonlyMap<string, readonly string[]>;
  /** Custom role -> its permissions, sorted. */
  roles: ReadonlyMap<string, readonly string[]>;
};

export type ChangeKind = "roles" | "define" | "remove" | "accept";

export type Change = {
  orgId: string;
  kind: ChangeKind;
  /** The member a roles change, removal or acceptance is about. */
  userId?: string;
  /** performance.now() when the request was sent, and when its answer ended. */
  start: number;
  end: number;
  after: OrgState;
};

/** What a token claims, and when the request that issued it ran. */
export type TokenRecord = {
  userId: string;
  start: number;
  end: number;
  org?: { id: string; slug: string; roles: string[]; permissions: string[] };
};

export type Window = { start: number; end: number };

export class OrgHistory {
  private readonly changes = new Map<string, Change[]>();
  private readonly catalog: readonly string[];

  constructor(catalog: readonly string[]) {
    this.catalog = catalog;
  }

  /** The state an organization starts the measured phase in (as if answered before anything else). */
  begin(orgId: string, state: OrgState): void {
    this.changes.set(orgId, [{ orgId, kind: "define", start: -Infinity, end: -Infinity, after: state }]);
  }

  /** The state after a change the service answered 2xx. Changes of one organization arrive in order. */
  record(change: Change): void {
    const list = this.changes.get(change.orgId);
    if (!list) throw new Error(`no history for organization ${change.orgId}`);
    list.push(change);
  }

  current(orgId: string): OrgState {
    return this.history(orgId).at(-1)!.after;
  }

  history(orgId: string): readonly Change[] {
    const list = this.changes.get(orgId);
    if (!list) throw new Error(`no history for organization ${orgId}`);
    return list;
  }

  /** All changes but the initial states, every organization. */
  all(): Change[] {
    return [...this.changes.values()].flatMap((list) => list.slice(1));
  }

  /** The member's permissions in a state; undefined for a non-member. */
  permissionsOf(state: OrgState, userId: string): string[] | undefined {
    const roles = state.members.get(userId);
    return roles && orgPermissionsOf(roles, this.catalog, state.roles);
  }

  /**
   * The states the organization may have been in at some instant of `window`: the one after the last change surely
   * committed before it began, and the one after each change that may have committed during it.
   */
  statesDuring(orgId: string, window: Window): OrgState[] {
    const list = this.history(orgId);
    return list
      .filter((change, k) => change.start < window.end && (k === list.length - 1 || list[k + 1]!.end > window.start))
      .map((change) => change.after);
  }

  /** Whether the claim equals the member's standing in one of the states the request may have read. */
  claimMatches(userId: string, claim: NonNullable<TokenRecord["org"]>, window: Window): boolean {
    const roles = [...claim.roles].sort().join();
    const permissions = [...claim.permissions].sort().join();
    return this.statesDuring(claim.id, window).some(
      (state) =>
        state.members.get(userId)?.join() === roles && this.permissionsOf(state, userId)?.join() === permissions,
    );
  }

  /** Whether the user may have been no member of the organization at some instant of the window. */
  mayHaveBeenAbsent(orgId: string, userId: string, window: Window): boolean {
    return this.statesDuring(orgId, window).some((state) => !state.members.has(userId));
  }

  /**
   * A change that may have committed after the token was issued and stops it at the edge: one of its holder's role
   * changes or removals in any organization (their grants version), or a role redefinition in the organization it
   * names (that organization's version).
   */
  mayBeStale(token: TokenRecord, before: number): Change | undefined {
    return this.all().find(
      (change) =>
        change.end > token.start &&
        change.start < before &&
        (((change.kind === "roles" || change.kind === "remove") && change.userId === token.userId) ||
          (change.kind === "define" && change.orgId === token.org?.id)),
    );
  }

  /**
   * A change surely made after the token was issued, answered more than `boundMs` before `verifyStart`, that stops
   * the token at the edge (as mayBeStale): a 200 for it then means the edge let an older token through.
   */
  surelyStale(token: TokenRecord, verifyStart: number, boundMs: number): Change | undefined {
    return this.all().find(
      (change) =>
        change.start >= token.end &&
        change.end + boundMs <= verifyStart &&
        (((change.kind === "roles" || change.kind === "remove") && change.userId === token.userId) ||
          (change.kind === "define" && change.orgId === token.org?.id)),
    );
  }

  /**
   * The change that makes a 200 for `permission` with this token a violation: sent after the token was issued, it
   * left the holder without the permission in the token's organization, and was answered more than `boundMs`
   * before the verify was sent.
   */
  violation(token: TokenRecord, permission: string, verifyStart: number, boundMs: number): Change | undefined {
    if (!token.org) return undefined;
    return this.history(token.org.id).find(
      (change) =>
        change.start >= token.end &&
        change.end + boundMs <= verifyStart &&
        !(this.permissionsOf(change.after, token.userId) ?? []).includes(permission),
    );
  }

  /** The permissions the token claims that its holder no longer holds in the state. */
  removedSince(token: TokenRecord, state: OrgState): string[] {
    if (!token.org) return [];
    const now = this.permissionsOf(state, token.userId) ?? [];
    return token.org.permissions.filter((permission) => !now.includes(permission));
  }
}

/** A state with one member's roles replaced (sorted), or the member gone (undefined). */
export function withMember(state: OrgState, userId: string, roles: readonly string[] | undefined): OrgState {
  const members = new Map(state.members);
  if (roles === undefined) members.delete(userId);
  else members.set(userId, [...roles].sort());
  return { members, roles: state.roles };
}

/** A state with a custom role (re)defined. */
export function withRole(state: OrgState, name: string, permissions: readonly string[]): OrgState {
  const roles = new Map(state.roles);
  roles.set(name, [...new Set(permissions)].sort());
  return { members: state.members, roles };
}

/** The `org` claim of an access token (its payload, unverified: the service verified it). */
export function orgClaimOf(accessToken: string): TokenRecord["org"] {
  const payload = accessToken.split(".")[1];
  if (!payload) return undefined;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { org?: TokenRecord["org"] };
  return claims.org;
}
