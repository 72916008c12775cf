// GitHub is OAuth 2.0 without OpenID: the user is read from its REST API
// with the access token (which is then dropped). The identity is keyed on
// GitHub's numeric user id (a login can be renamed and reused); the email
// counts as verified only when it is the account's primary address and
// GitHub marks it verified. GitHub's API refuses requests without a
// User-Agent.
import { IdentityProviderError } from "../../core/errors";
import { emailOf, nameOf } from "./claims";
import type { ProviderSettings } from "./protocol";
import type { ProviderIdentity } from "./store";

const HEADERS = {
  Accept: "application/vnd.github+json",
  "User-Agent": "SecureAuth",
  "X-GitHub-Api-Version": "2022-11-28",
};

async function getJson(url: string, accessToken: string, timeoutMs: number): Promise<unknown> {
  const response = await fetch(url, {
    headers: { ...HEADERS, Authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new IdentityProviderError(`GitHub answered ${response.status} for the user`);
  }
  return response.json();
}

/** The GitHub user behind an access token, with its verified primary email if it has one. */
export async function githubIdentity(
  provider: ProviderSettings,
  accessToken: string,
  timeoutMs: number,
): Promise<ProviderIdentity> {
  const api = provider.apiBase ?? "https://api.github.com";
  const [user, emails] = await Promise.all([
    getJson(`${api}/user`, accessToken, timeoutMs),
    getJson(`${api}/user/emails`, accessToken, timeoutMs),
  ]);
  const id = (user as { id?: unknown } | null)?.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0)
    throw new IdentityProviderError("GitHub's user has no numeric id");
  const list = Array.isArray(emails) ? (emails as { email?: unknown; primary?: unknown; verified?: unknown }[]) : [];
  const primary = list.find((entry) => entry?.primary === true);
  const email = emailOf(primary?.email) ?? emailOf((user as { email?: unknown }).email);
  const login = (user as { login?: unknown }).login;
  return {
    provider: provider.id,
    issuer: provider.issuer,
    subject: String(id),
    email,
    emailVerified: email !== null && primary?.verified === true && emailOf(primary.email) === email,
    name: nameOf({ name: (user as { name?: unknown }).name ?? (typeof login === "string" ? login : undefined) }),
  };
}
