// The account lifecycle by email (docs/account-lifecycle.md):
// verification, password reset, email change, profile edits and deletion.
// Links are one-time tokens (one-time-tokens.ts) mailed through the queue:
// a request only enqueues, so a mail provider's outage or speed never shows
// in an answer. Forgot-password does no lookup at all: it enqueues the same
// job for every address, and the queue consumer (mintPasswordReset) decides
// whether there is an account to mail, so the answer is the same in status,
// body, headers and time for unknown, disabled and existing accounts.
//
// v3: an email change is asked for only from an account whose address is
// proven, and answers the same for a free and a taken address; a password
// reset of an account whose address was never proven is the first proof of
// it, and ends what its unproven holder set up (UserStore.claimByProof).
import { sha256Hex } from "../../core/encoding";
import type { Clock } from "../../core/clock";
import { EmailTaken, InvalidOneTimeToken, InvalidToken, RateLimited, ValidationFailed } from "../../core/errors";
import { acceptableNewPassword, proveCurrentPassword } from "../accounts/credentials";
import { isActive, requireActiveUser } from "../sign-in/active-user";
import { accountThrottleKey } from "../sign-in/attempt";
import { linkFor, MAX_LINKS_PER_HOUR, mintOneTimeToken, hashOneTimeToken } from "./one-time-tokens";
import type { BreachedPasswordChecker, PasswordHasher } from "../accounts/passwords";
import { requireProvenHolder } from "../accounts/proven-holder";
import { type EndedSession, endedSessions, orgChanged, type RevocationList } from "../sessions/store";
import { releaseOrganizationsOf } from "../organizations/account-deletion";
import { hasPassword, type KeyedRateLimit, type RequestOrigin, type UserRecord } from "../../core/domain";
import type { MailJob, MailOutbox } from "../mail/store";
import type { OneTimePurpose } from "./store";
import type { Stores, UnitOfWork } from "../../stores";

export type LifecycleDeps = {
  stores: Pick<Stores, "users" | "oneTimeTokens" | "throttles" | "audit" | "sessions">;
  unitOfWork: UnitOfWork;
  settings: { loginMaxFailures: number; mail: { appUrl: string } };
  clock: Clock;
  hasher: PasswordHasher;
  breached: Pick<BreachedPasswordChecker, "isBreached">;
  outbox: MailOutbox;
  revocations: Pick<RevocationList, "publish">;
  /**
   * Per (normalised email, requesting network) on forgot-password (AUTH_EMAIL_RATE_LIMITER), whether or not the
   * account exists.
   */
  forgotLimit: KeyedRateLimit;
  /** After an account is deleted: its provider grants (Apple's) revoked at the provider. */
  providerGrants?: ProviderGrants;
};

/**
 * Revokes a deleted account's grants at its providers (Apple requires it):
 * after the deletion commits, never failing it.
 */
export type ProviderGrants = { revoke(userId: string, sealed: readonly string[]): Promise<void> };

/**
 * What a reset request remembers of the network it came from (the per-network
 * key of the edge limits: an IPv4 address, an IPv6 /64): a SHA-256 in hex, so
 * neither the queue nor one_time_tokens holds the address. No network (a
 * local tool) is one network of its own.
 */
export function requesterNetworkHash(network: string | null): string {
  return sha256Hex(`reset-requester:${network ?? "unknown"}`);
}

/** The queue consumer acts for nobody in particular. */
const QUEUE_ORIGIN: RequestOrigin = { ip: null, userAgent: null };

export class AccountLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  /** Mails a new verification link, unless the address is verified already; at most MAX_LINKS_PER_HOUR an hour. */
  async sendVerification(userId: string, sessionId: string, origin: RequestOrigin): Promise<void> {
    const user = await this.activeUser(userId);
    if (user.emailVerified) return;
    const job = await this.issueLink(user, "email_verification", { actorId: user.id, sessionId, origin });
    if (!job) return;
    await this.deps.outbox.enqueue(job);
  }

  async verifyEmail(token: string, origin: RequestOrigin): Promise<UserRecord> {
    return this.spending(token, "email_verification", async (tx, spent, at) => {
      await tx.users.markEmailVerified(spent.userId, at);
      await tx.audit.record({ event: "user.email_verified", userId: spent.userId, actorId: spent.userId, origin, at });
    });
  }

  /**
   * The same work for every address: the limit per (address, requesting
   * network), then one job on the queue, carrying a hash of that network.
   * What the consumer makes of it is never seen here.
   *
   * Both limits count per requesting network so that a stranger cannot spend
   * the owner's: a stranger's requests use up only the stranger's network's
   * budget, and the owner asking from another network always gets a
   * working link. A stranger can still replace a link (a new one ends the
   * earlier ones); the owner then asks again.
   */
  async forgotPassword(email: string, network: string | null): Promise<void> {
    const requester = requesterNetworkHash(network);
    const limit = await this.deps.forgotLimit.take(`${accountThrottleKey(email)}:${requester}`);
    if (!limit.allowed) throw new RateLimited(limit.retryAfterSeconds);
    await this.deps.outbox.enqueue({ kind: "password_reset_request", email, network: requester });
  }

  /**
   * For the queue consumer: an active account with this address gets a
   * reset token (ending its earlier ones) and the mail that carries it;
   * any other address gets nothing, and so does one that has had
   * MAX_LINKS_PER_HOUR links this hour asked for from the same network
   * (`network`, the job's hash; a job without one counts as the unknown
   * network's).
   */
  async mintPasswordReset(email: string, network?: string): Promise<MailJob | undefined> {
    const user = await this.deps.stores.users.findByEmail(email);
    if (!isActive(user)) return undefined;
    return this.issueLink(
      user,
      "password_reset",
      { actorId: null, origin: QUEUE_ORIGIN },
      { requesterNetwork: network ?? requesterNetworkHash(null) },
    );
  }

  /**
   * Sets the password (the register policy), and in one transaction: marks
   * the email verified (the link proved it), ends every session and the
   * pending email change, clears the account's and its devices' throttle
   * buckets. When the address had never been proven, the reset is its first
   * proof: everything the unproven holder set up ends as well (factors,
   * passkeys, links, device tokens: UserStore.claimByProof), so whoever
   * registered the owner's address first keeps nothing. The sessions'
   * access tokens stop at the edge at once.
   */
  async resetPassword(input: { token: string; newPassword: string }, origin: RequestOrigin): Promise<void> {
    // Judged before the token is spent: a refused password leaves the link usable.
    const password = await acceptableNewPassword(this.deps.breached, input.newPassword, "newPassword");
    const passwordHash = await this.deps.hasher.hash(password);
    let ended: EndedSession[] = [];
    await this.spending(input.token, "password_reset", async (tx, spent, at) => {
      // The reset sets a password of its own: the claim keeps the column for it.
      const claimed =
        (await tx.users.claimByProof({
          userId: spent.userId,
          proof: "password_reset",
          endPassword: false,
          origin,
          at,
        })) ?? [];
      await tx.users.setPasswordHash(spent.userId, passwordHash, at);
      await tx.users.markEmailVerified(spent.userId, at);
      ended = [
        ...claimed,
        ...(await tx.sessions.endAllForUser(spent.userId, {
          reason: "password_reset",
          event: "session.revoked",
          actorId: spent.userId,
          origin,
          at,
        })),
      ];
      await tx.throttles.clearAccount(accountThrottleKey(spent.email));
      await tx.audit.record({
        event: "user.password_reset",
        userId: spent.userId,
        actorId: spent.userId,
        origin,
        metadata: { endedSessions: ended.length },
        at,
      });
    });
    await this.deps.revocations.publish(endedSessions(ended.map((session) => session.id)));
  }

  /**
   * Needs a proven address (else email_not_verified: a stranger who
   * registered the address must not move the account elsewhere before its
   * owner claims it) and the current password (counted in the caller's
   * session's bucket). The same work and answer for every new address, so
   * the request tells nothing about who holds it: the request is recorded as
   * a link of the hourly limit (ending the earlier one) and the old address
   * gets a notice; a free address gets the confirmation link, while an
   * address in use (the caller's own too) gets a mail saying someone tried
   * to use it, and its recorded link is stored ended, never mailed. The address
   * changes only when the link is followed.
   */
  async requestEmailChange(
    input: { userId: string; sessionId: string; newEmail: string; currentPassword: string },
    origin: RequestOrigin,
  ): Promise<void> {
    const { stores, clock } = this.deps;
    const user = await this.activeUser(input.userId);
    await requireProvenHolder(
      stores.sessions,
      user,
      input.sessionId,
      clock(),
      "Verify your email address before changing it.",
    );
    const throttleKey = await proveCurrentPassword(this.deps, user, input.currentPassword, {
      sessionId: input.sessionId,
      origin,
    });
    // The right password: the session's earlier misses no longer count.
    await stores.throttles.clear(throttleKey);
    const holder = input.newEmail === user.email ? user : await stores.users.findByEmail(input.newEmail);
    const confirmation = await this.issueLink(
      user,
      "email_change",
      { actorId: user.id, sessionId: input.sessionId, origin },
      { newEmail: input.newEmail, endedReason: holder ? "address_in_use" : undefined },
    );
    if (!confirmation) return;
    await this.deps.outbox.enqueue(
      holder ? { kind: "mail", template: "email_in_use_notice", to: input.newEmail, userId: holder.id } : confirmation,
    );
    if (holder !== user)
      await this.deps.outbox.enqueue({
        kind: "mail",
        template: "email_change_notice",
        to: user.email,
        userId: user.id,
        newEmail: input.newEmail,
      });
  }

  /**
   * The new address, verified; 409 when an account took it since the link
   * was sent (the link stays unspent). The old address is told, in the same
   * transaction: a change whose notice cannot be queued does not happen (the
   * link stays unspent and the caller may retry), so an owner never loses
   * the address unwarned.
   */
  async confirmEmailChange(token: string, origin: RequestOrigin): Promise<UserRecord> {
    return this.spending(token, "email_change", async (tx, spent, at) => {
      if (!spent.newEmail || !(await tx.users.changeEmail(spent.userId, spent.newEmail, at))) throw new EmailTaken();
      await tx.audit.record({ event: "user.email_changed", userId: spent.userId, actorId: spent.userId, origin, at });
      await this.deps.outbox.enqueue({
        kind: "mail",
        template: "email_changed_notice",
        to: spent.email,
        userId: spent.userId,
        newEmail: spent.newEmail,
      });
    });
  }

  async updateProfile(
    userId: string,
    sessionId: string,
    changes: { name: string | null },
    origin: RequestOrigin,
  ): Promise<UserRecord> {
    return this.deps.unitOfWork.run(async (tx) => {
      const at = this.deps.clock();
      const user = await tx.users.updateName(userId, changes.name, at);
      if (!user) throw new InvalidToken({ cause: new Error("user no longer exists") });
      await tx.audit.record({
        event: "user.updated",
        userId,
        actorId: userId,
        sessionId,
        origin,
        metadata: { fields: ["name"] },
        at,
      });
      return user;
    });
  }

  /**
   * Deletes the caller's own account after proving the current password
   * (counted in the caller's session's bucket), when the account has one: an
   * account without a password (a provider's) has only the recent sign-in
   * the route requires. Its sessions' access tokens stop at the edge at
   * once; its audit rows stay; its provider grants are revoked.
   */
  async deleteOwnAccount(
    input: { userId: string; sessionId: string; currentPassword?: string },
    origin: RequestOrigin,
  ): Promise<void> {
    const { clock } = this.deps;
    const user = await this.activeUser(input.userId);
    let throttleKey: string | undefined;
    if (hasPassword(user)) {
      if (input.currentPassword === undefined)
        throw new ValidationFailed([{ path: "currentPassword", message: "Required: the account has a password" }]);
      throttleKey = await proveCurrentPassword(this.deps, user, input.currentPassword, {
        sessionId: input.sessionId,
        origin,
      });
    }
    const { ended, providerGrants, deletedOrgs } = await this.deps.unitOfWork.run(async (tx) => {
      const deleted = await deleteAccountIn(tx, user, {
        actorId: user.id,
        sessionId: input.sessionId,
        origin,
        at: clock(),
      });
      if (throttleKey) await tx.throttles.clear(throttleKey);
      return deleted;
    });
    await this.deps.revocations.publish([
      ...endedSessions(ended.map((session) => session.id)),
      ...orgChanged(deletedOrgs),
    ]);
    if (providerGrants.length > 0) await this.deps.providerGrants?.revoke(user.id, providerGrants);
  }

  /**
   * Mints a token of `purpose` for `user` (its earlier ones end) with its
   * audit row, and the mail that carries it; undefined when the hourly
   * limit (per requesting network, when one is given) is reached for a mail
   * the user did not ask for directly, else 429. With `endedReason` the
   * token is stored already ended: the mail must not be sent.
   */
  private async issueLink(
    user: UserRecord,
    purpose: OneTimePurpose,
    audit: { actorId: string | null; sessionId?: string; origin: RequestOrigin },
    options: { newEmail?: string; requesterNetwork?: string; endedReason?: string } = {},
  ): Promise<MailJob | undefined> {
    const at = this.deps.clock();
    const minted = mintOneTimeToken(purpose, at);
    const event = EVENTS[purpose];
    const issued = await this.deps.stores.oneTimeTokens.issue({
      token: {
        purpose,
        userId: user.id,
        tokenHash: minted.tokenHash,
        email: user.email,
        ...options,
        expiresAt: minted.expiresAt,
      },
      maxPerHour: MAX_LINKS_PER_HOUR,
      audit: { event, ...audit },
      at,
    });
    if (!issued.issued) {
      // Nobody waits on the queue consumer's answer: a reset beyond the limit is simply not sent.
      if (purpose === "password_reset") return undefined;
      throw new RateLimited(issued.retryAfterSeconds);
    }
    const link = linkFor(this.deps.settings.mail.appUrl, purpose, minted.token);
    return { kind: "mail", template: TEMPLATES[purpose], to: options.newEmail ?? user.email, userId: user.id, link };
  }

  /**
   * Spends the token and applies its effect in one transaction: a token
   * that is bad, expired, used or of another purpose answers
   * invalid_one_time_token, and an effect that throws leaves it unspent.
   */
  private async spending(
    token: string,
    purpose: OneTimePurpose,
    effect: (tx: Stores, spent: { userId: string; email: string; newEmail: string | null }, at: Date) => Promise<void>,
  ): Promise<UserRecord> {
    const tokenHash = hashOneTimeToken(token);
    return this.deps.unitOfWork.run(async (tx) => {
      const at = this.deps.clock();
      const spent = await tx.oneTimeTokens.spend({ tokenHash, purpose, at });
      if (!spent) throw new InvalidOneTimeToken(`no live ${purpose} token`);
      await effect(tx, spent, at);
      const user = await tx.users.findById(spent.userId);
      if (!user) throw new InvalidOneTimeToken("user gone");
      return user;
    });
  }

  private async activeUser(userId: string): Promise<UserRecord> {
    // A token whose user is gone or disabled is no longer a valid credential.
    return requireActiveUser(
      this.deps.stores.users,
      userId,
      (reason) => new InvalidToken({ cause: new Error(reason) }),
    );
  }
}

const EVENTS = {
  email_verification: "user.email_verification_sent",
  password_reset: "user.password_reset_requested",
  email_change: "user.email_change_requested",
} as const satisfies Record<OneTimePurpose, string>;

const TEMPLATES = {
  email_verification: "email_verification",
  password_reset: "password_reset",
  email_change: "email_change_confirmation",
} as const satisfies Record<OneTimePurpose, string>;

/**
 * Inside a transaction: first the account's organizations (409 last_owner
 * when it is the last owner of one with other members; one it is the only
 * member of is deleted with it), then ends the user's sessions (session.revoked rows,
 * reason account_deleted), writes user.deleted (ids only, never the
 * address), clears the account's throttle buckets and deletes the user, its
 * roles, sessions, refresh and one-time tokens (the foreign keys cascade).
 * Audit rows have no foreign key: they stay, naming the user by id. Answers
 * the sessions it ended, for the edge, and the account's sealed provider
 * grants (Apple's refresh tokens), read before they go, to revoke once the
 * deletion commits.
 */
export async function deleteAccountIn(
  tx: Stores,
  user: Pick<UserRecord, "id" | "email">,
  by: { actorId: string | null; sessionId?: string; origin: RequestOrigin; at: Date },
): Promise<{ ended: EndedSession[]; providerGrants: string[]; deletedOrgs: { orgId: string; version: number }[] }> {
  const deletedOrgs = await releaseOrganizationsOf(tx, user.id, by);
  const providerGrants = await tx.federation.appleGrantsOf(user.id);
  const ended = await tx.sessions.endAllForUser(user.id, {
    reason: "account_deleted",
    event: "session.revoked",
    actorId: by.actorId,
    origin: by.origin,
    at: by.at,
  });
  await tx.audit.record({
    event: "user.deleted",
    userId: user.id,
    actorId: by.actorId,
    sessionId: by.sessionId ?? null,
    origin: by.origin,
    metadata: { endedSessions: ended.length },
    at: by.at,
  });
  await tx.throttles.clearAccount(accountThrottleKey(user.email));
  await tx.users.delete(user.id);
  return { ended, providerGrants, deletedOrgs };
}
