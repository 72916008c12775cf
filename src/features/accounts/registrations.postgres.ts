// Registration as one statement: the user, the default role, the first
// session with its refresh token, and the audit row commit together, or, when
// the email is taken, nothing is written at all.
import { sql } from "drizzle-orm";
import type { NewRegistration, RegistrationStore } from "./store";
import type { UserRecord } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import { auditInsert, insertOneTimeToken, insertSessionWithFirstToken } from "../../adapters/postgres/fragments";
import { rows } from "../../adapters/postgres/rows";
import { toUserRecord, type UserRow } from "../../adapters/postgres/user-row";

const DEFAULT_ROLE = "user";

export class RegistrationRepository implements RegistrationStore {
  constructor(private readonly db: Executor) {}

  async register(input: NewRegistration): Promise<UserRecord | undefined> {
    const { session, at } = input;
    const signIn = session ? sql`${insertSessionWithFirstToken(session, at)},` : sql``;
    // Both rows are about the new user, by the new user, in the new session if any.
    const audited = (event: "user.registered" | "user.email_verification_sent") =>
      auditInsert({
        event,
        userId: sql`owner.id`,
        actorId: sql`owner.id`,
        sessionId: session?.id ?? null,
        origin: input.origin,
        at,
        from: sql`owner`,
      });
    const [row] = await rows<UserRow>(
      this.db,
      sql`
      with owner as (
        insert into users (email, password_hash, name, status, created_at, updated_at)
        values (${input.email}, ${input.passwordHash}, ${input.name}, 'active', ${at}, ${at})
        on conflict (email) do nothing
        returning id, email, name, status, password_hash,
          email_verified_at, created_at, grants_version, device_generation
      ), granted as (
        insert into user_roles (user_id, role_name, created_at) select owner.id, ${DEFAULT_ROLE}, ${at} from owner
        returning user_id
      ), ${signIn} a as (
        ${audited("user.registered")}
      ), verification as (
        ${insertOneTimeToken({ ...input.verification, purpose: "email_verification" }, at)}
      ), verification_sent as (
        ${audited("user.email_verification_sent")}
      )
      select owner.*, array[${DEFAULT_ROLE}]::text[] as roles,
        coalesce((select array_agg(rp.permission_name order by rp.permission_name) from role_permissions rp
          where rp.role_name = ${DEFAULT_ROLE}), '{}') as permissions
      from owner`,
    );
    return row && toUserRecord(row);
  }
}
