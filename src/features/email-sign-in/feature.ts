// Email sign-in as the composition root wires it: the codes store, the
// service (its code hasher keyed once per isolate and secret), the routes;
// and the paths EMAIL_SIGN_IN=false switches off (404, as if absent).
import type { Feature } from "../../features";
import { EmailCodeHasher } from "./codes";
import { EmailCodeRepository } from "./postgres";
import { EmailReauthCodes } from "./reauthentication";
import { EmailSignInService } from "./service";
import type { EmailCodeStore } from "./store";

/** The paths of email sign-in: the API's two and the magic link's page. */
export const EMAIL_SIGN_IN_PATHS: readonly string[] = ["/auth/email/code", "/auth/email/code/verify", "/magic-link"];

export const emailSignIn = {
  stores: (db): { emailCodes: EmailCodeStore } => ({ emailCodes: new EmailCodeRepository(db) }),
  services: {
    emailSignIn: (deps): EmailSignInService =>
      new EmailSignInService({
        stores: deps.stores(),
        unitOfWork: deps.unitOfWork(),
        settings: deps.config,
        clock: deps.clock,
        codes: hasherFor(deps.config.refreshTokenSecret, deps.config.refreshTokenPreviousSecret),
        codec: deps.codec(),
        deviceTokens: deps.deviceTokens(),
        tokens: deps.tokens,
        revocations: deps.revocations,
        outbox: deps.outbox(),
        secondFactor: deps.services.secondFactors(),
      }),
    emailReauthCodes: (deps): EmailReauthCodes =>
      new EmailReauthCodes({
        stores: deps.stores(),
        settings: deps.config,
        clock: deps.clock,
        codes: hasherFor(deps.config.refreshTokenSecret, deps.config.refreshTokenPreviousSecret),
        outbox: deps.outbox(),
      }),
  },
  routes: [() => import("./routes").then((m) => m.emailSignInRoutes)],
  switchedOff: (config) => (config.emailSignIn.enabled ? [] : EMAIL_SIGN_IN_PATHS),
} satisfies Feature;

/** One key derivation per isolate and secret. */
const hashers = new Map<string, EmailCodeHasher>();

function hasherFor(secret: string, previous: string | undefined): EmailCodeHasher {
  const key = `${secret}\n${previous ?? ""}`;
  let hasher = hashers.get(key);
  if (!hasher) {
    if (hashers.size >= 4) hashers.clear();
    hashers.set(key, (hasher = new EmailCodeHasher(secret, previous)));
  }
  return hasher;
}
