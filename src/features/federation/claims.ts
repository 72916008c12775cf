// What a provider's answer says of the user, and when its email counts as
// asserted verified: each provider has its own rule, and getting one wrong
// lets anyone who can name an address at that provider take the account
// that holds it (Microsoft's mutable, unverified `email`: the nOAuth attack).
//
// - OpenID providers: `email_verified` true (the boolean).
// - Google: only an `@gmail.com` address, or a Workspace account (`hd`),
//   where Google is the authority for the address.
// - Microsoft: only with `xms_edov: true` (the domain owner verified it);
//   `email` alone is whatever the tenant's admin typed.
// - Apple: `email_verified` true or the string "true".
// - GitHub (not OpenID): the verified primary address (github.ts).
import type { ProviderQuirks } from "../../core/config/providers";
import { normalizeEmail } from "../accounts/passwords";

/** The longest address kept; longer ones count as none. */
const MAX_EMAIL = 320;

/** A provider's email claim as the normal form, or null when it is no address. */
export function emailOf(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const email = normalizeEmail(value);
  if (email.length > MAX_EMAIL || !/^[^\s@]+@[^\s@]+$/.test(email)) return null;
  return email;
}

/** Whether an OpenID provider's claims assert `email` verified, by that provider's rule. */
export function assertsVerifiedEmail(quirks: ProviderQuirks, claims: Record<string, unknown>): boolean {
  const email = emailOf(claims.email);
  if (!email) return false;
  switch (quirks) {
    case "google":
      return (
        claims.email_verified === true &&
        (email.endsWith("@gmail.com") || (typeof claims.hd === "string" && claims.hd.length > 0))
      );
    case "microsoft":
      return claims.xms_edov === true;
    case "apple":
      return claims.email_verified === true || claims.email_verified === "true";
    case "generic":
      return claims.email_verified === true;
    case "github":
      return false;
  }
}

/** A display name from the claims (`name`, else given and family names), trimmed and bounded; or null. */
export function nameOf(claims: Record<string, unknown>): string | null {
  const given = typeof claims.given_name === "string" ? claims.given_name : "";
  const family = typeof claims.family_name === "string" ? claims.family_name : "";
  const raw = typeof claims.name === "string" ? claims.name : `${given} ${family}`;
  // Control and bidi characters never reach a page or a mail.
  const name = raw.replace(/[\p{Cc}\p{Cf}]/gu, "").trim();
  return name ? name.slice(0, 100) : null;
}

/**
 * Apple sends the user's name once, on the first authorization, as a JSON
 * form field `user` beside the code (never in the ID token).
 */
export function appleNameOf(user: string | null): string | null {
  if (!user || user.length > 2048) return null;
  try {
    const parsed = JSON.parse(user) as { name?: { firstName?: unknown; lastName?: unknown } };
    return nameOf({ given_name: parsed.name?.firstName, family_name: parsed.name?.lastName });
  } catch {
    return null;
  }
}
