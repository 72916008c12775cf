// Second factors as the composition root wires them: the factor store, the
// service (with the TOTP secrets' key imported once per isolate), /mfa.
import type { Feature } from "../../features";
import { SecondFactorRepository } from "./postgres";
import { SecretBox } from "./secret-box";
import { SecondFactorService } from "./service";
import type { SecondFactorStore } from "./store";

export const mfa = {
  stores: (db): { secondFactors: SecondFactorStore } => ({ secondFactors: new SecondFactorRepository(db) }),
  services: {
    secondFactors: (deps): SecondFactorService =>
      new SecondFactorService({
        stores: deps.stores(),
        sessions: deps.stores().sessions,
        settings: { ...deps.config, issuerName: deps.config.mfa.webauthn.rpName },
        clock: deps.clock,
        hasher: deps.hasher(),
        secretBox: secretBoxFor(deps.config.mfa.encryptionKey),
        tokens: deps.tokens,
        codec: deps.codec(),
        deviceTokens: deps.deviceTokens(),
        revocations: deps.revocations,
        // Built on first use: most re-authentications never need it.
        emailCodes: { prove: (user, code, caller) => deps.services.emailReauthCodes().prove(user, code, caller) },
      }),
  },
  routes: [() => import("./routes").then((m) => m.mfaRoutes)],
} satisfies Feature;

/** One AES-GCM key import per isolate and key. */
const secretBoxes = new WeakMap<Uint8Array, SecretBox>();

function secretBoxFor(key: Uint8Array | undefined): SecretBox | undefined {
  if (!key) return undefined;
  let box = secretBoxes.get(key);
  if (!box) secretBoxes.set(key, (box = new SecretBox(key)));
  return box;
}
