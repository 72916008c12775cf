// Passwords and account identifiers (DESIGN.md "Passwords and accounts"):
// hashing and verification, the password policy, email normalisation and the
// optional breached-password check. Framework-free; nothing here reads env.
export { PasswordHasher } from "./hasher";
export { ARGON2_LIMITS, type Argon2Params } from "./phc";
export { checkPasswordPolicy, normalizePassword, MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH } from "./policy";
export { normalizeEmail } from "./email";
export { BreachedPasswordChecker } from "./breached";
