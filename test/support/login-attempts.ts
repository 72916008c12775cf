// Password sign-in attempts over HTTP, for the throttling and device-token
// tests: one attempt, a sign-in that must succeed, and a stranger's guesses
// until the account's bucket locks.
import { expect } from "vitest";
import { call, problemOf, type ApiUser, type TokenPair } from "./harness";

/** wrangler test env: LOGIN_MAX_FAILURES = 5. */
export const MAX_FAILURES = 5;

export type LoggedIn = { user: ApiUser; tokens: TokenPair; deviceToken: string };

/** POST /auth/login, with the device token when one is given. */
export const attempt = (email: string, password: string, deviceToken?: string) =>
  call("POST", "/auth/login", { body: { email, password, ...(deviceToken === undefined ? {} : { deviceToken }) } });

/** A sign-in that must succeed: its body. */
export async function loggedIn(email: string, password: string, deviceToken?: string): Promise<LoggedIn> {
  const res = await attempt(email, password, deviceToken);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

/** A stranger's wrong passwords, without a device token, until the account's bucket is locked (429 rate_limited). */
export async function strangerLocks(email: string): Promise<void> {
  for (let i = 0; i < MAX_FAILURES; i++) expect((await attempt(email, `a stranger's guess ${i}`)).status).toBe(401);
  const locked = await attempt(email, `a stranger's guess ${MAX_FAILURES}`);
  expect(locked.status).toBe(429);
  expect((await problemOf(locked)).code).toBe("rate_limited");
}
