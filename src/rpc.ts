// The AuthService RPC entrypoint other Workers reach through a service
// binding (docs/rpc.md); its type is src/rpc-types.ts. It
// runs the same check as the authenticate middleware and answers every
// outcome with a result, never an exception or a rejection:
// - a bad token, or a token argument that is not a string: invalid_token;
// - a permission argument that is not a string: held by no token;
// - a configuration that does not load (ConfigError), a revocation-list read
//   that fails, or anything else unexpected: service_unavailable. It fails
//   closed, and is logged by error name only (the variable's name for a bad
//   configuration), never with the token.
import { WorkerEntrypoint } from "cloudflare:workers";
import { compose } from "./composition";
import type { Env } from "./config";
import { ConfigError, describeError, InvalidToken } from "./core/errors";
import type { AuthorizeResult, AuthServiceRpc, VerifyResult } from "./rpc-types";
import { holdsPermission } from "./features/tokens";

export class AuthService extends WorkerEntrypoint<Env> implements AuthServiceRpc {
  async verify(token: string): Promise<VerifyResult> {
    return this.authenticate(token, "verify");
  }

  async authorize(token: string, permission: string): Promise<AuthorizeResult> {
    const checked = await this.authenticate(token, "authorize");
    if (!checked.ok) return checked;
    // Fail closed: a permission argument that is not a string (a caller bug
    // across the binding) is held by no token.
    if (!holdsPermission(checked.claims, permission)) return { ok: false, code: "insufficient_permission" };
    return checked;
  }

  /** The verified claims, or why not; never throws. */
  private async authenticate(token: unknown, method: keyof AuthServiceRpc): Promise<VerifyResult> {
    try {
      // First, so a misconfigured service refuses every call alike.
      const runtime = await compose(this.env);
      if (typeof token !== "string") return { ok: false, code: "invalid_token" };
      return { ok: true, claims: await runtime.tokens.authenticate(token) };
    } catch (error) {
      if (error instanceof InvalidToken) return { ok: false, code: "invalid_token" };
      logFailure(method, error);
      return { ok: false, code: "service_unavailable" };
    }
  }
}

function logFailure(method: string, error: unknown): void {
  try {
    const cause =
      error instanceof ConfigError
        ? { msg: "rpc refused: invalid configuration", variable: error.variable }
        : { msg: "rpc refused: check failed", error: describeError(error) };
    console.error(JSON.stringify({ level: "error", method, ...cause }));
  } catch {
    // Logging must not turn a result into a rejection.
  }
}
