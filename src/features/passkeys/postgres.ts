// Passkeys (WebAuthn credentials): the public key, its sign counter and
// backup flags. A credential id is registered once, to anyone; adding and
// removing write their audit rows in the same statement, and end the user's
// pending email change there too (a factor change, as in second-factors.ts).
import { sql } from "drizzle-orm";
import type { FactorAudit } from "../mfa/store";
import type { PasskeyCredential, PasskeyRecord, PasskeyStore } from "./store";
import type { Executor } from "../../adapters/postgres/database";
import { auditInsert, endPendingEmailChanges, textArray } from "../../adapters/postgres/fragments";
import { rows, toDate, toStringArray } from "../../adapters/postgres/rows";

type PasskeyRow = {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  counter: number | string;
  transports: unknown;
  device_type: string;
  backed_up: boolean;
  name: string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
};

function toRecord(row: Pick<PasskeyRow, "id" | "name" | "created_at" | "last_used_at">): PasskeyRecord {
  return {
    id: row.id,
    name: row.name,
    createdAt: toDate(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : toDate(row.last_used_at),
  };
}

export class PasskeyRepository implements PasskeyStore {
  constructor(private readonly db: Executor) {}

  async add(
    input: Omit<PasskeyCredential, "id" | "createdAt" | "lastUsedAt">,
    audit: FactorAudit,
  ): Promise<PasskeyRecord | undefined> {
    // The id is chosen here so the audit row can name it (never the credential id or key).
    const id = crypto.randomUUID();
    const [row] = await rows<PasskeyRow>(
      this.db,
      sql`with added as (
          insert into passkeys
            (id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, name, created_at)
          values (${id}, ${input.userId}, ${input.credentialId}, ${input.publicKey}, ${input.counter},
            ${textArray(input.transports)}, ${input.deviceType}, ${input.backedUp}, ${input.name}, ${audit.at})
          on conflict (credential_id) do nothing
          returning id, user_id, name, created_at, last_used_at
        ), a as (
          ${auditInsert({
            event: "passkey.registered",
            userId: input.userId,
            actorId: audit.actorId,
            sessionId: audit.sessionId,
            origin: audit.origin,
            metadata: { passkeyId: id, name: input.name },
            at: audit.at,
            from: sql`added`,
          })}
        ), changes as (${endPendingEmailChanges(sql`(select user_id from added)`, "factor_changed", audit.at)})
        select id, name, created_at, last_used_at from added`,
    );
    return row && toRecord(row);
  }

  async list(userId: string): Promise<PasskeyRecord[]> {
    const found = await rows<PasskeyRow>(
      this.db,
      sql`select id, name, created_at, last_used_at from passkeys where user_id = ${userId} order by created_at, id`,
    );
    return found.map(toRecord);
  }

  async credentialsOf(userId: string): Promise<{ credentialId: string; transports: string[] }[]> {
    const found = await rows<PasskeyRow>(
      this.db,
      sql`select credential_id, transports from passkeys where user_id = ${userId} order by created_at, id`,
    );
    return found.map((row) => ({ credentialId: row.credential_id, transports: toStringArray(row.transports) }));
  }

  async findByCredentialId(credentialId: string): Promise<PasskeyCredential | undefined> {
    const [row] = await rows<PasskeyRow>(this.db, sql`select * from passkeys where credential_id = ${credentialId}`);
    if (!row) return undefined;
    return {
      ...toRecord(row),
      userId: row.user_id,
      credentialId: row.credential_id,
      publicKey: row.public_key,
      counter: Number(row.counter),
      transports: toStringArray(row.transports),
      deviceType: row.device_type,
      backedUp: row.backed_up,
    };
  }

  async markUsed(id: string, update: { counter: number; backedUp: boolean; at: Date }): Promise<void> {
    await this.db.execute(
      sql`update passkeys set counter = ${update.counter},
        backed_up = ${update.backedUp}, last_used_at = ${update.at} where id = ${id}`,
    );
  }

  async remove(id: string, userId: string, audit: FactorAudit): Promise<boolean> {
    const [row] = await rows<{ removed: boolean }>(
      this.db,
      sql`with removed as (
          delete from passkeys where id = ${id} and user_id = ${userId} returning id, user_id
        ), a as (
          ${auditInsert({
            event: "passkey.removed",
            userId,
            actorId: audit.actorId,
            sessionId: audit.sessionId,
            origin: audit.origin,
            metadata: { passkeyId: id },
            at: audit.at,
            from: sql`removed`,
          })}
        ), changes as (${endPendingEmailChanges(sql`(select user_id from removed)`, "factor_changed", audit.at)})
        select exists (select 1 from removed) as removed`,
    );
    return row?.removed === true;
  }
}
