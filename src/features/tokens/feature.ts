// Access tokens are built once per isolate by the composition root (they
// hold no request I/O); the feature adds /auth/verify and the JWKS.
import type { Feature } from "../../features";
import { tokenRoutes } from "./routes";

export const tokens = { routes: [tokenRoutes] } satisfies Feature;
