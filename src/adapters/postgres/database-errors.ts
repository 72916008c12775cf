// Driver errors become typed errors here, at the edge of the postgres store
// layer, so services and the HTTP error mapper never look at SQLSTATEs or
// socket errors: a database that cannot be reached, or a transaction the
// database aborted (deadlock, serialization failure), is ServiceUnavailable
// (nothing was written); text Postgres cannot store is ValidationFailed.
// Anything else passes through unchanged and ends as a 500.
import { AuthError, describeError, ServiceUnavailable, ValidationFailed } from "../../core/errors";

export function translateDatabaseError(error: unknown): unknown {
  if (error instanceof AuthError) return error;
  if (hasSqlState(error, "40P01", "40001")) {
    log("transaction aborted by the database", error);
    return new ServiceUnavailable(error);
  }
  if (hasSqlState(error, "22021", "22P05")) {
    return new ValidationFailed([{ path: "(input)", message: "Contains characters that cannot be stored" }]);
  }
  if (isDatabaseUnreachable(error)) {
    log("database unreachable", error);
    return new ServiceUnavailable(error);
  }
  return error;
}

/** The store with every method's failure translated; for the stores factory. */
export function translatingErrors<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args);
        } catch (error) {
          throw translateDatabaseError(error);
        }
      };
    },
  });
}

/** Whether the error, or one it wraps, carries one of these SQLSTATEs. */
function hasSqlState(error: unknown, ...codes: string[]): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && codes.includes(code)) return true;
  }
  return false;
}

/** Connection-level failures, as opposed to errors in a query. */
function isDatabaseUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== "object") break;
    const { code, message, type } = e as { code?: unknown; message?: unknown; type?: unknown };
    if (
      typeof code === "string" &&
      /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|08\d{3}|57P0[1-3])$/.test(code)
    )
      return true;
    if (type === "error" && e.constructor?.name === "ErrorEvent") return true; // WebSocket failed to open
    if (
      typeof message === "string" &&
      (/connection (terminated|timeout)|websocket|ECONNREFUSED/i.test(message) ||
        /timeout exceeded when trying to connect|Connection refused/i.test(message))
    )
      return true;
  }
  return false;
}

/** Name and SQLSTATE only: a driver's message may hold SQL and its parameters. */
function log(msg: string, error: unknown): void {
  console.error(JSON.stringify({ level: "error", msg, error: describeError(error) }));
}
