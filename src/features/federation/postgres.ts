// Federated sign-in over Postgres: flows, one-time codes and nonces as
// hashed, expiring, single-use rows (spent by one conditional UPDATE, so
// racing spends resolve to one), and the identities linked to accounts.
import { sql, type SQL } from "drizzle-orm";
import type { Executor } from "../../adapters/postgres/database";
import { auditInsert, textArray } from "../../adapters/postgres/fragments";
import { rows, toAmr, toDate } from "../../adapters/postgres/rows";
import { toUserRecord, type UserRow } from "../../adapters/postgres/user-row";
import { ENDED_PASSWORD_HASH, type UserRecord } from "../../core/domain";
import type {
  CodeSpend,
  FederationStore,
  Flow,
  IdentityAudit,
  IdentityRecord,
  NewCode,
  NewFederatedAccount,
  NewFlow,
  NewIdentity,
  SpentCode,
} from "./store";

const DEFAULT_ROLE = "user";

type FlowRow = {
  flow_id: string;
  binding_hash: string | null;
  provider: string;
  code_verifier: string;
  nonce: string | null;
  redirect_to: string;
  app_state: string | null;
  code_challenge: string;
  link_user_id: string | null;
  expires_at: Date | string;
};

type CodeRow = {
  kind: "sign_in" | "link" | "handoff";
  user_id: string;
  provider: string;
  code_challenge: string;
  is_new_user: boolean;
  identity: SpentCode["identity"];
  amr: unknown;
  auth_time: Date | string | null;
  idp: string | null;
  session_id: string | null;
  used_at: Date | string | null;
  first: boolean;
};

type IdentityRow = {
  id: string;
  user_id: string;
  provider: string;
  issuer: string;
  subject: string;
  email: string | null;
  email_verified: boolean;
  name: string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
};

const IDENTITY_COLUMNS = sql`id, user_id, provider, issuer, subject, email, email_verified, name, created_at,
  last_used_at`;

function toIdentity(row: IdentityRow): IdentityRecord {
  return {
    id: row.id,
    userId: row.user_id,
    provider: row.provider,
    issuer: row.issuer,
    subject: row.subject,
    email: row.email,
    emailVerified: row.email_verified,
    name: row.name,
    createdAt: toDate(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : toDate(row.last_used_at),
  };
}

function toSpent(row: CodeRow): SpentCode {
  return {
    kind: row.kind,
    userId: row.user_id,
    provider: row.provider,
    codeChallenge: row.code_challenge,
    isNewUser: row.is_new_user,
    identity: row.identity,
    proof:
      row.amr === null || row.auth_time === null
        ? null
        : {
            amr: toAmr(row.amr),
            authTime: toDate(row.auth_time),
            ...(row.idp === null ? {} : { idp: row.idp }),
          },
  };
}

/** identity.linked's metadata: which provider and identity, never a token or the provider's subject. */
const linkedMetadata = (provider: string, identityId: SQL) =>
  sql`jsonb_build_object('provider', ${provider}::text, 'identityId', ${identityId})`;

export class FederationRepository implements FederationStore {
  constructor(private readonly db: Executor) {}

  async createFlow(flow: NewFlow, at: Date): Promise<void> {
    await this.db.execute(sql`insert into oauth_flows (state_hash, flow_id, binding_hash, provider, code_verifier,
        nonce, redirect_to, app_state, code_challenge, link_user_id, created_at, expires_at)
      values (${flow.stateHash}, ${flow.flowId}, ${flow.bindingHash}, ${flow.provider}, ${flow.codeVerifier},
        ${flow.nonce}, ${flow.redirectTo}, ${flow.appState}, ${flow.codeChallenge}, ${flow.linkUserId}, ${at},
        ${flow.expiresAt})`);
  }

  async spendFlow(stateHash: string, at: Date): Promise<Flow | undefined> {
    const [row] = await rows<FlowRow>(
      this.db,
      sql`update oauth_flows set used_at = ${at}
        where state_hash = ${stateHash} and used_at is null and expires_at > ${at}
        returning flow_id, binding_hash, provider, code_verifier, nonce, redirect_to, app_state, code_challenge,
          link_user_id, expires_at`,
    );
    return (
      row && {
        flowId: row.flow_id,
        bindingHash: row.binding_hash,
        provider: row.provider,
        codeVerifier: row.code_verifier,
        nonce: row.nonce,
        redirectTo: row.redirect_to,
        appState: row.app_state,
        codeChallenge: row.code_challenge,
        linkUserId: row.link_user_id,
        expiresAt: toDate(row.expires_at),
      }
    );
  }

  async createCode(code: NewCode, at: Date): Promise<void> {
    await this.db.execute(sql`insert into oauth_codes (code_hash, kind, user_id, provider, code_challenge,
        is_new_user, identity, amr, auth_time, idp, created_at, expires_at)
      values (${code.codeHash}, ${code.kind}, ${code.userId}, ${code.provider}, ${code.codeChallenge},
        ${code.isNewUser}, ${code.identity === null ? null : JSON.stringify(code.identity)}::jsonb,
        ${code.proof === null ? null : textArray(code.proof.amr)}, ${code.proof?.authTime ?? null},
        ${code.proof?.idp ?? null}::text, ${at}, ${code.expiresAt})`);
  }

  async spendSignInCode(codeHash: string, at: Date): Promise<CodeSpend> {
    const [row] = await rows<CodeRow>(
      this.db,
      sql`with spent as (
          update oauth_codes set used_at = ${at}
          where code_hash = ${codeHash} and kind in ('sign_in', 'handoff') and used_at is null and expires_at > ${at}
          returning kind, user_id, provider, code_challenge, is_new_user, identity, amr, auth_time, idp, session_id,
            used_at
        )
        select *, true as first from spent
        union all
        select kind, user_id, provider, code_challenge, is_new_user, identity, amr, auth_time, idp, session_id, used_at,
          false
        from oauth_codes
        where code_hash = ${codeHash} and kind in ('sign_in', 'handoff') and used_at is not null
          and not exists (select 1 from spent)`,
    );
    if (!row) return undefined;
    if (row.first) return { spent: toSpent(row) };
    return { replayed: { userId: row.user_id, sessionId: row.session_id } };
  }

  async recordCodeSession(codeHash: string, sessionId: string): Promise<void> {
    await this.db.execute(sql`update oauth_codes set session_id = ${sessionId} where code_hash = ${codeHash}`);
  }

  async spendLinkCode(
    codeHash: string,
    userId: string,
    codeChallenge: string,
    at: Date,
  ): Promise<SpentCode | undefined> {
    const [row] = await rows<CodeRow>(
      this.db,
      sql`update oauth_codes set used_at = ${at}
        where code_hash = ${codeHash} and kind = 'link' and user_id = ${userId}
          and code_challenge = ${codeChallenge} and used_at is null and expires_at > ${at}
        returning kind, user_id, provider, code_challenge, is_new_user, identity, amr, auth_time, idp, session_id,
          used_at, true as first`,
    );
    return row && toSpent(row);
  }

  async acceptNonce(nonceHash: string, expiresAt: Date, at: Date): Promise<boolean> {
    const inserted = await rows<{ nonce_hash: string }>(
      this.db,
      sql`insert into oauth_nonces (nonce_hash, created_at, expires_at) values (${nonceHash}, ${at}, ${expiresAt})
        on conflict (nonce_hash) do nothing returning nonce_hash`,
    );
    return inserted.length === 1;
  }

  async findIdentity(provider: string, issuer: string, subject: string): Promise<IdentityRecord | undefined> {
    const [row] = await rows<IdentityRow>(
      this.db,
      sql`select ${IDENTITY_COLUMNS} from user_identities
        where provider = ${provider} and issuer = ${issuer} and subject = ${subject}`,
    );
    return row && toIdentity(row);
  }

  async touchIdentity(id: string, at: Date, refreshTokenCiphertext: string | null): Promise<void> {
    await this.db.execute(sql`update user_identities set last_used_at = ${at},
        refresh_token_ciphertext = coalesce(${refreshTokenCiphertext}, refresh_token_ciphertext)
      where id = ${id}`);
  }

  async linkIdentity(identity: NewIdentity, audit: IdentityAudit): Promise<IdentityRecord | undefined> {
    const [row] = await rows<IdentityRow>(
      this.db,
      sql`with linked as (
          insert into user_identities (user_id, provider, issuer, subject, email, email_verified, name,
            refresh_token_ciphertext, created_at, last_used_at)
          values (${identity.userId}, ${identity.provider}, ${identity.issuer}, ${identity.subject},
            ${identity.email}, ${identity.emailVerified}, ${identity.name}, ${identity.refreshTokenCiphertext},
            ${audit.at}, ${audit.at})
          on conflict (provider, issuer, subject) do nothing
          returning ${IDENTITY_COLUMNS}
        ), a as (
          ${auditInsert({
            event: "identity.linked",
            userId: sql`linked.user_id`,
            actorId: audit.actorId,
            sessionId: audit.sessionId,
            origin: audit.origin,
            metadata: linkedMetadata(identity.provider, sql`linked.id`),
            at: audit.at,
            from: sql`linked`,
          })}
        )
        select * from linked`,
    );
    return row && toIdentity(row);
  }

  async createAccount(input: NewFederatedAccount): Promise<{ user: UserRecord; identity: IdentityRecord } | undefined> {
    const { identity, audit } = input;
    const { at, origin } = audit;
    try {
      const [row] = await rows<UserRow & { identity: IdentityRow }>(
        this.db,
        sql`with owner as (
            insert into users (email, password_hash, name, status, email_verified_at, created_at, updated_at)
            values (${input.email}, ${ENDED_PASSWORD_HASH}, ${input.name}, 'active',
              ${input.emailVerified ? at : null}::timestamptz, ${at}, ${at})
            on conflict (email) do nothing
            returning id, email, name, status, password_hash, email_verified_at, created_at, grants_version,
              device_generation
          ), granted as (
            insert into user_roles (user_id, role_name, created_at) select owner.id, ${DEFAULT_ROLE}, ${at} from owner
            returning user_id
          ), linked as (
            insert into user_identities (user_id, provider, issuer, subject, email, email_verified, name,
              refresh_token_ciphertext, created_at, last_used_at)
            select owner.id, ${identity.provider}, ${identity.issuer}, ${identity.subject}, ${identity.email},
              ${identity.emailVerified}, ${identity.name}, ${identity.refreshTokenCiphertext}, ${at}, ${at}
            from owner
            returning ${IDENTITY_COLUMNS}
          ), registered as (
            ${auditInsert({
              event: "user.registered",
              userId: sql`owner.id`,
              actorId: sql`owner.id`,
              sessionId: null,
              origin,
              metadata: { provider: identity.provider },
              at,
              from: sql`owner`,
            })}
          ), a as (
            ${auditInsert({
              event: "identity.linked",
              userId: sql`linked.user_id`,
              actorId: sql`linked.user_id`,
              sessionId: null,
              origin,
              metadata: linkedMetadata(identity.provider, sql`linked.id`),
              at,
              from: sql`linked`,
            })}
          )
          select owner.*, false as totp_enabled, 0 as passkey_count, array[${DEFAULT_ROLE}]::text[] as roles,
            coalesce((select array_agg(rp.permission_name order by rp.permission_name) from role_permissions rp
              where rp.role_name = ${DEFAULT_ROLE}), '{}') as permissions,
            (select to_jsonb(linked) from linked) as identity
          from owner`,
      );
      if (!row) return undefined;
      return { user: toUserRecord(row), identity: toIdentity(row.identity) };
    } catch (error) {
      // The identity linked meanwhile by a racing sign-in: nothing was written.
      if ((error as { code?: string }).code === "23505") return undefined;
      throw error;
    }
  }

  async listIdentities(userId: string): Promise<IdentityRecord[]> {
    const found = await rows<IdentityRow>(
      this.db,
      sql`select ${IDENTITY_COLUMNS} from user_identities where user_id = ${userId} order by created_at, id`,
    );
    return found.map(toIdentity);
  }

  async unlinkIdentity(
    id: string,
    userId: string,
    rule: { emailSignIn: boolean },
    audit: IdentityAudit,
  ): Promise<"unlinked" | "absent" | "last_credential"> {
    const [row] = await rows<{ outcome: "unlinked" | "absent" | "last_credential" }>(
      this.db,
      sql`with target as (
          select i.id, i.provider from user_identities i where i.id = ${id} and i.user_id = ${userId}
          for update
        ), other_way as (
          select ${rule.emailSignIn}::boolean
            or exists (select 1 from users u where u.id = ${userId} and u.password_hash <> ${ENDED_PASSWORD_HASH})
            or exists (select 1 from passkeys p where p.user_id = ${userId})
            or exists (select 1 from user_identities o where o.user_id = ${userId} and o.id <> ${id}) as ok
        ), unlinked as (
          delete from user_identities where id in (select id from target) and (select ok from other_way)
          returning id, provider, user_id
        ), a as (
          ${auditInsert({
            event: "identity.unlinked",
            userId: sql`unlinked.user_id`,
            actorId: audit.actorId,
            sessionId: audit.sessionId,
            origin: audit.origin,
            metadata: sql`jsonb_build_object('provider', unlinked.provider, 'identityId', unlinked.id)`,
            at: audit.at,
            from: sql`unlinked`,
          })}
        )
        select case when exists (select 1 from unlinked) then 'unlinked'
          when not exists (select 1 from target) then 'absent' else 'last_credential' end as outcome`,
    );
    return row?.outcome ?? "absent";
  }

  async appleGrantsOf(userId: string): Promise<string[]> {
    const found = await rows<{ refresh_token_ciphertext: string }>(
      this.db,
      sql`select refresh_token_ciphertext from user_identities
        where user_id = ${userId} and provider = 'apple' and refresh_token_ciphertext is not null`,
    );
    return found.map((row) => row.refresh_token_ciphertext);
  }
}
