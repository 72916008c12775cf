// HAND-TYPED from the v3 contract (docs/api.md: Federated sign-in, Email
// sign-in, Hosted pages) for routes this branch of the service does not
// serve yet: GET /auth/providers, POST /auth/email/code and
// /auth/email/code/verify, POST /auth/exchange, POST /auth/handoff,
// GET and DELETE /me/identities, POST /auth/reauthenticate/email.
// When those routes land, `npm run client:types` generates their shapes
// into api.ts: replace each type below by its generated operation
// (RequestBody<"..."> / ResponseBody<"...">) and delete this file.
import type { LoggedIn, User } from "./types.js";

/** GET /auth/providers: the sign-in buttons a page draws, and whether email codes are on. */
export type Providers = {
  providers: { id: string; name: string; kind: "oauth" | "oidc" }[];
  emailSignIn: boolean;
};

/** POST /auth/email/code: a 6-digit code (and a magic link) to the address; 202 `{}` whatever the address. */
export type EmailCodeRequest = { email: string; redirectTo?: string };

/** POST /auth/email/code/verify: the code typed, or the magic link's token. */
export type EmailCodeVerification = ({ email: string; code: string } | { token: string }) & {
  deviceName?: string;
  deviceToken?: string;
};

/** POST /auth/exchange: a one-time code (from a provider's return or a handoff) and the PKCE verifier. */
export type CodeExchange = { code: string; codeVerifier: string; deviceName?: string; deviceToken?: string };

/** The answer of an email-code sign-in or a code exchange. */
export type SignedInNew = LoggedIn & { isNewUser: boolean };

/** POST /auth/handoff: the signed-in page's session turned into a one-time code for the app. */
export type HandoffRequest = { redirectTo: string; codeChallenge: string; state?: string };
/** `redirectTo?code=...&state=...`: where to send the browser. */
export type HandoffAnswer = { redirect: string };

/** One provider identity linked to the caller's account (GET /me/identities). */
export type Identity = {
  id: string;
  provider: string;
  email: string | null;
  createdAt: string;
  lastUsedAt: string | null;
};

export type { User };
