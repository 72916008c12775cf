// The stored form of a password hash: argon2id in PHC string format,
// `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` with standard
// base64 without padding. Parsing is strict because the string comes back
// from the database: anything that is not exactly this shape, or that asks
// for more work than the service could ever have been configured to do, is
// refused before any hashing starts, so a tampered row cannot turn a login
// into a memory or CPU bomb.
import { ARGON2_LIMITS } from "../../../core/argon2-limits";
import { base64 } from "../../../core/encoding";

export { ARGON2_LIMITS };

export type Argon2Params = { memoryKib: number; iterations: number; parallelism: number };

export type Argon2idHash = { params: Argon2Params; salt: Uint8Array; hash: Uint8Array };

/** Longer than any string this module writes within ARGON2_LIMITS. */
const MAX_PHC_LENGTH = 256;

// Only v=19 (0x13); parameters in this order, decimal without leading zeros.
const PHC_PATTERN =
  /^\$argon2id\$v=19\$m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,9}),p=([1-9][0-9]{0,9})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function formatArgon2idHash({ params, salt, hash }: Argon2idHash): string {
  const { memoryKib, iterations, parallelism } = params;
  return `$argon2id$v=19$m=${memoryKib},t=${iterations},p=${parallelism}$${base64(salt)}$${base64(hash)}`;
}

/** The parsed hash, or undefined for anything malformed, foreign or out of bounds. */
export function parseArgon2idHash(phc: unknown): Argon2idHash | undefined {
  if (typeof phc !== "string" || phc.length > MAX_PHC_LENGTH) return undefined;
  const match = PHC_PATTERN.exec(phc);
  if (!match) return undefined;
  const [, m, t, p, saltText, hashText] = match;
  const params = { memoryKib: Number(m), iterations: Number(t), parallelism: Number(p) };
  if (argon2ParamsProblem(params) !== undefined) return undefined;
  const salt = decodeBase64(saltText!);
  const hash = decodeBase64(hashText!);
  if (!salt || !within(salt.length, ARGON2_LIMITS.saltBytes)) return undefined;
  if (!hash || !within(hash.length, ARGON2_LIMITS.hashBytes)) return undefined;
  return { params, salt, hash };
}

/** Why these parameters are unacceptable, or undefined when they are fine. */
export function argon2ParamsProblem(params: Argon2Params): string | undefined {
  const { memoryKib, iterations, parallelism } = params;
  if (!within(memoryKib, ARGON2_LIMITS.memoryKib)) return "memoryKib is out of range";
  if (!within(iterations, ARGON2_LIMITS.iterations)) return "iterations is out of range";
  if (!within(parallelism, ARGON2_LIMITS.parallelism)) return "parallelism is out of range";
  // RFC 9106 §3.1: at least 8 KiB per lane.
  if (memoryKib < 8 * parallelism) return "memoryKib must be at least 8 x parallelism";
  return undefined;
}

function within(value: number, bounds: { min: number; max: number }): boolean {
  return Number.isSafeInteger(value) && value >= bounds.min && value <= bounds.max;
}

/** Canonical unpadded base64 only: a re-encode must give the same text (no stray trailing bits). */
function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return base64(bytes) === text ? bytes : undefined;
}
