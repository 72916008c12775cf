// Access tokens are built once per isolate by the composition root (they
// hold no request I/O); the feature adds /auth/verify and the JWKS.
import type { Feature } from "../../features";

export const tokens = { routes: [() => import("./routes").then((m) => m.tokenRoutes)] } satisfies Feature;
