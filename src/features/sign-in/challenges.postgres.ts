// Sign-ins and ceremonies in progress (auth_challenges): mfaTokens and
// WebAuthn challenges, stored as hashes. Spending is one conditional UPDATE,
// so two spends racing resolve to one.
import { sql } from "drizzle-orm";
import type { Challenge, ChallengeKind, ChallengeStore, NewChallenge } from "./store";
import type { DeviceInfo, FirstFactor } from "../../core/domain";
import type { Executor } from "../../adapters/postgres/database";
import { setPasswordHash } from "../../adapters/postgres/fragments";
import { rows, toDate } from "../../adapters/postgres/rows";

type ChallengeRow = {
  kind: ChallengeKind;
  user_id: string | null;
  throttle_key: string | null;
  first_factor: string | null;
  idp: string | null;
  device: DeviceInfo | null;
  failures: number;
  expires_at: Date | string;
};

const COLUMNS = sql`kind, user_id, throttle_key, first_factor, idp, device, failures, expires_at`;

/** The stored first factor; a row from before the column (or an unknown value) was a password. */
function firstFactorOf(value: string | null): FirstFactor {
  return value === "email" || value === "fed" ? value : "pwd";
}

function toChallenge(row: ChallengeRow): Challenge {
  return {
    kind: row.kind,
    userId: row.user_id,
    throttleKey: row.throttle_key,
    firstFactor: firstFactorOf(row.first_factor),
    ...(row.idp === null ? {} : { idp: row.idp }),
    device: row.device ?? {},
    failures: Number(row.failures),
    expiresAt: toDate(row.expires_at),
  };
}

export class ChallengeRepository implements ChallengeStore {
  constructor(private readonly db: Executor) {}

  async create(challenge: NewChallenge, at: Date, rehashedPassword?: string): Promise<void> {
    const insert = sql`insert into auth_challenges
      (key_hash, kind, user_id, throttle_key, first_factor, idp, device, created_at, expires_at)
      values (${challenge.keyHash}, ${challenge.kind}, ${challenge.userId}, ${challenge.throttleKey ?? null},
              ${challenge.firstFactor ?? null}, ${challenge.idp ?? null}::text,
              ${challenge.device ? JSON.stringify(challenge.device) : null}::jsonb, ${at}, ${challenge.expiresAt})`;
    if (rehashedPassword === undefined || challenge.userId === null) {
      await this.db.execute(insert);
      return;
    }
    await this.db.execute(
      sql`with c as (${insert} returning 1) ${setPasswordHash(challenge.userId, rehashedPassword, at)}`,
    );
  }

  async find(keyHash: string, kind: ChallengeKind, at: Date): Promise<Challenge | undefined> {
    const [row] = await rows<ChallengeRow>(
      this.db,
      sql`select ${COLUMNS} from auth_challenges
        where key_hash = ${keyHash} and kind = ${kind} and used_at is null and expires_at > ${at}`,
    );
    return row && toChallenge(row);
  }

  async spend(keyHash: string, kind: ChallengeKind, at: Date): Promise<Challenge | undefined> {
    const [row] = await rows<ChallengeRow>(
      this.db,
      sql`update auth_challenges set used_at = ${at}
        where key_hash = ${keyHash} and kind = ${kind} and used_at is null and expires_at > ${at}
        returning ${COLUMNS}`,
    );
    return row && toChallenge(row);
  }

  async recordFailure(keyHash: string, maxFailures: number, at: Date): Promise<void> {
    await this.db.execute(sql`update auth_challenges
      set failures = failures + 1, used_at = case when failures + 1 >= ${maxFailures}::int then ${at}::timestamptz end
      where key_hash = ${keyHash} and used_at is null and expires_at > ${at}`);
  }
}
