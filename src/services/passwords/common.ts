// The bundled list of common passwords the policy refuses: zxcvbn-ts's common
// list (about 49,000 entries drawn from breach corpora, all lower-case).
// Matching is on the lower-cased password, so "Password1234" is as common as
// "password1234".
import { dictionary } from "@zxcvbn-ts/language-common";

let commonPasswords: ReadonlySet<string> | undefined;

export function isCommonPassword(password: string): boolean {
  // Built on first use rather than at start-up: only registration and
  // password changes need it.
  commonPasswords ??= new Set(dictionary["passwords-common"]);
  return commonPasswords.has(password.toLowerCase());
}
