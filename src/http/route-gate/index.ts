// Answers for requests no route will take, before any body is read: an
// unknown path is 404, a known path with another method is 405 with Allow,
// and OPTIONS (outside a CORS preflight, which the CORS middleware answers)
// is 204 with Allow. So a bad body sent to a wrong place gets the answer
// about the place, not about the body.
import type { Context, MiddlewareHandler } from "hono";
import { MethodNotAllowed, NotFound } from "../../core/errors";

export type RouteEntry = { method: string; path: string };
type PathRule = { pattern: RegExp; allow: string[] };

const NO_PATHS: ReadonlySet<string> = new Set();

/** Paths whose answer is remembered; ids make paths many, so the memo is bounded and starts over when full. */
const MEMO_LIMIT = 2048;

/**
 * `switchedOff` names the paths the configuration turns off (a feature's
 * switch): they answer 404, exactly as a path no route takes.
 */
export function routeGate(
  routes: () => readonly RouteEntry[],
  switchedOff: (c: Context) => ReadonlySet<string> = () => NO_PATHS,
): MiddlewareHandler {
  let rules: PathRule[] | undefined;
  /** path -> the methods it allows, empty for a path no route takes. */
  const memo = new Map<string, readonly string[]>();
  const allowedAt = (path: string): readonly string[] => {
    let allow = memo.get(path);
    if (allow === undefined) {
      rules ??= compile(routes());
      allow = [...new Set(rules.filter((rule) => rule.pattern.test(path)).flatMap((rule) => rule.allow))];
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(path, allow);
    }
    return allow;
  };
  // Not async: a request it lets through costs no frame of its own.
  return (c, next) => {
    const allow = allowedAt(c.req.path);
    if (allow.length === 0 || switchedOff(c).has(c.req.path)) throw new NotFound();
    const method = c.req.method;
    if (method === "OPTIONS") return Promise.resolve(c.body(null, 204, { Allow: allow.join(", ") }));
    if (allow.includes(method)) return next();
    throw new MethodNotAllowed([...allow]);
  };
}

/** One rule per route path; the routes are read once, after they are all registered. */
function compile(routes: readonly RouteEntry[]): PathRule[] {
  const methodsByPath = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    if (method === "ALL") continue; // middleware
    const methods = methodsByPath.get(path) ?? new Set<string>();
    methods.add(method);
    if (method === "GET") methods.add("HEAD");
    methodsByPath.set(path, methods);
  }
  return [...methodsByPath].map(([path, methods]) => ({ pattern: toPattern(path), allow: [...methods, "OPTIONS"] }));
}

/** Hono's simple path syntax (`/users/:id`) as an anchored regular expression. */
function toPattern(path: string): RegExp {
  const source = path
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}$`);
}
