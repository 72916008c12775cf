// The organizations feature's port: organizations, their members and custom
// roles, and invitations by email (docs/organizations.md).
//
// A store method is one statement (one round trip) unless it says otherwise.
// The service runs every change inside a transaction and writes its audit
// row there (AuditLog.record with `orgId`). Changes that must reach tokens at
// the edge raise a version in the same statement: a member's change raises
// that user's grants_version, a role's redefinition or deletion the
// organization's version (the database's triggers log both to the
// revocation feed).
import type { KeysetCursor, Page } from "../../core/domain";

/** The audit events this feature writes (each with `orgId` in metadata and in the row's org_id). */
export type OrganizationAuditEvent =
  | "org.created"
  | "org.updated"
  | "org.deleted"
  | "org.member_added"
  | "org.member_removed"
  | "org.member_roles_changed"
  | "org.role_defined"
  | "org.role_deleted"
  | "org.invitation_sent"
  | "org.invitation_revoked"
  | "org.invitation_accepted";

export type OrganizationRecord = { id: string; name: string; slug: string; createdAt: Date };

/**
 * A member's standing in one organization as of the read: the organization (with its version), the member's roles,
 * and every custom role of the organization (name -> permissions), from which the service computes permissions.
 */
export type OrganizationAccess = {
  org: OrganizationRecord & { version: number };
  roles: string[];
  customRoles: Map<string, string[]>;
};

export type MemberRecord = {
  user: { id: string; email: string; name: string | null };
  roles: string[];
  joinedAt: Date;
};

export type InvitationRecord = { id: string; orgId: string; email: string; roles: string[]; expiresAt: Date };

/** A pending invitation found by its token's hash (locked), with the organization it is for. */
export type PendingInvitation = InvitationRecord & { org: OrganizationRecord };

/** A user's membership as account deletion sees it (see lockMembershipsOf). */
export type MembershipAtDeletion = {
  orgId: string;
  slug: string;
  version: number;
  owner: boolean;
  otherMembers: number;
  otherOwners: number;
};

export interface OrganizationStore {
  /**
   * Locks the user's row (FOR NO KEY UPDATE), so two creations or acceptances of one user queue, and answers how many
   * organizations the user belongs to.
   */
  lockMembershipCount(userId: string): Promise<number>;
  /**
   * Creates the organization with `ownerId` as its `owner`; undefined (nothing written) when the slug is taken.
   * One statement.
   */
  create(input: { name: string; slug: string; ownerId: string; at: Date }): Promise<OrganizationRecord | undefined>;
  /** The caller's organizations with their roles there, oldest membership first. */
  listFor(userId: string): Promise<{ org: OrganizationRecord; roles: string[] }[]>;
  /**
   * The user's access to the organization, or undefined when either is absent or the user is not a member. With
   * `lock`, the organization's row is locked (FOR NO KEY UPDATE): every change to one organization's members, roles
   * and invitations queues behind the others, so the rules (last owner, caps, roles held) read a settled state.
   */
  access(orgId: string, userId: string, options?: { lock?: boolean }): Promise<OrganizationAccess | undefined>;
  /** Renames and re-slugs (either may be absent); undefined when the new slug is taken (nothing written). */
  update(orgId: string, change: { name?: string; slug?: string }, at: Date): Promise<OrganizationRecord | undefined>;
  /** Deletes the organization: members, custom roles and invitations go with it; its audit rows stay. */
  delete(orgId: string): Promise<void>;
  /** A page of members, oldest membership first (keyset on joined_at, user id). */
  members(orgId: string, page: { cursor?: KeysetCursor; limit: number }): Promise<Page<MemberRecord>>;
  /** One member, or undefined. */
  member(orgId: string, userId: string): Promise<MemberRecord | undefined>;
  /** How many members hold `owner`, the given user aside. */
  otherOwners(orgId: string, userId: string): Promise<number>;
  /**
   * Makes the member's roles exactly `roles` and raises the user's grants_version (their tokens stop at the edge):
   * the new version.
   */
  setMemberRoles(orgId: string, userId: string, roles: readonly string[], at: Date): Promise<number>;
  /**
   * Removes the member, clears the organization from their sessions' active organization, and raises the user's
   * grants_version: the new version.
   */
  removeMember(orgId: string, userId: string, at: Date): Promise<number>;
  /** Adds a member with `roles`; false when already one (nothing written). */
  addMember(orgId: string, userId: string, roles: readonly string[], at: Date): Promise<boolean>;
  /**
   * Creates or replaces a custom role; when it existed with other permissions, raises the organization's version.
   * `before`: its permissions (sorted), null when new; `version`: the organization's version after.
   */
  defineRole(
    orgId: string,
    name: string,
    permissions: readonly string[],
    at: Date,
  ): Promise<{ before: string[] | null; version: number }>;
  /**
   * Whether the role is in use: held by a member, or granted by a pending invitation (as of `at`).
   */
  roleInUse(orgId: string, name: string, at: Date): Promise<{ members: number; invitations: number }>;
  /** Deletes a custom role and raises the organization's version: the new version, or undefined when absent. */
  deleteRole(orgId: string, name: string): Promise<number | undefined>;
  /** Pending invitations (neither accepted nor revoked, not expired at `at`), oldest first. */
  pendingInvitations(orgId: string, at: Date): Promise<InvitationRecord[]>;
  /** How many pending invitations the organization has at `at`. */
  countPendingInvitations(orgId: string, at: Date): Promise<number>;
  /**
   * Stores an invitation (its token as a hash only); a pending one to the same address in this organization ends
   * (revoked), so one link is live per address. Its id.
   */
  invite(input: NewInvitation): Promise<{ id: string; replaced: number }>;
  /** Revokes a pending invitation of the organization; false when there is none with that id. */
  revokeInvitation(orgId: string, invitationId: string, at: Date): Promise<boolean>;
  /** The pending invitation with this token hash at `at`, its row locked, or undefined. */
  findPendingInvitation(tokenHash: string, at: Date): Promise<PendingInvitation | undefined>;
  /** Marks the invitation accepted by the user. */
  markInvitationAccepted(invitationId: string, userId: string, at: Date): Promise<void>;
  /**
   * For account deletion: the user's memberships, each organization's row locked (in id order), with what the last
   * owner rule needs.
   */
  lockMembershipsOf(userId: string): Promise<MembershipAtDeletion[]>;
}

/** An invitation to store: its link's token as a hash only. */
export type NewInvitation = {
  orgId: string;
  email: string;
  roles: readonly string[];
  tokenHash: string;
  invitedBy: string;
  expiresAt: Date;
  at: Date;
};
