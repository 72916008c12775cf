// Passwords and account identifiers (docs/api.md, "Passwords and accounts"):
// hashing and verification, the password policy, email normalisation and the
// optional breached-password check. Framework-free; nothing here reads env.
export { PasswordHasher } from "./hasher";
export type { Argon2Params } from "./phc";
export { checkPasswordPolicy, normalizePassword } from "./policy";
export { normalizeEmail } from "./email";
export { BreachedPasswordChecker } from "./breached";
