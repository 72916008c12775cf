// The sign-in attempt's stores as the composition root wires them: the
// throttle buckets and the pending sign-ins. Its rules run inside the
// services of the credentials that plug into it.
import type { Feature } from "../../features";
import { ChallengeRepository } from "./challenges.postgres";
import { LoginThrottleRepository } from "./postgres";
import type { ChallengeStore, LoginThrottleStore } from "./store";

export const signIn = {
  stores: (db): { throttles: LoginThrottleStore; challenges: ChallengeStore } => ({
    throttles: new LoginThrottleRepository(db),
    challenges: new ChallengeRepository(db),
  }),
} satisfies Feature;
