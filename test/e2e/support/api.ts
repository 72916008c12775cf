// Plain HTTP to the Worker from Node, for the steps a test does outside the
// browser (register, sign in, log out) and for reading tokens.
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { components } from "../../../packages/client/src/api.ts";

/**
 * The API's shapes, from the client package's types generated from /openapi.json; bearer mode has the refresh token.
 */
export type TokenPair = components["schemas"]["TokenPair"] & { refreshToken: string };
export type SignedIn = { user: components["schemas"]["User"]; tokens: TokenPair };

/** Long, not common, accepted by the password policy. */
export const PASSWORD = "violet-kestrel-harbour-31";

export function uniqueEmail(label: string): string {
  return `e2e-${label}-${randomUUID().slice(0, 8)}@example.com`;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export async function register(serviceUrl: string, label: string): Promise<SignedIn & { email: string }> {
  const email = uniqueEmail(label);
  const response = await postJson(`${serviceUrl}/auth/register`, { email, password: PASSWORD, name: `E2E ${label}` });
  if (response.status !== 201)
    throw new Error(`POST /auth/register answered ${response.status}: ${await response.text()}`);
  return { ...((await response.json()) as SignedIn), email };
}

export async function login(serviceUrl: string, email: string): Promise<SignedIn> {
  const response = await postJson(`${serviceUrl}/auth/login`, { email, password: PASSWORD });
  if (response.status !== 200)
    throw new Error(`POST /auth/login answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as SignedIn;
}

/**
 * Marks the account's address verified in the stack's database, as following
 * the verification link would (the e2e stack sends no mail): v3 adds a factor
 * or a passkey only to a verified address.
 */
export async function markEmailVerified(databaseUrl: string, email: string): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rowCount } = await db.query("update users set email_verified_at = now() where email = $1", [email]);
    if (rowCount !== 1) throw new Error(`no account with the address ${email}`);
  } finally {
    await db.end();
  }
}

export function bearer(accessToken: string): Record<string, string> {
  return { Authorization: `Bearer ${accessToken}` };
}

/** The payload of a JWT, unverified (base64url JSON). */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1];
  if (!part) throw new Error("not a JWT");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}
