// Request and response schemas of the organization routes (docs/organizations.md).
import { z } from "@hono/zod-openapi";
import { IdParams, UuidParam } from "../../http/params";
import { Email, PageQuerySchema, RequiredNameInput, refusingPrivilegedFields } from "../../http/schemas";
import { SLUG } from "./rules";
import type { InvitationRecord, MemberRecord, OrganizationRecord } from "./store";

const EXAMPLE_ID = "0b6f1c3e-5d2a-4e8f-9a41-2c7d8e9f0a1b";

export const SlugInput = z
  .string()
  .regex(SLUG, "3 to 40 of a-z, 0-9 and -, not starting or ending with -")
  .openapi({ example: "acme-inc" });

export const OrganizationSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    slug: z.string().openapi({ description: "May change, and be taken later by another organization: key on id" }),
    createdAt: z.string().datetime(),
  })
  .openapi("Organization");

export const OrgEnvelopeSchema = z.object({ org: OrganizationSchema });

export const OrgListSchema = z
  .object({ orgs: z.array(z.object({ org: OrganizationSchema, roles: z.array(z.string()) })) })
  .openapi("OrganizationList");

export const MemberSchema = z
  .object({
    user: z.object({ id: z.string().uuid(), email: z.string(), name: z.string().nullable() }),
    roles: z.array(z.string()),
    joinedAt: z.string().datetime(),
  })
  .openapi("OrganizationMember");

export const MemberPageSchema = z
  .object({ items: z.array(MemberSchema), nextCursor: z.string().nullable() })
  .openapi("OrganizationMemberPage");

export const OrgRoleSchema = z
  .object({ name: z.string(), permissions: z.array(z.string()) })
  .openapi("OrganizationRole");

export const InvitationSchema = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    roles: z.array(z.string()),
    expiresAt: z.string().datetime(),
  })
  .openapi("Invitation");

export const CreateOrgBody = refusingPrivilegedFields({
  name: RequiredNameInput,
  slug: SlugInput.optional().openapi({ description: "Made from the name when absent (with a suffix if taken)" }),
});

export const UpdateOrgBody = refusingPrivilegedFields({
  name: RequiredNameInput.optional(),
  slug: SlugInput.optional(),
});

/** Exactly {roles}: any other field is refused, never ignored. */
export const MemberRolesBody = z
  .strictObject({ roles: z.array(z.string().min(1).max(64)).min(1).max(32) })
  .openapi("OrganizationRolesUpdate");

/** Exactly {permissions}. */
export const RoleDefinitionBody = z
  .strictObject({ permissions: z.array(z.string().min(1).max(128)).min(1).max(64) })
  .openapi("OrganizationRoleDefinition");

/** Exactly {email, roles}. */
export const InvitationBody = z
  .strictObject({ email: Email, roles: z.array(z.string().min(1).max(64)).min(1).max(32) })
  .openapi("InvitationCreate");

/** Exactly {token}: any string (one that is not a live invitation's is invalid_one_time_token). */
export const AcceptInvitationBody = z.strictObject({ token: z.string().min(1).max(512) }).openapi("InvitationAccept");

export const AcceptedSchema = z.object({ org: OrganizationSchema, roles: z.array(z.string()) });

export const OrgParams = IdParams;

export const MemberParams = IdParams.extend({
  userId: UuidParam.openapi({ param: { name: "userId", in: "path" }, format: "uuid", example: EXAMPLE_ID }),
});

export const RoleParams = IdParams.extend({
  name: z
    .string()
    .max(200)
    .openapi({ param: { name: "name", in: "path" }, example: "billing" }),
});

export const InvitationParams = IdParams.extend({
  invitationId: UuidParam.openapi({
    param: { name: "invitationId", in: "path" },
    format: "uuid",
    example: EXAMPLE_ID,
  }),
});

export const MemberPageQuery = PageQuerySchema;

export const OrgAuditQuery = PageQuerySchema.extend({ event: z.string().min(1).max(64).optional() });

export const toApiOrg = (org: OrganizationRecord) => ({
  id: org.id,
  name: org.name,
  slug: org.slug,
  createdAt: org.createdAt.toISOString(),
});

export const toApiMember = (member: MemberRecord) => ({
  user: member.user,
  roles: member.roles,
  joinedAt: member.joinedAt.toISOString(),
});

export const toApiInvitation = (invitation: InvitationRecord) => ({
  id: invitation.id,
  email: invitation.email,
  roles: invitation.roles,
  expiresAt: invitation.expiresAt.toISOString(),
});
