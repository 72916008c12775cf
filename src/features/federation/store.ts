// Federated sign-in's ports: the flows in progress, the one-time codes they
// end with, the native ID tokens' nonces already accepted, and the provider
// identities linked to accounts.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { RequestOrigin, SessionProof, UserRecord } from "../../core/domain";

/** The audit events this feature writes. */
export type FederationAuditEvent = "identity.linked" | "identity.unlinked" | "auth.federated_login";

/** Who did it, from where, when: for the audit rows a store method writes. */
export type IdentityAudit = { actorId: string | null; sessionId: string | null; origin: RequestOrigin; at: Date };

/** A flow between the redirect to the provider and its callback (10 minutes, single use). */
export type NewFlow = {
  /** SHA-256 of the `state` sent to the provider. */
  stateHash: string;
  /** Names the binding cookie (`__Host-sa_oauth_<flowId>`): one per flow, so two tabs work. */
  flowId: string;
  /** SHA-256 of the binding cookie's value; null for a link flow, which only its caller can complete. */
  bindingHash: string | null;
  provider: string;
  codeVerifier: string;
  nonce: string | null;
  redirectTo: string;
  appState: string | null;
  codeChallenge: string;
  linkUserId: string | null;
  expiresAt: Date;
};

export type Flow = Omit<NewFlow, "stateHash">;

/** What a provider said of the user, as linked to an account (never a provider token). */
export type ProviderIdentity = {
  provider: string;
  issuer: string;
  subject: string;
  email: string | null;
  /** The provider asserts the address verified, by that provider's rule (claims.ts). */
  emailVerified: boolean;
  name: string | null;
};

export type IdentityRecord = ProviderIdentity & {
  id: string;
  userId: string;
  createdAt: Date;
  lastUsedAt: Date | null;
};

/** A new link; Apple's refresh token sealed for the user (never in the clear). */
export type NewIdentity = ProviderIdentity & { userId: string; refreshTokenCiphertext: string | null };

export type NewCode = {
  codeHash: string;
  kind: "sign_in" | "link" | "handoff";
  /** sign_in: the account the callback decided; link: the caller the flow is bound to; handoff: the signed-in user. */
  userId: string;
  /** The provider's id; a handoff's: HANDOFF_PROVIDER. */
  provider: string;
  codeChallenge: string;
  isNewUser: boolean;
  /** link only: the identity to link, Apple's refresh token sealed for the caller. */
  identity: (ProviderIdentity & { refreshTokenCiphertext: string | null }) | null;
  /** handoff only: the proof of the hosted pages' session (amr, auth_time, idp), which the app's new session keeps. */
  proof: SessionProof | null;
  expiresAt: Date;
};

export type SpentCode = Omit<NewCode, "codeHash" | "expiresAt">;

/**
 * The outcome of presenting a sign-in code: spent now (first use), or
 * presented again (its earlier exchange's session, if it opened one, to end).
 */
export type CodeSpend = { spent: SpentCode } | { replayed: { userId: string; sessionId: string | null } } | undefined;

/** An account created by a provider sign-in. */
export type NewFederatedAccount = {
  email: string;
  name: string | null;
  /** The provider asserted the address verified (and is trusted for email). */
  emailVerified: boolean;
  identity: Omit<NewIdentity, "userId">;
  audit: Omit<IdentityAudit, "actorId" | "sessionId">;
};

export interface FederationStore {
  createFlow(flow: NewFlow, at: Date): Promise<void>;
  /** Spends a live flow by its state's hash: single use, so of two racing callbacks one wins. */
  spendFlow(stateHash: string, at: Date): Promise<Flow | undefined>;

  createCode(code: NewCode, at: Date): Promise<void>;
  /**
   * Spends a live sign-in or handoff code; a code already spent answers
   * what its exchange opened (replayed), an unknown or expired one undefined.
   */
  spendSignInCode(codeHash: string, at: Date): Promise<CodeSpend>;
  /** After an exchange opened a session: the session a replay of its code ends. */
  recordCodeSession(codeHash: string, sessionId: string): Promise<void>;
  /**
   * Spends a live link code if, and only if, it is `userId`'s and bound to
   * `codeChallenge`; else nothing is spent (a refused completion spends nothing).
   */
  spendLinkCode(codeHash: string, userId: string, codeChallenge: string, at: Date): Promise<SpentCode | undefined>;

  /** Records a native ID token's nonce; false when it was accepted before. */
  acceptNonce(nonceHash: string, expiresAt: Date, at: Date): Promise<boolean>;

  findIdentity(provider: string, issuer: string, subject: string): Promise<IdentityRecord | undefined>;
  /** A sign-in through it: when, and Apple's newest refresh token, if one came. */
  touchIdentity(id: string, at: Date, refreshTokenCiphertext: string | null): Promise<void>;
  /**
   * Links an identity with an identity.linked row; undefined (nothing
   * written) when that identity is linked already (to anyone).
   */
  linkIdentity(identity: NewIdentity, audit: IdentityAudit): Promise<IdentityRecord | undefined>;
  /**
   * A new account (no password, the default role) with its identity, and
   * user.registered and identity.linked rows, at once; undefined (nothing
   * written) when the email or the identity is taken meanwhile.
   */
  createAccount(input: NewFederatedAccount): Promise<{ user: UserRecord; identity: IdentityRecord } | undefined>;
  /** The user's identities, oldest first. */
  listIdentities(userId: string): Promise<IdentityRecord[]>;
  /**
   * Unlinks one of the user's identities with an identity.unlinked row,
   * unless it is the account's last way in (no password, no passkey, no
   * other identity, and `emailSignIn` off): decided in the statement.
   */
  unlinkIdentity(
    id: string,
    userId: string,
    rule: { emailSignIn: boolean },
    audit: IdentityAudit,
  ): Promise<"unlinked" | "absent" | "last_credential">;
  /** The sealed Apple refresh tokens of the user's identities, to revoke before the account goes. */
  appleGrantsOf(userId: string): Promise<string[]>;
}
