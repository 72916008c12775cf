// authorize(permission): after authenticate, decides from the token's
// `permissions` claim alone, with no database read. Checks its option when
// built, so a typo in a route fails at start, not on the first request.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";
import { InsufficientPermission, InvalidToken } from "../../core/errors";
import { holdsPermission } from "../../features/tokens";

const PERMISSION = /^[a-z][a-z0-9_-]*(:[a-z][a-z0-9_-]*)+$/;

export const authorize = (permission: string) => {
  if (!PERMISSION.test(permission))
    throw new TypeError(`authorize: "${permission}" is not a permission name like "users:read"`);
  return createMiddleware<AppEnv>(async (c, next) => {
    const claims = c.get("auth");
    if (!claims) throw new InvalidToken({ cause: new Error("authorize used without authenticate") });
    if (!holdsPermission(claims, permission)) throw new InsufficientPermission({ permission });
    await next();
  });
};
