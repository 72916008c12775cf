// The bounds of argon2id parameters this service accepts, shared by the
// configuration schema (ARGON2_* variables) and the PHC string parser.
/**
 * What a stored hash may ask for. The configuration (ARGON2_* in core/config/schema.ts)
 * accepts exactly these cost bounds, so every hash this service wrote fits, and none
 * can make verify allocate more than 64 MiB (the isolate has 128 MB).
 */
export const ARGON2_LIMITS = {
  memoryKib: { min: 8, max: 65_536 },
  iterations: { min: 1, max: 10 },
  parallelism: { min: 1, max: 4 },
  saltBytes: { min: 8, max: 64 },
  hashBytes: { min: 16, max: 64 },
} as const;
