// Users and their effective roles and permissions. Roles and permissions are
// rows (roles, role_permissions, user_roles), so they resolve here in SQL.
import { sql } from "drizzle-orm";
import type { AddressProof } from "../lifecycle/store";
import type { EndedSession } from "../sessions/store";
import type { RequestOrigin, UserRecord } from "../../core/domain";
import type { UserStore } from "./store";
import type { Executor } from "../../adapters/postgres/database";
import {
  auditInsert,
  endOneTimeTokens,
  endSessions,
  setPasswordHash,
  USER_WITH_GRANTS,
} from "../../adapters/postgres/fragments";
import { rows, toDate } from "../../adapters/postgres/rows";
import { toUserRecord, type UserRow } from "../../adapters/postgres/user-row";
import { ENDED_PASSWORD_HASH } from "../../core/domain";

export { ENDED_PASSWORD_HASH };

export class UserRepository implements UserStore {
  constructor(private readonly db: Executor) {}

  async findById(id: string): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(this.db, sql`select ${USER_WITH_GRANTS} from users u where u.id = ${id}`);
    return row && toUserRecord(row);
  }

  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(this.db, sql`select ${USER_WITH_GRANTS} from users u where u.email = ${email}`);
    return row && toUserRecord(row);
  }

  async setPasswordHash(id: string, passwordHash: string, at: Date): Promise<void> {
    // Sign-ins waiting for their second step were proved with the old password: they end too. So
    // does a pending email change, which whoever knew the old password may have asked for.
    await this.db.execute(sql`with changed as (${setPasswordHash(id, passwordHash, at)} returning id),
      pending as (update auth_challenges set used_at = ${at} where user_id = (select id from changed)
        and kind = 'mfa_sign_in' and used_at is null)
      ${endOneTimeTokens(sql`(select id from changed)`, "password_changed", at, ["password_reset", "email_change"])}`);
  }

  /**
   * One statement, every part conditioned on `claimed`, the UPDATE that finds
   * the address still unverified: of two proofs racing, the row lock lets one
   * claim and the other find the address verified, writing nothing. An ended
   * password is a hash no password matches (not a PHC string).
   */
  async claimByProof(input: {
    userId: string;
    proof: AddressProof;
    endPassword: boolean;
    origin: RequestOrigin;
    at: Date;
  }): Promise<EndedSession[] | undefined> {
    const { userId, proof, origin, at } = input;
    const owner = sql`(select id from claimed)`;
    const endedSessions = endSessions(sql`s.user_id = ${owner}`, {
      event: "session.revoked",
      reason: proof,
      actorId: null,
      origin,
      at,
    });
    const found = await rows<{ kind: "claim" | "session"; id: string; last_used_at: Date | string | null }>(
      this.db,
      sql`
      with claimed as (
        update users set email_verified_at = ${at}, updated_at = ${at}, device_generation = device_generation + 1
          ${input.endPassword ? sql`, password_hash = ${ENDED_PASSWORD_HASH}` : sql``}
        where id = ${userId} and email_verified_at is null
        returning id
      ), ${endedSessions}, tokens as (
        ${endOneTimeTokens(owner, "claimed_by_proof", at)} returning 1
      ), totp as (
        delete from totp_factors where user_id = ${owner} returning 1
      ), codes as (
        delete from recovery_codes where user_id = ${owner} returning 1
      ), keys as (
        delete from passkeys where user_id = ${owner} returning 1
      ), identities as (
        delete from user_identities where user_id = ${owner} returning 1
      ), challenges as (
        update auth_challenges set used_at = ${at} where user_id = ${owner} and used_at is null
          and expires_at > ${at} returning 1
      ), claim_audit as (
        ${auditInsert({
          event: "user.claimed_by_proof",
          userId: sql`claimed.id`,
          actorId: sql`claimed.id`,
          sessionId: null,
          origin,
          metadata: sql`jsonb_build_object('proof', ${proof}::text, 'sessions', (select count(*) from ended)::int,
            'oneTimeTokens', (select count(*) from tokens)::int, 'totp', (select count(*) from totp)::int,
            'recoveryCodes', (select count(*) from codes)::int, 'passkeys', (select count(*) from keys)::int,
            'identities', (select count(*) from identities)::int, 'challenges', (select count(*) from challenges)::int, 'passwordEnded', ${input.endPassword}::boolean)`,
          at,
          from: sql`claimed`,
        })}
      )
      select 'claim' as kind, id, null::timestamptz as last_used_at from claimed
      union all
      select 'session', id, last_used_at from ended`,
    );
    if (!found.some((row) => row.kind === "claim")) return undefined;
    return found
      .filter((row) => row.kind === "session")
      .map((row) => ({ id: row.id, lastUsedAt: toDate(row.last_used_at!) }))
      .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async markEmailVerified(id: string, at: Date): Promise<void> {
    await this.db.execute(
      sql`update users set email_verified_at = coalesce(email_verified_at, ${at}), updated_at = ${at} where id = ${id}`,
    );
  }

  /**
   * The NOT EXISTS settles the common case in the statement; two changes to
   * one address racing each other meet the unique index, and the loser's
   * unique violation answers false as well.
   */
  async changeEmail(id: string, newEmail: string, at: Date): Promise<boolean> {
    try {
      const changed = await rows<{ id: string }>(
        this.db,
        sql`with changed as (
          update users set email = ${newEmail}, email_verified_at = ${at}, updated_at = ${at}
          where id = ${id} and not exists (select 1 from users taken
            where taken.email = ${newEmail} and taken.id <> ${id})
          returning id
        ), ended as (${endOneTimeTokens(sql`(select id from changed)`, "email_changed", at)})
        select id from changed`,
      );
      return changed.length > 0;
    } catch (error) {
      if ((error as { code?: unknown }).code === "23505") return false;
      throw error;
    }
  }

  async updateName(id: string, name: string | null, at: Date): Promise<UserRecord | undefined> {
    const [row] = await rows<UserRow>(
      this.db,
      sql`with updated as (update users set name = ${name}, updated_at = ${at} where id = ${id} returning *)
      select ${USER_WITH_GRANTS} from updated u`,
    );
    return row && toUserRecord(row);
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await rows<{ id: string }>(this.db, sql`delete from users where id = ${id} returning id`);
    return deleted.length > 0;
  }
}
