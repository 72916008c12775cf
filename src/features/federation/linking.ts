// Which account a provider identity signs in to, as the contract's linking
// rules say, written once for the browser flow and native ID tokens:
//
// 1. An identity already linked: its account (a disabled one fails as a
//    wrong password does, through the sign-in attempt's active-user check).
// 2. A new identity whose provider asserts a verified email and is trusted
//    for email: a new account (email verified, no password); or the account
//    with that email if it is verified (and its address is told); or, if
//    that account's email was never verified, the provider's proof claims
//    the address (UserStore.claimByProof: the unproven holder's sessions,
//    factors, identities and password end) and the identity is linked.
// 3. Otherwise: account_link_required when an account has that email, else a
//    new account with the email unverified.
import type { Clock } from "../../core/clock";
import type { RequestOrigin, UserRecord } from "../../core/domain";
import { AccountLinkRequired, describeError, IdentityProviderError } from "../../core/errors";
import type { Stores, UnitOfWork } from "../../stores";
import type { AuditLog } from "../activity/store";
import type { UserStore } from "../accounts/store";
import type { MailOutbox } from "../mail/store";
import { endedSessions, type RevocationList } from "../sessions/store";
import { verifyFirstFactor, type FirstFactorVerifier } from "../sign-in/attempt";
import type { ProviderAssertion, ProviderSettings } from "./protocol";
import type { FederationStore, IdentityRecord, ProviderIdentity } from "./store";

export type LinkingDeps = {
  stores: {
    users: Pick<UserStore, "findById" | "findByEmail">;
    federation: FederationStore;
    audit: Pick<AuditLog, "record">;
  };
  unitOfWork: UnitOfWork;
  clock: Clock;
  revocations: Pick<RevocationList, "publish">;
  outbox: MailOutbox;
  /** Apple's refresh token sealed for the user; null when there is none, or no key to seal it with. */
  seal(refreshToken: string | null, userId: string): Promise<string | null>;
  /** A sealed refresh token opened for its user; rejects when it was not sealed for them under this key. */
  unseal(sealed: string, userId: string): Promise<string>;
};

/** The account a provider sign-in opens, whether this sign-in created it, and the identity it came through. */
export type Decided = { user: UserRecord; isNewUser: boolean; identity: IdentityRecord };

/**
 * The provider proved who the user is: as a first factor it is right. What
 * the attempt still checks is the account (exists and active), and it
 * writes the auth.login_failed row when it is not.
 */
export const PROVIDER_PROOF: FirstFactorVerifier = { verify: async () => true };

function identityOf(assertion: ProviderAssertion): ProviderIdentity {
  const { provider, issuer, subject, email, emailVerified, name } = assertion;
  return { provider, issuer, subject, email, emailVerified, name };
}

/** The account `assertion` signs in to, by the linking rules; throws account_link_required or invalid_credentials. */
export async function accountFor(
  deps: LinkingDeps,
  provider: ProviderSettings,
  assertion: ProviderAssertion,
  origin: RequestOrigin,
  retried = false,
): Promise<Decided> {
  const { stores, clock } = deps;
  const attempt = { audit: stores.audit, clock };
  const existing = await stores.federation.findIdentity(assertion.provider, assertion.issuer, assertion.subject);
  if (existing) {
    const user = await verifyFirstFactor(attempt, await stores.users.findById(existing.userId), PROVIDER_PROOF, origin);
    await stores.federation.touchIdentity(existing.id, clock(), await deps.seal(assertion.appleRefreshToken, user.id));
    return { user, isNewUser: false, identity: existing };
  }
  const email = assertion.email;
  if (!email) throw new IdentityProviderError("the provider shared no email address");
  const trusted = provider.trustEmail && assertion.emailVerified;
  const holder = await stores.users.findByEmail(email);
  // A race (the same identity or address taken meanwhile) is decided again, once, from the start.
  const again = () => {
    if (retried) throw new IdentityProviderError("the account changed during sign-in; try again");
    return accountFor(deps, provider, assertion, origin, true);
  };

  if (!holder) {
    const created = await stores.federation.createAccount({
      email,
      name: assertion.name,
      emailVerified: trusted,
      identity: { ...identityOf(assertion), refreshTokenCiphertext: null },
      audit: { origin, at: clock() },
    });
    if (!created) return again();
    const sealed = await deps.seal(assertion.appleRefreshToken, created.user.id);
    if (sealed) await stores.federation.touchIdentity(created.identity.id, clock(), sealed);
    return { user: created.user, isNewUser: true, identity: created.identity };
  }
  if (!trusted) throw new AccountLinkRequired();

  // Linking into an account is signing in to it: a disabled one answers as a wrong password does.
  const user = await verifyFirstFactor(attempt, holder, PROVIDER_PROOF, origin);
  const newIdentity = {
    ...identityOf(assertion),
    userId: user.id,
    refreshTokenCiphertext: await deps.seal(assertion.appleRefreshToken, user.id),
  };
  const audit = { actorId: user.id, sessionId: null, origin, at: clock() };
  if (user.emailVerified) {
    const linked = await stores.federation.linkIdentity(newIdentity, audit);
    if (!linked) return again();
    await noticeLinked(deps, user, provider);
    return { user, isNewUser: false, identity: linked };
  }
  // The first proof of the address claims it: whoever registered it unproven loses everything they set up.
  const outcome = await deps.unitOfWork.run(async (tx: Stores) => {
    const ended = await tx.users.claimByProof({
      userId: user.id,
      proof: "federated_sign_in",
      endPassword: true,
      origin,
      at: audit.at,
    });
    const linked = await tx.federation.linkIdentity(newIdentity, audit);
    return { ended, linked };
  });
  if (outcome.ended?.length) await deps.revocations.publish(endedSessions(outcome.ended.map((session) => session.id)));
  if (!outcome.linked) return again();
  const claimed = await stores.users.findById(user.id);
  return { user: claimed ?? user, isNewUser: false, identity: outcome.linked };
}

/** The notice to a verified address that a provider was linked; the link stands whether or not the queue takes it. */
export async function noticeLinked(
  deps: Pick<LinkingDeps, "outbox">,
  user: Pick<UserRecord, "id" | "email">,
  provider: Pick<ProviderSettings, "name">,
): Promise<void> {
  await deps.outbox
    .enqueue({
      kind: "mail",
      template: "identity_linked_notice",
      to: user.email,
      userId: user.id,
      provider: provider.name,
    })
    .catch((error: unknown) =>
      console.error(JSON.stringify({ level: "error", msg: "link notice not queued", error: describeError(error) })),
    );
}
