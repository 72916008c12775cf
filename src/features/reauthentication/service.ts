// Re-authentication (docs/second-factors.md, re-authentication):
// how strong a session's last proof must be for a "recent" operation, what
// would be enough (the `methods` of reauthentication_required), and
// recording a new proof for the same session. Shared by the password and
// code proofs (second-factors.ts) and the passkey proof (passkeys.ts).
//
// A proof is enough when it is fresh (auth_time within REAUTH_MAX_AGE) and,
// for an account with a second factor, made of two factors (`mfa` in amr):
// with a factor enrolled, a password alone, however fresh, is not, so a
// stolen session plus a phished password cannot remove the factor.
import type { Clock } from "../../core/clock";
import { InvalidCredentials, type ReauthMethod } from "../../core/errors";
import { type AuthMethod, hasPassword, type RequestOrigin, type UserRecord } from "../../core/domain";
import type { SessionStore } from "../sessions/store";
import { issueForSameSession, type SameSessionTokens } from "../sessions/token-pair";
import { subjectOf } from "../sign-in/service";
import type { AccessTokens } from "../tokens";

/**
 * An access token for the same session with a new auth_time; the client keeps its refresh token, whose refreshes keep
 * the new proof.
 */
export type Reauthenticated = SameSessionTokens;

/** The account has a second factor: a confirmed TOTP factor or a passkey. */
export function hasSecondFactor(user: Pick<UserRecord, "mfa">): boolean {
  return user.mfa.totp || user.mfa.passkeys > 0;
}

/**
 * What would re-authenticate this account: its first proof (the password; an email code for an account without one)
 * alone without a factor; with factors, each two-factor proof it has.
 */
export function reauthMethodsOf(user: Pick<UserRecord, "mfa" | "passwordHash">): ReauthMethod[] {
  const first = hasPassword(user) ? "password" : "email_code";
  if (!hasSecondFactor(user)) return [first];
  const methods: ReauthMethod[] = [];
  if (user.mfa.totp) methods.push(`${first}+totp`, `${first}+recovery_code`);
  if (user.mfa.passkeys > 0) methods.push("passkey");
  return methods;
}

/** Whether a proof made of `amr` is strong enough for this account (its freshness is checked apart). */
export function strongEnough(user: Pick<UserRecord, "mfa">, amr: readonly string[]): boolean {
  return !hasSecondFactor(user) || amr.includes("mfa");
}

export type ProofDeps = {
  stores: { sessions: Pick<SessionStore, "reauthenticate"> };
  clock: Clock;
  tokens: AccessTokens;
};

/**
 * Records the new proof for the caller's live session (an
 * auth.reauthenticated row) and answers an access token carrying it;
 * invalid_credentials when the session ended meanwhile.
 */
export async function renewSessionProof(
  deps: ProofDeps,
  user: UserRecord,
  caller: { sessionId: string; origin: RequestOrigin },
  amr: AuthMethod[],
): Promise<Reauthenticated> {
  const at = deps.clock();
  const session = await deps.stores.sessions.reauthenticate({
    sessionId: caller.sessionId,
    userId: user.id,
    amr,
    origin: caller.origin,
    at,
  });
  if (!session) throw new InvalidCredentials("session ended");
  // The session keeps the provider that opened it: a new proof changes how, not where, it signed in.
  const proof = { authTime: at, amr, ...(session.idp === undefined ? {} : { idp: session.idp }) };
  // And the organization it acts in, read after the user's grants (`user`), so the token is never richer than both.
  const subject = { ...subjectOf(user, caller.sessionId, proof), ...(session.org ? { org: session.org } : {}) };
  return issueForSameSession(deps.tokens, at, subject, session);
}
