// The short-lived secrets of a sign-in or ceremony in progress
// (docs/second-factors.md): an mfaToken, owed a second factor after a right
// first one, and the WebAuthn challenges of passkey ceremonies. Each is 256 bits
// from the CSPRNG, stored only as its SHA-256, lives 5 minutes and is spent
// once; an mfaToken is also spent by its fifth wrong code.
import { hashOneTimeToken } from "../lifecycle/one-time-tokens";
import { base64url } from "../../core/encoding";

export const CHALLENGE_TTL_SECONDS = 300;
/** Wrong codes an mfaToken survives: the fifth spends it. */
export const MAX_MFA_FAILURES = 5;
/** The prefix that makes an mfaToken recognisable (in logs scanners, say) and never a refresh or device token. */
const MFA_TOKEN_PREFIX = "samfa_";

export type MintedChallenge = { secret: string; keyHash: string; expiresAt: Date };

/** A new mfaToken. */
export function mintMfaToken(at: Date): MintedChallenge {
  return mint(MFA_TOKEN_PREFIX, at);
}

/** A new WebAuthn challenge (base64url, as the options carry it). */
export function mintWebAuthnChallenge(at: Date): MintedChallenge {
  return mint("", at);
}

/** Any presented string hashes; one that is not ours matches no row. */
export function challengeKeyHash(secret: string): string {
  return hashOneTimeToken(secret);
}

function mint(prefix: string, at: Date): MintedChallenge {
  const secret = prefix + base64url(crypto.getRandomValues(new Uint8Array(32)));
  return {
    secret,
    keyHash: challengeKeyHash(secret),
    expiresAt: new Date(at.getTime() + CHALLENGE_TTL_SECONDS * 1000),
  };
}
