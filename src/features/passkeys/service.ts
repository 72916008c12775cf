// Passkeys (docs/second-factors.md; WebAuthn Level 2 through
// @simplewebauthn/server, imported on first use so no other request pays for
// parsing it). Every ceremony's challenge is minted here (sign-in/challenges.ts),
// stored server-side as its hash for 5 minutes and spent once: the handler
// reads the challenge the browser signed from clientDataJSON and spends that
// row before verifying, so a replayed response finds nothing to spend.
// Credentials are discoverable and user verification is required, so a
// passkey signs in on its own as two factors, something held and the PIN or
// biometric that unlocked it: amr ["hwk","mfa"] (["hwk"] alone would read as
// one factor to a relying party). It also completes a password sign-in as
// its second factor (["pwd","hwk","mfa"]), and re-authenticates the caller's
// session as a two-factor proof (["hwk","mfa"]) for a challenge minted for
// that caller alone. v3: a passkey is added only to an account whose
// address is proven (email_not_verified).
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import type { Clock } from "../../core/clock";
import { EmailNotVerified, InvalidCredentials, NotFound, ValidationFailed } from "../../core/errors";
import { isUuid } from "../../core/ids";
import { requireActiveUser } from "../sign-in/active-user";
import {
  admitPendingSignIn,
  completePendingSignIn,
  pendingDepsOf,
  recordFailedFactor,
  recordFailedReproof,
  resumePendingSignIn,
} from "../sign-in/attempt";
import type { DeviceInfo, RequestOrigin, UserRecord } from "../../core/domain";
import type { FactorAudit } from "../mfa/store";
import type { PasskeyCredential, PasskeyRecord } from "./store";
import type { Stores } from "../../stores";
import { provenHolder } from "../accounts/proven-holder";
import { openSignedInSession, type LoggedIn, type SignInDeps } from "../sign-in/service";
import { renewSessionProof, type Reauthenticated } from "../reauthentication/service";
import { base64url, fromBase64url } from "../../core/encoding";
import { challengeKeyHash, mintWebAuthnChallenge } from "../sign-in/challenges";
import { ENROLMENT_NEEDS_VERIFIED_EMAIL, type FactorActor } from "../mfa/service";

export type WebAuthnSettings = { rpId: string; rpName: string; origins: string[] };

export type PasskeyDeps = SignInDeps & {
  stores: Pick<Stores, "users" | "passkeys" | "challenges" | "throttles" | "audit" | "sessions">;
  settings: SignInDeps["settings"] & {
    loginMaxFailures: number;
    requireVerifiedEmail: boolean;
    webauthn: WebAuthnSettings;
  };
  clock: Clock;
};

/** Who is changing their own passkeys, from where: the same caller as for the other factors. */
export type PasskeyActor = FactorActor;

const webauthn = () => import("@simplewebauthn/server");

/** The challenge a response was made for, as its clientDataJSON says; undefined when it says nothing readable. */
function signedChallenge(response: { response?: { clientDataJSON?: unknown } }): string | undefined {
  const encoded = response.response?.clientDataJSON;
  if (typeof encoded !== "string" || encoded.length > 4096) return undefined;
  try {
    const json = JSON.parse(new TextDecoder().decode(fromBase64url(encoded))) as { challenge?: unknown };
    return typeof json.challenge === "string" ? json.challenge : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The user a response's userHandle names (the id the registration options gave); undefined when it is no base64url
 * text.
 */
function handleUser(handle: unknown): string | undefined {
  if (typeof handle !== "string" || handle.length > 256) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64url(handle));
  } catch {
    return undefined;
  }
}

/**
 * The transports the client claims (its JSON, passed through by the verifier): only the names WebAuthn defines, each
 * once.
 */
const TRANSPORTS: ReadonlySet<string> = new Set(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);
function knownTransports(claimed: unknown): string[] {
  return Array.isArray(claimed)
    ? [...new Set(claimed.filter((t): t is string => typeof t === "string" && TRANSPORTS.has(t)))]
    : [];
}

const refusedResponse = (message: string, cause?: unknown) =>
  Object.assign(new ValidationFailed([{ path: "response", message }], "The passkey response was not accepted"), {
    cause,
  });

export class PasskeyService {
  constructor(private readonly deps: PasskeyDeps) {}

  /**
   * Creation options for the caller: a discoverable credential with user verification, excluding the ones they have.
   */
  async registrationOptions(actor: PasskeyActor): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { settings } = this.deps;
    const user = await this.provenHolder(actor);
    const existing = await this.credentialsOf(user.id);
    const challenge = await this.newChallenge("passkey_registration", user.id);
    const { generateRegistrationOptions } = await webauthn();
    return generateRegistrationOptions({
      rpName: settings.webauthn.rpName,
      rpID: settings.webauthn.rpId,
      userName: user.email,
      userDisplayName: user.name ?? user.email,
      userID: new TextEncoder().encode(user.id) as Uint8Array<ArrayBuffer>,
      // As bytes: the options carry their base64url, which is the secret, and so is what clientDataJSON signs.
      challenge: fromBase64url(challenge.secret) as Uint8Array<ArrayBuffer>,
      timeout: 300_000,
      attestationType: "none",
      excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
      authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
    });
  }

  /** Verifies a registration response against the caller's own live challenge and stores the credential. */
  async register(actor: PasskeyActor, response: RegistrationResponseJSON, name: string | null): Promise<PasskeyRecord> {
    const { stores, clock, settings } = this.deps;
    // Options fetched while the address was proven (or before v3) still need it proven now.
    await this.provenHolder(actor);
    const challenge = signedChallenge(response);
    if (!challenge) throw refusedResponse("The response carries no readable challenge");
    const spent = await stores.challenges.spend(challengeKeyHash(challenge), "passkey_registration", clock());
    if (!spent || spent.userId !== actor.userId)
      throw refusedResponse("The challenge is unknown, expired, already used, or not yours: ask for new options");
    const { verifyRegistrationResponse } = await webauthn();
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: settings.webauthn.origins,
        expectedRPID: settings.webauthn.rpId,
        requireUserVerification: true,
      });
    } catch (error) {
      throw refusedResponse("The passkey response does not verify", error);
    }
    if (!verified.verified) throw refusedResponse("The passkey response does not verify");
    const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
    const added = await stores.passkeys.add(
      {
        userId: actor.userId,
        credentialId: credential.id,
        publicKey: base64url(credential.publicKey),
        counter: credential.counter,
        transports: knownTransports(credential.transports ?? response.response.transports),
        deviceType: credentialDeviceType,
        backedUp: credentialBackedUp,
        name,
      },
      this.audit(actor),
    );
    if (!added) throw refusedResponse("This passkey is already registered");
    return added;
  }

  /** The caller, if they may add a passkey (accounts/proven-holder.ts). */
  private provenHolder(actor: PasskeyActor): Promise<UserRecord> {
    return provenHolder(this.deps, actor, ENROLMENT_NEEDS_VERIFIED_EMAIL);
  }

  list(userId: string): Promise<PasskeyRecord[]> {
    return this.deps.stores.passkeys.list(userId);
  }

  async remove(actor: PasskeyActor, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFound();
    if (!(await this.deps.stores.passkeys.remove(id, actor.userId, this.audit(actor)))) throw new NotFound();
  }

  /**
   * Request options for a sign-in: never a list of credentials, so the answer is the same for every account, known or
   * not.
   */
  async signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { settings } = this.deps;
    const challenge = await this.newChallenge("passkey_authentication", null);
    const { generateAuthenticationOptions } = await webauthn();
    return generateAuthenticationOptions({
      rpID: settings.webauthn.rpId,
      challenge: fromBase64url(challenge.secret) as Uint8Array<ArrayBuffer>,
      timeout: 300_000,
      userVerification: "required",
    });
  }

  /**
   * POST /auth/passkey: an assertion alone, or with the mfaToken of a
   * password sign-in. Every failure of the assertion itself answers
   * invalid_credentials, like a wrong password.
   */
  async signIn(
    response: AuthenticationResponseJSON,
    options: { mfaToken?: string; device: DeviceInfo },
    origin: RequestOrigin,
  ): Promise<LoggedIn> {
    const { stores, clock, settings } = this.deps;
    // The second step of a password sign-in: its token first, counted in its bucket before the assertion is looked at.
    const attempt = pendingDepsOf(this.deps);
    const mfa = options.mfaToken === undefined ? undefined : await resumePendingSignIn(attempt, options.mfaToken);
    if (mfa) await admitPendingSignIn(attempt, mfa, origin);

    const challenge = signedChallenge(response);
    const spent =
      challenge && (await stores.challenges.spend(challengeKeyHash(challenge), "passkey_authentication", clock()));
    const passkey =
      typeof response.id === "string" && response.id.length <= 1024
        ? await stores.passkeys.findByCredentialId(response.id)
        : undefined;
    const fail = async (reason: string): Promise<never> => {
      if (mfa) await recordFailedFactor(attempt, mfa, "passkey", origin);
      throw new InvalidCredentials(reason);
    };
    if (!challenge || !spent) return fail("challenge unknown, expired or used");
    // A challenge minted for a signed-in caller's re-authentication signs nobody in.
    if (spent.userId !== null) return fail("a re-authentication challenge");
    if (!passkey) return fail("credential not registered");
    if (mfa && passkey.userId !== mfa.userId) return fail("another user's passkey for this sign-in");
    // The authenticator names its user too (discoverable credentials): it must be the credential's.
    const userHandle = response.response?.userHandle;
    if (
      userHandle !== undefined &&
      userHandle !== null &&
      userHandle !== "" &&
      handleUser(userHandle) !== passkey.userId
    )
      return fail("user handle does not match the credential");

    const refused = await this.verifyAssertion(response, challenge, passkey);
    if (refused) return fail(refused);

    const user = await requireActiveUser(stores.users, passkey.userId);
    if (settings.requireVerifiedEmail && !user.emailVerified) throw new EmailNotVerified();
    if (mfa)
      return completePendingSignIn(
        { ...this.deps, challenges: stores.challenges },
        mfa,
        user,
        [mfa.firstFactor, "hwk", "mfa"],
        options.device.name,
        origin,
      );
    // No password was counted anywhere, so there is no bucket to clear (the key names none).
    // requireUserVerification: the assertion proves possession and the user's verification, two factors.
    return openSignedInSession(this.deps, user, {
      amr: ["hwk", "mfa"],
      device: options.device,
      origin,
      clearThrottleKey: `passkey:${user.id}`,
    });
  }

  /**
   * Request options for re-authenticating the caller: their own credentials, and a challenge bound to them (5
   * minutes, used once).
   */
  async reauthenticationOptions(actor: PasskeyActor): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { stores, settings } = this.deps;
    const user = await requireActiveUser(stores.users, actor.userId);
    const existing = await this.credentialsOf(user.id);
    // The same kind as a sign-in's, told apart by its user: sign-in challenges have none.
    const challenge = await this.newChallenge("passkey_authentication", user.id);
    const { generateAuthenticationOptions } = await webauthn();
    return generateAuthenticationOptions({
      rpID: settings.webauthn.rpId,
      challenge: fromBase64url(challenge.secret) as Uint8Array<ArrayBuffer>,
      timeout: 300_000,
      userVerification: "required",
      allowCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
    });
  }

  /**
   * POST /auth/reauthenticate with a passkey: an assertion by one of the
   * caller's passkeys, with user verification, for a challenge minted for
   * the caller. A two-factor proof (amr hwk+mfa) for the same session. A
   * failure writes mfa.challenge_failed and answers invalid_credentials, as
   * a refused passkey sign-in does.
   */
  async reauthenticate(actor: PasskeyActor, response: AuthenticationResponseJSON): Promise<Reauthenticated> {
    const { stores, clock } = this.deps;
    const user = await requireActiveUser(stores.users, actor.userId);
    const challenge = signedChallenge(response);
    const spent =
      challenge && (await stores.challenges.spend(challengeKeyHash(challenge), "passkey_authentication", clock()));
    const passkey =
      typeof response.id === "string" && response.id.length <= 1024
        ? await stores.passkeys.findByCredentialId(response.id)
        : undefined;
    const fail = async (reason: string): Promise<never> => {
      await recordFailedReproof({ audit: stores.audit, clock }, actor, "passkey");
      throw new InvalidCredentials(reason);
    };
    if (!challenge || !spent || spent.userId !== user.id)
      return fail("challenge unknown, expired, used, or not minted for this caller");
    if (!passkey || passkey.userId !== user.id) return fail("not one of the caller's passkeys");
    const userHandle = response.response?.userHandle;
    if (userHandle !== undefined && userHandle !== null && userHandle !== "" && handleUser(userHandle) !== user.id)
      return fail("user handle does not match the caller");
    const refused = await this.verifyAssertion(response, challenge, passkey);
    if (refused) return fail(refused);
    return renewSessionProof(this.deps, user, actor, ["hwk", "mfa"]);
  }

  /**
   * Verifies an assertion against the stored credential (user verification required) and keeps its new counter; the
   * reason when refused.
   */
  private async verifyAssertion(
    response: AuthenticationResponseJSON,
    challenge: string,
    passkey: PasskeyCredential,
  ): Promise<string | undefined> {
    const { stores, clock, settings } = this.deps;
    const { verifyAuthenticationResponse } = await webauthn();
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: settings.webauthn.origins,
        expectedRPID: settings.webauthn.rpId,
        credential: {
          id: passkey.credentialId,
          publicKey: fromBase64url(passkey.publicKey) as Uint8Array<ArrayBuffer>,
          counter: passkey.counter,
          transports: passkey.transports,
        },
        requireUserVerification: true,
      });
    } catch (error) {
      // A counter that went backwards (a cloned authenticator) is refused here too.
      return `assertion does not verify: ${error instanceof Error ? error.name : "error"}`;
    }
    if (!verified.verified) return "assertion does not verify";
    await stores.passkeys.markUsed(passkey.id, {
      counter: verified.authenticationInfo.newCounter,
      backedUp: verified.authenticationInfo.credentialBackedUp,
      at: clock(),
    });
    return undefined;
  }

  /** A WebAuthn challenge of `kind` (5 minutes, used once), stored as its hash; bound to `userId` unless null. */
  private async newChallenge(kind: "passkey_registration" | "passkey_authentication", userId: string | null) {
    const at = this.deps.clock();
    const challenge = mintWebAuthnChallenge(at);
    await this.deps.stores.challenges.create(
      { keyHash: challenge.keyHash, kind, userId, expiresAt: challenge.expiresAt },
      at,
    );
    return challenge;
  }

  private credentialsOf(userId: string) {
    return this.deps.stores.passkeys.credentialsOf(userId);
  }

  private audit(actor: PasskeyActor): FactorAudit {
    return { actorId: actor.userId, sessionId: actor.sessionId, origin: actor.origin, at: this.deps.clock() };
  }
}
