// Registration as one statement: the user, the default role, the first
// session with its refresh token, and the audit row commit together, or, when
// the email is taken, nothing is written at all.
import { sql } from "drizzle-orm";
import type { DeviceInfo } from "../db/schema";
import { auditInsert, type RequestOrigin } from "./audit";
import type { Executor } from "./database";
import { rows } from "./rows";
import { toUserRecord, type UserRecord } from "./users";

export const DEFAULT_ROLE = "user";

export class RegistrationRepository {
  constructor(private readonly db: Executor) {}

  /** undefined when the email is already registered. */
  async register(input: {
    email: string;
    passwordHash: string;
    name: string | null;
    session: { id: string; device: DeviceInfo; refreshTokenHash: string; idleExpiresAt: Date; absoluteExpiresAt: Date };
    origin: RequestOrigin;
    at: Date;
  }): Promise<UserRecord | undefined> {
    const { session, at } = input;
    const [row] = await rows<Parameters<typeof toUserRecord>[0]>(
      this.db,
      sql`
      with u as (
        insert into users (email, password_hash, name, status, created_at, updated_at)
        values (${input.email}, ${input.passwordHash}, ${input.name}, 'active', ${at}, ${at})
        on conflict (email) do nothing
        returning id, email, name, status, password_hash, created_at, grants_version
      ), granted as (
        insert into user_roles (user_id, role_name, created_at) select u.id, ${DEFAULT_ROLE}, ${at} from u
      ), s as (
        insert into sessions (id, user_id, device, created_at, last_used_at, idle_expires_at, absolute_expires_at)
        select ${session.id}, u.id, ${JSON.stringify(session.device)}::jsonb, ${at}, ${at}, ${session.idleExpiresAt}, ${session.absoluteExpiresAt}
        from u
        returning id
      ), t as (
        insert into refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
        select ${session.refreshTokenHash}, s.id, null, ${at}, ${session.idleExpiresAt} from s
      ), a as (
        ${auditInsert({ event: "user.registered", userId: sql`u.id`, actorId: sql`u.id`, sessionId: session.id, origin: input.origin, at, from: sql`u` })}
      )
      select u.*, array[${DEFAULT_ROLE}]::text[] as roles,
        coalesce((select array_agg(rp.permission_name order by rp.permission_name) from role_permissions rp where rp.role_name = ${DEFAULT_ROLE}), '{}') as permissions
      from u`,
    );
    return row && toUserRecord(row);
  }
}
