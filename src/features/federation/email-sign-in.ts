// Whether email sign-in is on (EMAIL_SIGN_IN, default true), read in one
// place: it is one more way into an account, so GET /auth/providers reports
// it and unlinking an account's last identity is allowed while it is on.
import type { Config } from "../../config";

export function emailSignInOn(config: Pick<Config, "emailSignIn">): boolean {
  return config.emailSignIn.enabled;
}
