// The AuthService RPC entrypoint other Workers reach through a service
// binding (API.md "Worker-to-Worker RPC"). It runs the same check as the
// authenticate middleware and answers a bad token with a result, never an
// exception; only a broken configuration throws.
import { WorkerEntrypoint } from "cloudflare:workers";
import { compose } from "./composition";
import type { Env } from "./config";
import { InvalidToken } from "./errors";
import { holdsPermission, type AccessTokenClaims } from "./services/tokens";

export type VerifyResult = { ok: true; claims: AccessTokenClaims } | { ok: false; code: "invalid_token" };
export type AuthorizeResult =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; code: "invalid_token" | "insufficient_permission" };

export class AuthService extends WorkerEntrypoint<Env> {
  async verify(token: string): Promise<VerifyResult> {
    const claims = await this.authenticate(token);
    return claims ? { ok: true, claims } : { ok: false, code: "invalid_token" };
  }

  async authorize(token: string, permission: string): Promise<AuthorizeResult> {
    const claims = await this.authenticate(token);
    if (!claims) return { ok: false, code: "invalid_token" };
    // Fail closed: a permission argument that is not a string (a caller bug
    // across the binding) is held by no token.
    if (!holdsPermission(claims, permission)) {
      return { ok: false, code: "insufficient_permission" };
    }
    return { ok: true, claims };
  }

  /** The verified claims, or undefined for any token that does not pass. */
  private async authenticate(token: unknown): Promise<AccessTokenClaims | undefined> {
    const runtime = await compose(this.env);
    if (typeof token !== "string") return undefined;
    try {
      return await runtime.tokens.authenticate(token);
    } catch (error) {
      if (error instanceof InvalidToken) return undefined;
      throw error;
    }
  }
}
