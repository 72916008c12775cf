// TOTP codes for tests, from an independent implementation (the otpauth
// package), never from the code under test.
import { Secret, TOTP } from "otpauth";

/** The 6-digit RFC 6238 code of a base32 secret at `at`. */
export function totpCode(base32Secret: string, at: Date = new Date()): string {
  return TOTP.generate({
    secret: Secret.fromBase32(base32Secret),
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    timestamp: at.getTime(),
  });
}
