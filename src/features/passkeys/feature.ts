// Passkeys as the composition root wires them: the passkey store, the
// service, the /passkeys routes.
import type { Feature } from "../../features";
import { PasskeyRepository } from "./postgres";
import { PasskeyService } from "./service";
import type { PasskeyStore } from "./store";

export const passkeys = {
  stores: (db): { passkeys: PasskeyStore } => ({ passkeys: new PasskeyRepository(db) }),
  services: {
    passkeys: (deps): PasskeyService =>
      new PasskeyService({
        stores: deps.stores(),
        sessions: deps.stores().sessions,
        settings: { ...deps.config, webauthn: deps.config.mfa.webauthn },
        clock: deps.clock,
        codec: deps.codec(),
        deviceTokens: deps.deviceTokens(),
        tokens: deps.tokens,
        revocations: deps.revocations,
      }),
  },
  routes: [() => import("./routes").then((m) => m.passkeyRoutes)],
} satisfies Feature;
