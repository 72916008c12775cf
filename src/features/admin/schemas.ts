// Request and response schemas of the administration routes.
import { z } from "@hono/zod-openapi";
import { UUID_PATTERN } from "../../core/ids";
import { IdParams } from "../../http/params";
import { PageQuerySchema, SessionSchema, UserSchema } from "../../http/schemas";

/**
 * A user id in the path, lower-cased if it is a UUID (http/params.ts). Any
 * other string passes so that a malformed id gets the same 404 as an
 * unknown one (the service decides), never a 400.
 */
export const UserIdParams = IdParams;

export const UserListQuerySchema = PageQuerySchema.extend({
  q: z
    .string()
    .trim()
    .max(254)
    .optional()
    .openapi({ description: "Case-insensitive substring of the email or the name, taken literally" }),
});

export const AuditLogQuerySchema = PageQuerySchema.extend({
  userId: z.string().regex(UUID_PATTERN, "Must be a UUID").optional(),
  event: z.string().min(1).max(64).optional(),
});

/** Exactly {roles}: any other field (permissions, status, role...) is refused, never ignored. */
export const RolesBodySchema = z
  .strictObject({
    roles: z.array(z.string().min(1).max(64)).max(32),
  })
  .openapi("RolesUpdate");

export const UserPageSchema = z
  .object({ items: z.array(UserSchema), nextCursor: z.string().nullable() })
  .openapi("UserPage");

export const UserDetailSchema = z.object({ user: UserSchema, sessions: z.array(SessionSchema) }).openapi("UserDetail");

export const UserEnvelopeSchema = z.object({ user: UserSchema });
