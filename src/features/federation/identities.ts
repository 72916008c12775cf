// A signed-in user's provider identities (/me/identities): listing, linking
// and unlinking. Linking starts a flow bound to the caller; its callback
// always ends at the app with a code, and only the same caller's
// POST /me/identities/complete decides and links the identity, so a link
// URL opened in someone else's browser links nothing. Unlinking refuses the
// account's last way in (last_credential).
import type { Clock } from "../../core/clock";
import type { RequestOrigin } from "../../core/domain";
import { sha256Hex } from "../../core/encoding";
import { AccountLinkRequired, InvalidOneTimeToken, LastCredential, NotFound } from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { Stores } from "../../stores";
import { provenHolder } from "../accounts/proven-holder";
import { noticeLinked, type LinkingDeps } from "./linking";
import { pkceChallenge } from "./flows";
import type { FederationService } from "./service";
import type { IdentityRecord } from "./store";

export type IdentityDeps = {
  stores: Pick<Stores, "users" | "sessions" | "federation">;
  clock: Clock;
  outbox: LinkingDeps["outbox"];
  federation: Pick<FederationService, "provider" | "start">;
  /** Whether email sign-in is on: one more way in when the last identity would go. */
  emailSignIn: boolean;
};

/** The signed-in caller, as the self-service routes name them. */
export type IdentityActor = { userId: string; sessionId: string; origin: RequestOrigin };

export class IdentityService {
  constructor(private readonly deps: IdentityDeps) {}

  list(userId: string): Promise<IdentityRecord[]> {
    return this.deps.stores.federation.listIdentities(userId);
  }

  /** POST /me/identities/{provider}: a flow bound to the caller (its address proven); the provider URL. */
  async startLink(
    actor: IdentityActor,
    providerId: string,
    input: { redirectTo: string; codeChallenge: string; state?: string },
    requestUrl: string,
  ): Promise<{ url: string }> {
    const provider = this.deps.federation.provider(providerId);
    await provenHolder(this.deps, actor, "Verify your email address before linking a sign-in provider.");
    const { url } = await this.deps.federation.start(provider, { ...input, requestUrl }, actor.userId);
    return { url };
  }

  /**
   * POST /me/identities/complete: the caller's own link code with its
   * verifier (anything else spends nothing: invalid_one_time_token), then
   * the identity is linked, unless it belongs to another account.
   */
  async completeLink(actor: IdentityActor, input: { code: string; codeVerifier: string }): Promise<IdentityRecord> {
    const { stores, clock } = this.deps;
    if (input.code.length > 128 || input.codeVerifier.length > 128) throw new InvalidOneTimeToken();
    const spent = await stores.federation.spendLinkCode(
      sha256Hex(input.code),
      actor.userId,
      pkceChallenge(input.codeVerifier),
      clock(),
    );
    if (!spent?.identity)
      throw new InvalidOneTimeToken(new Error("not the caller's live link code, or wrong verifier"));
    const { identity } = spent;
    const existing = await stores.federation.findIdentity(identity.provider, identity.issuer, identity.subject);
    if (existing) {
      if (existing.userId !== actor.userId) throw new AccountLinkRequired("This identity belongs to another account.");
      return existing;
    }
    const linked = await stores.federation.linkIdentity(
      { ...identity, userId: actor.userId },
      { actorId: actor.userId, sessionId: actor.sessionId, origin: actor.origin, at: clock() },
    );
    if (!linked) throw new AccountLinkRequired("This identity belongs to another account.");
    const user = await stores.users.findById(actor.userId);
    if (user?.emailVerified) await noticeLinked(this.deps, user, { name: this.providerName(identity.provider) });
    return linked;
  }

  /** A provider's display name; its id when it is no longer configured. */
  private providerName(id: string): string {
    try {
      return this.deps.federation.provider(id).name;
    } catch {
      return id;
    }
  }

  /** DELETE /me/identities/{id}: 404 unless the caller's; 409 last_credential when it is their only way in. */
  async unlink(actor: IdentityActor, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFound();
    const outcome = await this.deps.stores.federation.unlinkIdentity(
      id,
      actor.userId,
      { emailSignIn: this.deps.emailSignIn },
      { actorId: actor.userId, sessionId: actor.sessionId, origin: actor.origin, at: this.deps.clock() },
    );
    if (outcome === "absent") throw new NotFound();
    if (outcome === "last_credential") throw new LastCredential();
  }
}
