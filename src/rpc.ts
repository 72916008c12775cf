// The AuthService RPC entrypoint other Workers reach through a service
// binding (docs/rpc.md); its type is src/rpc-types.ts. It
// runs the same check as the authenticate middleware and answers every
// outcome with a result, never an exception or a rejection:
// - a bad token, or a token argument that is not a string: invalid_token;
// - a permission argument that is not a string: held by no token;
// - options that are not an object, or whose `org` is neither absent nor a
//   string: held by no token either (a caller's bug fails closed; an org
//   permission never counts without an org that is the token's active one);
// - a configuration that does not load (ConfigError), a revocation-list read
//   that fails, or anything else unexpected: service_unavailable. It fails
//   closed, and is logged by error name only (the variable's name for a bad
//   configuration), never with the token.
import { WorkerEntrypoint } from "cloudflare:workers";
import { compose } from "./composition";
import type { Env } from "./config";
import { ConfigError, describeError, InvalidToken } from "./core/errors";
import type { AccessTokenClaims, AuthorizeOptions, AuthorizeResult, AuthServiceRpc, VerifyResult } from "./rpc-types";
import { holdsPermission, holdsPermissionIn } from "./features/tokens";

export class AuthService extends WorkerEntrypoint<Env> implements AuthServiceRpc {
  async verify(token: string): Promise<VerifyResult> {
    return this.authenticate(token, "verify");
  }

  async authorize(token: string, permission: string, options?: AuthorizeOptions): Promise<AuthorizeResult> {
    const checked = await this.authenticate(token, "authorize");
    if (!checked.ok) return checked;
    // Fail closed: a permission argument that is not a string (a caller bug
    // across the binding) is held by no token, nor is one asked of options
    // this method cannot read.
    if (!holds(checked.claims, permission, options)) return { ok: false, code: "insufficient_permission" };
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

/** The permission check of authorize, for any input: false for whatever it cannot read. */
function holds(claims: AccessTokenClaims, permission: unknown, options: unknown): boolean {
  try {
    if (options === undefined || options === null) return holdsPermission(claims, permission);
    if (typeof options !== "object" || Array.isArray(options)) return false;
    const org: unknown = (options as { org?: unknown }).org;
    if (org === undefined) return holdsPermission(claims, permission);
    return holdsPermissionIn(claims, permission, org);
  } catch {
    // A getter or proxy that throws (possible in-process only, never across a binding) holds nothing.
    return false;
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
