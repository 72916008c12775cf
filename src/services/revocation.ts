// Immediate revocation at the edge: ended session ids are written to the
// REVOKED_SESSIONS KV namespace for as long as an access token of theirs can
// live, so authenticate, /auth/verify and the RPC refuse those tokens before
// they expire. KV is eventually consistent across locations (about 60 s, the
// documented bound); within one location it is immediate.

const PREFIX = "revoked-session:";
/** KV's smallest expirationTtl. */
const MIN_KV_TTL = 60;
/** Outlive the clock tolerance that verification allows past `exp`. */
const CLOCK_TOLERANCE = 30;

export class SessionRevocationList {
  constructor(
    private readonly kv: KVNamespace,
    private readonly accessTokenTtl: number,
  ) {}

  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.kv.get(PREFIX + sessionId)) !== null;
  }

  async revoke(sessionIds: readonly string[]): Promise<void> {
    const expirationTtl = Math.max(MIN_KV_TTL, this.accessTokenTtl + CLOCK_TOLERANCE);
    await Promise.all([...new Set(sessionIds)].map((id) => this.kv.put(PREFIX + id, "1", { expirationTtl })));
  }
}
