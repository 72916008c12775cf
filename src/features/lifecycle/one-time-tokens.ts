// One-time tokens for the links the service mails (docs/account-lifecycle.md,
// "Account lifecycle"): 256 bits from the CSPRNG, base64url, stored only as
// their SHA-256 (a token this long needs no salt or slow hash), bound to a
// purpose and a user by the row that stores the hash, and living as long as
// their purpose allows.
import type { OneTimePurpose } from "./store";
import { base64url, sha256Hex } from "../../core/encoding";

/** Seconds each purpose's token lives: verification 24 h, reset 30 min, email change 1 h. */
export const ONE_TIME_TOKEN_TTL: Readonly<Record<OneTimePurpose, number>> = {
  email_verification: 24 * 3600,
  password_reset: 30 * 60,
  email_change: 3600,
};

/** The app's page each link opens; it posts the token back. */
export const LINK_PATHS: Readonly<Record<OneTimePurpose, string>> = {
  email_verification: "/verify-email",
  password_reset: "/reset-password",
  email_change: "/confirm-email",
};

/** Links of one purpose a user may be sent per hour. */
export const MAX_LINKS_PER_HOUR = 5;

export type MintedToken = { token: string; tokenHash: string; expiresAt: Date };

export function mintOneTimeToken(purpose: OneTimePurpose, at: Date): MintedToken {
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return {
    token,
    tokenHash: hashOneTimeToken(token),
    expiresAt: new Date(at.getTime() + ONE_TIME_TOKEN_TTL[purpose] * 1000),
  };
}

/** Any presented string hashes; one that is not a token of ours simply matches no row. */
export function hashOneTimeToken(token: string): string {
  return sha256Hex(token);
}

/** `APP_URL` + the purpose's path + `?token=`. */
export function linkFor(appUrl: string, purpose: OneTimePurpose, token: string): string {
  const url = new URL(appUrl + LINK_PATHS[purpose]);
  url.searchParams.set("token", token);
  return url.toString();
}
