// The password rules checked before hashing (docs/api.md, "Passwords and
// accounts"): NFC normalisation, 12 to 128 code points, no common passwords,
// no composition rules. A failure is a ValidationFailed on the field, and its
// message never repeats the password.
import { ValidationFailed } from "../../../core/errors";
import { isCommonPassword } from "./common";

export const MIN_PASSWORD_LENGTH = 12;
/** In code points; an astral character such as an emoji is one. */
export const MAX_PASSWORD_LENGTH = 128;

// A lone surrogate cannot be typed, and UTF-8 encoding would turn every one
// of them into U+FFFD, so two different such passwords would hash alike.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** NFC only: for login and current-password checks, where the policy is not re-applied. */
export function normalizePassword(password: string): string {
  return password.normalize("NFC");
}

/** The NFC-normalised password when it satisfies the policy; otherwise throws ValidationFailed. */
export function checkPasswordPolicy(password: string, field = "password"): string {
  const normalized = normalizePassword(password);
  const refuse = (message: string): never => {
    throw new ValidationFailed([{ path: field, message }], "The password does not meet the password policy");
  };
  const length = countCodePoints(normalized, MAX_PASSWORD_LENGTH + 1);
  if (length < MIN_PASSWORD_LENGTH) refuse(`Must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH) refuse(`Must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (LONE_SURROGATE.test(normalized)) refuse("Contains characters that cannot be typed");
  if (isCommonPassword(normalized)) refuse("Is too common: choose a less predictable password");
  return normalized;
}

/** Counts code points, stopping at `stopAt` so a huge input costs no more than a long one. */
function countCodePoints(text: string, stopAt: number): number {
  let count = 0;
  for (const _ of text) if (++count >= stopAt) break;
  return count;
}
