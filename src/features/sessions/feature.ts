// Sessions as the composition root wires them: the session and refresh-token
// stores, rotation and the session service, the /sessions routes.
import type { Feature } from "../../features";
import { SessionRepository } from "./postgres";
import { RefreshTokenRepository } from "./refresh-tokens.postgres";
import { RefreshTokenRotation } from "./rotation";
import { SessionService } from "./service";
import type { RefreshTokenStore, SessionStore } from "./store";

export const sessions = {
  stores: (db): { sessions: SessionStore; refreshTokens: RefreshTokenStore } => ({
    sessions: new SessionRepository(db),
    refreshTokens: new RefreshTokenRepository(db),
  }),
  services: {
    rotation: (deps): RefreshTokenRotation =>
      new RefreshTokenRotation({
        refreshTokens: deps.stores().refreshTokens,
        users: deps.stores().users,
        codec: deps.codec(),
        settings: deps.config,
        clock: deps.clock,
        tokens: deps.tokens,
        revocations: deps.revocations,
        // The edge limit per session on refresh.
        refreshLimit: deps.rateLimit("AUTH_REFRESH_RATE_LIMITER", "refresh"),
      }),
    sessions: (deps): SessionService =>
      new SessionService({
        sessions: deps.stores().sessions,
        codec: deps.codec(),
        clock: deps.clock,
        revocations: deps.revocations,
        tokens: deps.tokens,
      }),
  },
  routes: [() => import("./routes").then((m) => m.sessionsRoutes)],
} satisfies Feature;
