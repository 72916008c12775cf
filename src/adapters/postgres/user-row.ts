// A user as every statement that returns one selects it (USER_WITH_GRANTS),
// and its record: shared by the accounts, sign-in and admin stores.
import type { UserRecord, UserStatus } from "../../core/domain";
import { toDate, toStringArray } from "./rows";

/** A row selected with USER_WITH_GRANTS. */
export type UserRow = {
  id: string;
  email: string;
  name: string | null;
  status: UserStatus;
  password_hash: string;
  email_verified_at: Date | string | null;
  created_at: Date | string;
  grants_version: number;
  device_generation: number | string | null;
  roles: unknown;
  permissions: unknown;
  totp_enabled: boolean | null;
  passkey_count: number | string | null;
};

export function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    status: row.status,
    passwordHash: row.password_hash,
    emailVerified: row.email_verified_at !== null && row.email_verified_at !== undefined,
    createdAt: toDate(row.created_at),
    roles: toStringArray(row.roles),
    permissions: toStringArray(row.permissions),
    grantsVersion: Number(row.grants_version ?? 0),
    mfa: { totp: row.totp_enabled === true, passkeys: Number(row.passkey_count ?? 0) },
    deviceGeneration: Number(row.device_generation ?? 0),
  };
}
