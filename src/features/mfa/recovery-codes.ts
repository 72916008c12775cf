// Recovery codes: 10 per set, each 80 bits from the CSPRNG written as four
// groups of four base32 characters (`7kq2-m4xa-...`), shown once and stored
// only as SHA-256 (80 random bits need no salt or slow hash: there is no
// dictionary to try). Typed back, case, spaces and dashes do not matter.
import { sha256Hex } from "../../core/encoding";
import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";

export const RECOVERY_CODE_COUNT = 10;

export type RecoveryCodeSet = { codes: string[]; hashes: string[] };

export function newRecoveryCodes(): RecoveryCodeSet {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const text = encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(10)));
    return text.match(/.{4}/g)!.join("-");
  });
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

export function hashRecoveryCode(code: string): string {
  return sha256Hex(`recovery:${normalizeRecoveryCode(code)}`);
}

function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, "");
}
