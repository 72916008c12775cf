// Federated sign-in as the composition root wires it: the federation store,
// the providers' HTTP client (one per isolate: its discovery documents and
// keys are cached in it), the sign-in service, the identities service, and
// the /auth/oauth, /auth/exchange, /auth/providers and /me/identities routes.
import type { Feature, FeatureDeps } from "../../features";
import { SecretBox } from "../mfa/secret-box";
import { FederationRepository } from "./postgres";
import { HttpIdentityProviders } from "./provider-client";
import { FederationService } from "./service";
import { IdentityService } from "./identities";
import type { FederationStore } from "./store";
import { emailSignInOn } from "./email-sign-in";

const providers = new HttpIdentityProviders();

/** Apple's refresh token sealed like TOTP secrets (bound to the user), and opened; none without a key. */
function sealer(key: Uint8Array | undefined) {
  let box: SecretBox | undefined;
  return {
    async seal(refreshToken: string | null, userId: string): Promise<string | null> {
      if (!refreshToken || !key) return null;
      box ??= new SecretBox(key);
      return box.seal(new TextEncoder().encode(refreshToken), userId);
    },
    async unseal(sealed: string, userId: string): Promise<string> {
      if (!key) throw new Error("MFA_ENCRYPTION_KEY is not set: sealed grants cannot be opened");
      box ??= new SecretBox(key);
      return new TextDecoder().decode(await box.open(sealed, userId));
    },
  };
}

function federationService(deps: FeatureDeps): FederationService {
  return new FederationService({
    stores: deps.stores(),
    unitOfWork: deps.unitOfWork(),
    sessions: deps.stores().sessions,
    settings: deps.config,
    clock: deps.clock,
    codec: deps.codec(),
    deviceTokens: deps.deviceTokens(),
    tokens: deps.tokens,
    revocations: deps.revocations,
    outbox: deps.outbox(),
    providers,
    ...sealer(deps.config.mfa.encryptionKey),
    secondFactor: deps.services.secondFactors(),
  });
}

export const federation = {
  stores: (db): { federation: FederationStore } => ({ federation: new FederationRepository(db) }),
  services: {
    federation: federationService,
    identities: (deps): IdentityService =>
      new IdentityService({
        stores: deps.stores(),
        clock: deps.clock,
        outbox: deps.outbox(),
        federation: deps.services.federation(),
        emailSignIn: emailSignInOn(deps.config),
      }),
  },
  routes: [
    () => import("./routes").then((m) => m.federationRoutes),
    () => import("./identities-routes").then((m) => m.identityRoutes),
  ],
} satisfies Feature;
