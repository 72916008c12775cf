// Email sign-in codes (email_sign_in_codes). A request's row is written
// for every address alike, by the request, once the address's quota row
// (email_code_quotas, updated under its row lock so racing requests count
// exactly) admits it; the queue consumer mints the code's hashes into it in
// one statement that also reads the account, ends the address's older
// codes and writes the audit row. Spending is one conditional UPDATE, so
// two spends racing resolve to one.
import { sql } from "drizzle-orm";
import type { RequestOrigin, UserRecord } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import { auditInsert, liveSession } from "../../adapters/postgres/fragments";
import { rows } from "../../adapters/postgres/rows";
import { toUserRecord, type UserRow } from "../../adapters/postgres/user-row";
import { ENDED_PASSWORD_HASH } from "../../core/domain";
import type { EmailCodeStore, LiveEmailCode, ReauthenticationCodeRequest } from "./store";

const HOUR_MS = 3600_000;
const DEFAULT_ROLE = "user";

type LiveRow = { id: string; email: string; code_hash: string };

const live = (maxFailures: number, at: Date) =>
  sql`c.code_hash is not null and c.used_at is null and c.expires_at > ${at} and c.failures < ${maxFailures}::int`;

export class EmailCodeRepository implements EmailCodeStore {
  constructor(private readonly db: Executor) {}

  /**
   * ON CONFLICT DO UPDATE locks the quota row and judges its WHERE on the
   * latest committed version, so of requests racing for one address exactly
   * the cap's number get through (a count of the codes table would read one
   * snapshot and let a burst past it). Refused, the update writes nothing and
   * returns no row, so no code row is inserted.
   */
  async request(input: {
    email: string;
    addressKey: string;
    redirectTo: string | null;
    maxPerHour: number;
    expiresAt: Date;
    at: Date;
  }): Promise<{ id: string } | undefined> {
    const { at } = input;
    const windowStart = new Date(at.getTime() - HOUR_MS);
    const recent = sql`from unnest(q.requested_at) as t(requested) where t.requested > ${windowStart}`;
    const [row] = await rows<{ id: string }>(
      this.db,
      sql`
      with admitted as (
        insert into email_code_quotas as q (address_key, requested_at, last_requested_at)
        values (${input.addressKey}, array[${at}::timestamptz], ${at})
        on conflict (address_key) do update
          set requested_at = array(select t.requested ${recent}) || ${at}::timestamptz, last_requested_at = ${at}
          where (select count(*) ${recent}) < ${input.maxPerHour}::int
        returning 1
      )
      insert into email_sign_in_codes (email, redirect_to, created_at, expires_at)
      select ${input.email}, ${input.redirectTo}, ${at}, ${input.expiresAt} from admitted
      returning id`,
    );
    return row;
  }

  async mint(input: { id: string; codeHash: string; tokenHash: string; signUp: boolean; expiresAt: Date; at: Date }) {
    const { at } = input;
    const [row] = await rows<{
      email: string;
      redirect_to: string | null;
      user_id: string | null;
      sent: boolean;
    }>(
      this.db,
      sql`
      with pending as (
        select c.id, c.email, c.redirect_to, c.expires_at from email_sign_in_codes c
        where c.id = ${input.id} and c.code_hash is null and c.used_at is null and c.expires_at > ${at}
        for update
      ), holder as (
        select u.id, u.status from users u where u.email = (select email from pending)
      ), allowed as (
        select pending.* from pending
        where (select status from holder) = 'active' or (not exists (select 1 from holder) and ${input.signUp})
      ), replaced as (
        update email_sign_in_codes c set used_at = ${at}, ended_reason = 'replaced'
        where c.email = (select email from allowed) and c.id <> (select id from allowed)
          and c.used_at is null and c.code_hash is not null and c.session_id is null
      ), minted as (
        update email_sign_in_codes c
        set code_hash = ${input.codeHash}, token_hash = ${input.tokenHash}, expires_at = ${input.expiresAt}
        where c.id = (select id from allowed)
        returning c.id
      ), unsent as (
        update email_sign_in_codes c set used_at = ${at}, ended_reason = 'not_sent'
        where c.id = (select id from pending) and not exists (select 1 from allowed)
      ), audited as (
        ${auditInsert({
          event: "auth.email_code_sent",
          userId: sql`(select id from holder)`,
          actorId: null,
          sessionId: null,
          origin: { ip: null, userAgent: null },
          metadata: sql`jsonb_build_object('newAccount', not exists (select 1 from holder))`,
          at,
          from: sql`minted`,
        })}
      )
      select pending.email, pending.redirect_to, (select id from holder) as user_id,
        exists (select 1 from minted) as sent
      from pending`,
    );
    if (!row?.sent) return undefined;
    return { email: row.email, redirectTo: row.redirect_to, userId: row.user_id };
  }

  async findLive(email: string, maxFailures: number, at: Date): Promise<LiveEmailCode | undefined> {
    const [row] = await rows<LiveRow>(
      this.db,
      sql`select c.id, c.email, c.code_hash from email_sign_in_codes c
        where c.email = ${email} and c.session_id is null and ${live(maxFailures, at)}
        order by c.created_at desc limit 1`,
    );
    return row && { id: row.id, email: row.email, codeHash: row.code_hash };
  }

  async findByToken(tokenHash: string, maxFailures: number, at: Date): Promise<LiveEmailCode | undefined> {
    const [row] = await rows<LiveRow>(
      this.db,
      sql`select c.id, c.email, c.code_hash from email_sign_in_codes c
        where c.token_hash = ${tokenHash} and c.session_id is null and ${live(maxFailures, at)}`,
    );
    return row && { id: row.id, email: row.email, codeHash: row.code_hash };
  }

  async recordFailure(id: string, maxFailures: number, at: Date): Promise<void> {
    await this.db.execute(sql`update email_sign_in_codes c
      set failures = c.failures + 1,
        used_at = case when c.failures + 1 >= ${maxFailures}::int then ${at}::timestamptz end,
        ended_reason = case when c.failures + 1 >= ${maxFailures}::int then 'failures' end
      where c.id = ${id} and ${live(maxFailures, at)}`);
  }

  async spend(id: string, maxFailures: number, at: Date): Promise<boolean> {
    const spent = await rows<{ id: string }>(
      this.db,
      sql`update email_sign_in_codes c set used_at = ${at}, ended_reason = 'used'
        where c.id = ${id} and ${live(maxFailures, at)} returning c.id`,
    );
    return spent.length > 0;
  }

  async requestReauthentication(input: ReauthenticationCodeRequest): Promise<boolean> {
    const { at } = input;
    const windowStart = new Date(at.getTime() - HOUR_MS);
    const recent = sql`from unnest(q.requested_at) as t(requested) where t.requested > ${windowStart}`;
    const inserted = await rows<{ id: string }>(
      this.db,
      sql`
      with caller as (
        select s.id from sessions s
        where s.id = ${input.sessionId} and s.user_id = ${input.userId} and ${liveSession(at)}
      ), admitted as (
        insert into email_code_quotas as q (address_key, requested_at, last_requested_at)
        select ${input.addressKey}, array[${at}::timestamptz], ${at} from caller
        on conflict (address_key) do update
          set requested_at = array(select t.requested ${recent}) || ${at}::timestamptz, last_requested_at = ${at}
          where (select count(*) ${recent}) < ${input.maxPerHour}::int
        returning 1
      ), replaced as (
        update email_sign_in_codes c set used_at = ${at}, ended_reason = 'replaced'
        where c.session_id = ${input.sessionId} and c.used_at is null and exists (select 1 from admitted)
      ), minted as (
        insert into email_sign_in_codes (id, email, code_hash, session_id, created_at, expires_at)
        select ${input.id}, ${input.email}, ${input.codeHash}, ${input.sessionId}, ${at}, ${input.expiresAt}
        from admitted
        returning id
      ), audited as (
        ${auditInsert({
          event: "auth.email_code_sent",
          userId: input.userId,
          actorId: input.userId,
          sessionId: input.sessionId,
          origin: input.origin,
          metadata: { reauthentication: true },
          at,
          from: sql`minted`,
        })}
      )
      select id from minted`,
    );
    return inserted.length > 0;
  }

  async findLiveForSession(sessionId: string, maxFailures: number, at: Date): Promise<LiveEmailCode | undefined> {
    const [row] = await rows<LiveRow>(
      this.db,
      sql`select c.id, c.email, c.code_hash from email_sign_in_codes c
        where c.session_id = ${sessionId} and ${live(maxFailures, at)}
        order by c.created_at desc limit 1`,
    );
    return row && { id: row.id, email: row.email, codeHash: row.code_hash };
  }

  async createAccount(input: { email: string; origin: RequestOrigin; at: Date }): Promise<UserRecord | undefined> {
    const { at } = input;
    const [row] = await rows<UserRow>(
      this.db,
      sql`
      with owner as (
        insert into users (email, password_hash, name, status, email_verified_at, created_at, updated_at)
        values (${input.email}, ${ENDED_PASSWORD_HASH}, null, 'active', ${at}, ${at}, ${at})
        on conflict (email) do nothing
        returning id, email, name, status, password_hash,
          email_verified_at, created_at, grants_version, device_generation
      ), granted as (
        insert into user_roles (user_id, role_name, created_at) select owner.id, ${DEFAULT_ROLE}, ${at} from owner
        returning user_id
      ), registered as (
        ${auditInsert({
          event: "user.registered",
          userId: sql`owner.id`,
          actorId: sql`owner.id`,
          sessionId: null,
          origin: input.origin,
          metadata: { method: "email_code" },
          at,
          from: sql`owner`,
        })}
      )
      select owner.*, array[${DEFAULT_ROLE}]::text[] as roles,
        coalesce((select array_agg(rp.permission_name order by rp.permission_name) from role_permissions rp
          where rp.role_name = ${DEFAULT_ROLE}), '{}') as permissions,
        false as totp_enabled, 0 as passkey_count
      from owner`,
    );
    return row && toUserRecord(row);
  }
}
