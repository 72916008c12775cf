// TOTP (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, one step either
// side accepted for clock drift. The codes come from @oslojs/otp; this
// module adds what replay protection needs: which step a code matched, so
// the store can accept each step once and none before it.
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { createTOTPKeyURI, generateHOTP } from "@oslojs/otp";
import { constantTimeEqual } from "../../core/encoding";

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted on either side of the current one. */
export const TOTP_DRIFT_STEPS = 1;
/** 160 bits, the length RFC 4226 recommends for HMAC-SHA-1. */
const SECRET_BYTES = 20;

export type TotpSecret = { key: Uint8Array; base32: string };

export function newTotpSecret(): TotpSecret {
  const key = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  return { key, base32: encodeBase32UpperCaseNoPadding(key) };
}

/** The otpauth:// URI an authenticator app reads (as a QR code or pasted). */
export function otpauthUri(issuer: string, accountName: string, key: Uint8Array): string {
  return createTOTPKeyURI(issuer, accountName, key, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
}

/** The time step of an instant. */
export function stepAt(at: Date): number {
  return Math.floor(at.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The step within the drift window whose code `code` is, latest first, or
 * undefined. Every candidate is compared, in constant time each, so the
 * answer's timing does not say which step matched.
 */
export function matchingStep(key: Uint8Array, code: string, at: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = stepAt(at);
  let matched: number | undefined;
  for (let step = now + TOTP_DRIFT_STEPS; step >= Math.max(0, now - TOTP_DRIFT_STEPS); step--) {
    if (constantTimeEqual(generateHOTP(key, BigInt(step), TOTP_DIGITS), code) && matched === undefined) matched = step;
  }
  return matched;
}
