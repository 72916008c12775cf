// Response and request schemas shared by the routes; they also make up the
// components of /openapi.json.
import { z } from "@hono/zod-openapi";
import { normalizeEmail } from "../features/accounts/passwords";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../features/accounts/passwords/policy";
import { hasPassword, type UserRecord } from "../core/domain";

/** Normalised (trim, NFKC, lower-case) before the format check, so fullwidth input validates as what it is. */
export const Email = z.string().max(320).transform(normalizeEmail).pipe(z.string().min(3).max(254).email());
/** Bounded so an oversized value cannot make hashing expensive; the policy checks the real rule. */
export const PasswordInput = z.string().min(1).max(1024);
/**
 * A password being chosen (register's `password`, `newPassword` of change and
 * reset). Validated as PasswordInput, so the policy's own messages are what
 * a client sees; documented with the policy's bounds, which JSON Schema
 * counts as the policy does, in code points (after NFC normalisation).
 */
export const NewPasswordInput = PasswordInput.openapi({
  minLength: MIN_PASSWORD_LENGTH,
  maxLength: MAX_PASSWORD_LENGTH,
  description:
    `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters (code points, after NFC ` +
    `normalisation), not a common or breached password. No composition rules.`,
});

/** A required JSON request body. */
export const json = <T extends z.ZodType>(schema: T) => ({
  content: { "application/json": { schema } },
  required: true,
});
/** A JSON response. */
export const ok = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

export const UserSchema = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    name: z.string().nullable(),
    emailVerified: z.boolean(),
    hasPassword: z.boolean().openapi({
      description:
        "False for an account with no password to sign in with (one whose password a proof of its address ended)",
    }),
    mfa: z.object({ totp: z.boolean(), passkeys: z.number().int() }),
    roles: z.array(z.string()),
    permissions: z.array(z.string()),
    status: z.enum(["active", "disabled"]),
    createdAt: z.string().datetime(),
  })
  .openapi("User");

export const TokenPairSchema = z
  .object({
    tokenType: z.literal("Bearer"),
    accessToken: z.string(),
    expiresIn: z.number().int(),
    refreshToken: z
      .string()
      .optional()
      .openapi({
        description:
          "Opaque (`sart_...`), single use: every refresh answers its successor. Absent in cookie mode " +
          "(X-Auth-Mode: cookie), where it is in the __Host-sa_rt cookie.",
      }),
    refreshExpiresIn: z.number().int(),
    sessionId: z.string().uuid(),
  })
  .openapi("TokenPair");

export const SessionSchema = z
  .object({
    id: z.string().uuid(),
    current: z.boolean(),
    device: z.object({
      name: z.string().optional(),
      userAgent: z.string().optional(),
      ip: z.string().optional(),
      country: z.string().optional(),
      city: z.string().optional(),
    }),
    createdAt: z.string().datetime(),
    lastUsedAt: z.string().datetime(),
    expiresAt: z.string().datetime(),
  })
  .openapi("Session");

export const AuditEventSchema = z
  .object({
    id: z.string().uuid(),
    event: z.string(),
    userId: z.string().uuid().optional(),
    actorId: z.string().uuid().optional(),
    sessionId: z.string().uuid().optional(),
    ip: z.string().optional(),
    userAgent: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.string().datetime(),
  })
  .openapi("AuditEvent");

export const AuditPageSchema = z
  .object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() })
  .openapi("AuditPage");

export const PageQuerySchema = z.object({
  cursor: z.string().max(512).optional(),
  /** Decimal digits only: no 0x10, 1e2 or whitespace sneaking through a numeric coercion. */
  limit: z
    .string()
    .regex(/^\d{1,4}$/, "Must be a whole number from 1 to 100")
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .optional()
    .transform((limit) => limit ?? 20)
    // Documented as what it is to a client: an integer (it arrives as query text, parsed strictly above).
    .openapi({ type: "integer", minimum: 1, maximum: 100, default: 20 }),
});

/**
 * Characters a display name may not hold, anywhere (before trimming): C0 and
 * C1 control characters with DEL, which no name needs and which break the log
 * lines and pages that show one; and the Unicode bidirectional controls
 * (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069, the marks
 * U+200E, U+200F and U+061C), which make a name read differently from what it
 * is (a "Trojan Source" spoof of another user or device).
 */
const NO_CONTROL_OR_BIDI_CHARACTERS = /^[^\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]*$/;

/**
 * The one rule for names a person gives: register's `name` and login's
 * `deviceName`. Trimmed, at most 100 characters, none of the above; null or
 * absent for none.
 */
export const DisplayNameInput = z
  .string()
  .regex(NO_CONTROL_OR_BIDI_CHARACTERS, "Must not contain control characters or bidirectional formatting characters")
  .trim()
  .max(100)
  .nullish();

/** A name that must be given (an organization's): the rules of DisplayNameInput, 1 to 100 characters after trimming. */
export const RequiredNameInput = z
  .string()
  .regex(NO_CONTROL_OR_BIDI_CHARACTERS, "Must not contain control characters or bidirectional formatting characters")
  .trim()
  .min(1)
  .max(100);

/** Fields a client may never set about itself, refused wherever they appear in a body. */
export const PRIVILEGED_FIELDS = [
  "id",
  "role",
  "roles",
  "permissions",
  "status",
  "__proto__",
  "constructor",
  "prototype",
  "isAdmin",
  "admin",
] as const;

/**
 * A body schema that refuses privileged fields with validation_failed instead
 * of silently dropping them. The check runs on the raw parsed JSON, before
 * any object copy, because a copied `__proto__` key would become a prototype
 * rather than a property and slip past.
 */
export function refusingPrivilegedFields<T extends z.ZodRawShape>(
  shape: T,
  changedElsewhere: Readonly<Record<string, string>> = {},
) {
  return z.preprocess((raw, ctx) => {
    if (raw && typeof raw === "object" && !Array.isArray(raw)) {
      const has = (field: string) => Object.hasOwn(raw, field);
      for (const field of PRIVILEGED_FIELDS) {
        if (has(field))
          ctx.addIssue({ code: "custom", path: [field], message: "This field cannot be set", input: raw });
      }
      // Fields another operation changes: refused with a pointer to it, never silently dropped.
      for (const [field, message] of Object.entries(changedElsewhere)) {
        if (has(field)) ctx.addIssue({ code: "custom", path: [field], message, input: raw });
      }
    }
    return raw;
  }, z.object(shape));
}

export function toApiUser(user: UserRecord) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    emailVerified: user.emailVerified,
    hasPassword: hasPassword(user),
    mfa: { totp: user.mfa.totp, passkeys: user.mfa.passkeys },
    roles: user.roles,
    permissions: user.permissions,
    status: user.status,
    createdAt: user.createdAt.toISOString(),
  };
}

// The credentials more than one feature's routes take (the second step of a
// sign-in, re-authentication, passkey ceremonies).

/**
 * Six digits; anything else is simply a wrong code (answered invalid_mfa_code, and counted), so the schema only
 * bounds it.
 */
export const TotpCode = z
  .string()
  .min(1)
  .max(16)
  .openapi({ description: "The 6-digit code the authenticator app shows", example: "123456" });
export const RecoveryCode = z
  .string()
  .min(1)
  .max(64)
  .openapi({ description: "One of the recovery codes, as shown (case, spaces and dashes ignored)" });
/**
 * A WebAuthn credential response in its JSON form (RegistrationResponseJSON or AuthenticationResponseJSON); its
 * contents are the verifier's to judge.
 */
export const CredentialResponse = z
  .object({
    id: z.string().min(1).max(1024),
    rawId: z.string().min(1).max(1024),
    type: z.literal("public-key"),
    response: z.record(z.string(), z.unknown()),
    clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
    authenticatorAttachment: z.string().nullish(),
  })
  .passthrough()
  .openapi({
    description:
      "The browser's credential as JSON (PublicKeyCredential.toJSON(), or @simplewebauthn/browser's " +
      "startRegistration/startAuthentication)",
  });

export const WebAuthnOptions = z.record(z.string(), z.unknown()).openapi({
  description:
    "Options in the WebAuthn JSON form: pass to PublicKeyCredential.parseCreationOptionsFromJSON / " +
    "parseRequestOptionsFromJSON, or @simplewebauthn/browser",
});
