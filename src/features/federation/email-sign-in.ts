// Whether email sign-in is on (EMAIL_SIGN_IN, default true), read in one
// place: the configuration's `emailSignIn` where it exists, else on. It is
// one more way into an account, so GET /auth/providers reports it and
// unlinking an account's last identity is allowed while it is on.
import type { Config } from "../../config";

export function emailSignInOn(config: Config): boolean {
  const value = (config as Config & { emailSignIn?: unknown }).emailSignIn;
  return typeof value === "boolean" ? value : true;
}
