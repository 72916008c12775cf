// The passkeys' port: WebAuthn credentials.
//
// A store method is one statement (one round trip) unless it says otherwise,
// and each state change writes its audit row in that same statement.
import type { FactorAudit } from "../mfa/store";

/** The audit events this feature writes. */
export type PasskeyAuditEvent = "passkey.registered" | "passkey.removed";

export type PasskeyRecord = { id: string; name: string | null; createdAt: Date; lastUsedAt: Date | null };

/** What verifying an assertion needs. */
export type PasskeyCredential = PasskeyRecord & {
  userId: string;
  credentialId: string;
  /** base64url of the COSE public key. */
  publicKey: string;
  counter: number;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
};

export interface PasskeyStore {
  /**
   * Stores a new credential with a passkey.registered row; undefined (nothing written) when the credential id is
   * already registered (to anyone).
   */
  add(
    input: Omit<PasskeyCredential, "id" | "createdAt" | "lastUsedAt">,
    audit: FactorAudit,
  ): Promise<PasskeyRecord | undefined>;
  /** The user's passkeys, oldest first. */
  list(userId: string): Promise<PasskeyRecord[]>;
  /** The user's credential ids and transports, for the registration options to exclude. */
  credentialsOf(userId: string): Promise<{ credentialId: string; transports: string[] }[]>;
  findByCredentialId(credentialId: string): Promise<PasskeyCredential | undefined>;
  /** After a verified assertion: the new counter and backup state, and when. */
  markUsed(id: string, update: { counter: number; backedUp: boolean; at: Date }): Promise<void>;
  /** Removes one of the user's passkeys with a passkey.removed row; false when it is absent or not theirs. */
  remove(id: string, userId: string, audit: FactorAudit): Promise<boolean>;
}
