// The one normal form of an email address: the form stored, compared for
// uniqueness and used as the per-account throttling key.

/**
 * Trimmed, NFKC-normalised and lower-cased. NFKC runs again after
 * lower-casing because case mapping can leave a string that is not in NFKC;
 * the result is stable under a second application.
 */
export function normalizeEmail(email: string): string {
  return email.normalize("NFKC").trim().toLowerCase().normalize("NFKC");
}
